"""`mercato markets ...`: markets, their price lists and exchange rates."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import httpx
import typer

from mercato.cli_support import console, err, parse, short_transactions, table, unit_of_work
from mercato.config import get_settings
from mercato.outbound import UnsafeUrl

app = typer.Typer(help="Markets: countries, currency, languages, taxes.", no_args_is_help=True)


@app.command("list")
def list_():
    """Every market."""
    from mercato.markets import service

    with unit_of_work() as session:
        rows = [
            (
                m.code,
                m.name,
                " ".join(m.countries),
                m.currency,
                " ".join(m.languages),
                m.tax_mode,
                m.duties.upper(),
                m.price_ending or "",
                ", ".join(m.payment_methods or ()),
                "yes" if m.active else "no",
            )
            for m in service.list_markets(session)
        ]
    shown = table(
        "Code",
        "Name",
        "Countries",
        "Currency",
        "Languages",
        "Tax",
        "Duties",
        "Ending",
        "Payment methods",
        "Active",
    )
    for row in rows:
        shown.add_row(*row)
    console.print(shown)


@app.command("create")
def create(
    code: Annotated[str, typer.Argument(help="short name used in links: ?market=<code>")],
    name: Annotated[str, typer.Option(help="shown to the merchant")],
    countries: Annotated[str, typer.Option(help="ISO country codes, comma-separated: NL,BE")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code: EUR")],
    languages: Annotated[str, typer.Option(help="comma-separated, the first the default: nl,en")],
    tax_mode: Annotated[str, typer.Option(help="inclusive (EU, UK) or exclusive (US)")],
    duties: Annotated[str, typer.Option(help="ddp (charged at checkout) or dap")] = "dap",
    price_ending: Annotated[
        str | None, typer.Option(help='converted prices end in: "0.99"')
    ] = None,
    payment_methods: Annotated[
        str,
        typer.Option(help="Stripe payment method types offered, comma-separated: card,ideal"),
    ] = "card",
):
    """Create a market."""
    from mercato.markets import service
    from mercato.markets.schemas import MarketCreate

    data = parse(
        MarketCreate,
        code=code,
        name=name,
        countries=[c for c in countries.split(",") if c.strip()],
        currency=currency,
        languages=[x for x in languages.split(",") if x.strip()],
        tax_mode=tax_mode,
        duties=duties,
        price_ending=price_ending,
        payment_methods=[m.strip() for m in payment_methods.split(",") if m.strip()],
    )
    with unit_of_work() as session:
        market = service.create_market(session, data)
        console.print(f"Market [bold]{market.code}[/] created: {', '.join(market.countries)}.")


@app.command("delete")
def delete(code: str):
    """Delete a market (its price list goes with it)."""
    from mercato.markets import service

    with unit_of_work() as session:
        service.delete_market(session, code)
    console.print(f"Market {code} deleted.")


@app.command("prices")
def prices(
    code: str,
    file: Annotated[
        Path | None, typer.Option("--file", help="CSV with columns sku,price to set")
    ] = None,
):
    """Show a market's price list, or set prices from a CSV (sku,price)."""
    from mercato.markets import service
    from mercato.markets.schemas import PriceSet
    from mercato.money import format_plain

    with unit_of_work() as session:
        if file is not None:
            with file.open(newline="", encoding="utf-8-sig") as handle:
                items = [PriceSet(sku=r["sku"], price=r["price"]) for r in csv.DictReader(handle)]
            count = service.set_prices(session, code, items)
            console.print(f"{count} prices set in market {code}.")
        market = service.get_market(session, code)
        rows = [
            (sku or "", vid, format_plain(amount, market.currency))
            for sku, vid, amount in service.listed_prices(session, code)
        ]
    shown = table("SKU", "Variant", f"Price ({market.currency})")
    for row in rows:
        shown.add_row(*row)
    console.print(shown)


@app.command("fx-fetch")
def fx_fetch(
    url: Annotated[
        str | None,
        typer.Argument(help="The provider's file (default: MERCATO_FX_URL), e.g. the ECB's"),
    ] = None,
):
    """Read exchange rates from a provider now, as the worker does every 6 hours."""
    from mercato.markets import fx

    url = url or get_settings().fx_url
    if not url:
        err.print("[bold red]Error:[/] no URL: pass one or set MERCATO_FX_URL")
        raise typer.Exit(1)
    with short_transactions() as sessions:  # a refused file prints its mistakes, exits 1
        try:
            imported = fx.refresh(sessions, url)
        except (httpx.HTTPError, UnsafeUrl) as exc:
            err.print(f"[bold red]Error:[/] {url}: {exc}")
            raise typer.Exit(1) from None
    _show_rates(imported)


@app.command("fx-import")
def fx_import(
    file: Annotated[Path, typer.Argument(help="CSV (currency,rate,date[,base]) or JSON")],
):
    """Import exchange rates: checkouts convert with them and record each rate's date."""
    from mercato.markets import fx

    with unit_of_work() as session:  # prints the file's mistakes and exits 1
        imported = fx.import_rates(session, file.read_text(encoding="utf-8"), source=file.name)
    _show_rates(imported)


def _show_rates(imported) -> None:
    shown = table("Currency", "Rate", "Date")
    for c, r in sorted(imported.items()):
        shown.add_row(c, str(r.rate), r.as_of.isoformat())
    console.print(shown)
