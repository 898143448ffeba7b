"""`mercato creators ...` and `mercato offers roi`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import typer

from mercato.catalog.service import store_currency
from mercato.cli_support import console, parse, short_transactions, table, unit_of_work
from mercato.creators import payouts, posts, roi, service, transfers
from mercato.creators.schemas import CreatorCreate, CreatorUpdate, PostCreate
from mercato.db import transaction
from mercato.money import format_plain, to_minor

app = typer.Typer(
    help="Creators and affiliates: links, codes, commissions, payouts.", no_args_is_help=True
)


@app.command("create")
def create(
    handle: str,
    name: str,
    percent_bps: Annotated[
        int, typer.Option("--bps", help="Commission in basis points of the sale (1000 = 10%)")
    ] = 1000,
):
    """A creator; prints their link and their private page (once)."""
    data = parse(
        CreatorCreate,
        handle=handle,
        name=name,
        commission={"kind": "percentage", "value": percent_bps},
    )
    with unit_of_work() as session:
        creator, token = service.create(session, data)
        link = service.link_of(creator)
    console.print(f"{creator.id}  link: {link}\nprivate page: {service.page_url(token)}")


def _rate(text: str) -> dict:
    """12.5% (a percentage, to basis points) or fixed:300 (minor units per unit sold)."""
    text = text.strip()
    try:
        if text.endswith("%"):
            return {"kind": "percentage", "value": int(Decimal(text[:-1]) * 100)}
        if text.startswith("fixed:"):
            return {"kind": "fixed", "value": int(text.removeprefix("fixed:"))}
    except (ArithmeticError, ValueError):
        pass
    raise typer.BadParameter(f"{text!r}: 12.5% or fixed:<minor units>")


def _pairs(given: list[str] | None, option: str) -> dict[str, str] | None:
    if given is None:
        return None
    out = {}
    for item in given:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r}: <what>=<rate>", param_hint=option)
        out[key] = value
    return out


@app.command("rates")
def rates(
    creator_id: str,
    default: Annotated[str | None, typer.Option(help="12.5% or fixed:300")] = None,
    product: Annotated[
        list[str] | None, typer.Option(help="PRODUCT_ID=RATE (repeat; replaces all)")
    ] = None,
    collection: Annotated[
        list[str] | None,
        typer.Option(help="COLLECTION (id or handle)=RATE (repeat; replaces all)"),
    ] = None,
    tier: Annotated[
        list[str] | None,
        typer.Option(
            help="ABOVE=RATE: the rate on the month's attributed revenue above ABOVE "
            "(store currency, e.g. 1000.00=15%); repeat; replaces all"
        ),
    ] = None,
    no_tiers: Annotated[bool, typer.Option(help="Remove the tiers")] = False,
    stripe_account: Annotated[
        str | None, typer.Option(help='Their connected Stripe account (acct_...); "" removes')
    ] = None,
):
    """Change a creator's rates and connected Stripe account (orders from now on)."""
    fields: dict = {}
    if default is not None:
        fields["commission"] = _rate(default)
    if (found := _pairs(product, "--product")) is not None:
        fields["product_commissions"] = {k: _rate(v) for k, v in found.items()}
    if (found := _pairs(collection, "--collection")) is not None:
        fields["collection_commissions"] = {k: _rate(v) for k, v in found.items()}
    if no_tiers:
        fields["tiers"] = []
    elif (found := _pairs(tier, "--tier")) is not None:
        tiers = []
        for above, rate in found.items():
            parsed = _rate(rate)
            if parsed["kind"] != "percentage":
                raise typer.BadParameter(f"{rate!r}: a tier is a percentage", param_hint="--tier")
            try:
                threshold = to_minor(above, store_currency())
            except (ArithmeticError, ValueError):
                raise typer.BadParameter(f"{above!r}: an amount", param_hint="--tier") from None
            tiers.append({"above": threshold, "value": parsed["value"]})
        fields["tiers"] = tiers
    if stripe_account is not None:
        fields["stripe_account"] = stripe_account
    data = parse(CreatorUpdate, **fields)
    with unit_of_work() as session:
        c = service.update(session, creator_id, data)
        shown = _describe(c)
    console.print(shown)


def _describe(c) -> str:
    currency = store_currency()
    default = (
        f"{c.commission_value / 100:g}%"
        if c.commission_kind == "percentage"
        else f"{format_plain(c.commission_value, currency)} per unit"
    )
    lines = [f"{c.id} @{c.handle}: {default}"]
    for t in c.tiers or []:
        lines.append(f"  above {format_plain(t['above'], currency)}: {t['value'] / 100:g}%")
    for what, rates in (
        ("product", c.product_commissions),
        ("collection", c.collection_commissions),
    ):
        for key, r in (rates or {}).items():
            shown = f"{r['value'] / 100:g}%" if r["kind"] == "percentage" else f"fixed {r['value']}"
            lines.append(f"  {what} {key}: {shown}")
    lines.append(f"  Stripe account: {c.stripe_account or '-'}")
    return "\n".join(lines)


@app.command("list")
def list_creators():
    with unit_of_work() as session:
        rows = table("creator", "handle", "name", "orders", "earnings")
        for c in service.list_creators(session):
            f = service.figures(session, c)
            rows.add_row(
                c.id,
                c.handle,
                c.name,
                str(f.orders),
                f"{format_plain(f.earnings, f.currency)} {f.currency}",
            )
    console.print(rows)


@app.command("payout")
def payout(
    creator_id: str,
    start: Annotated[datetime, typer.Option(help="Start of the period (store's zone)")],
    end: Annotated[datetime, typer.Option(help="End of the period, excluded")],
    csv: Annotated[bool, typer.Option(help="Print the statement as CSV")] = False,
):
    """Pay every unpaid commission line of the period; prints the statement. To a
    creator with a connected Stripe account, the payout is sent as a Stripe transfer."""
    with short_transactions() as sessions:
        with transaction(sessions) as session:
            made = payouts.pay(session, creator_id, start, end)
            text = payouts.statement_csv(session, made.id)
            planned = made.transfer is not None
        sent = transfers.send(sessions, made.id) if planned else None
    if csv:
        typer.echo(text, nl=False)
    else:
        paid = f"{format_plain(made.amount, made.currency)} {made.currency}"
        console.print(f"{made.id}: {made.entries} lines, {paid}")
    if sent is not None:
        _print_transfer(sent)


def _print_transfer(sent) -> None:
    if sent.status == "paid":
        console.print(f"Stripe transfer {sent.transfer_ref} to {sent.destination}")
    elif sent.status == "refused":
        console.print(f"[red]Stripe refused the transfer:[/] {sent.error}")
    else:
        console.print(f"[yellow]Stripe did not answer[/] ({sent.error}); run again to retry")


@app.command("transfer")
def transfer(payout_id: str):
    """Send a payout's Stripe transfer again (pending: the same idempotency key;
    refused: the next one, to the creator's account as it is now)."""
    with short_transactions() as sessions:
        sent = transfers.send(sessions, payout_id)
    _print_transfer(sent)
    if sent.status != "paid":
        raise typer.Exit(1)


@app.command("post")
def post(
    reference: Annotated[
        str, typer.Argument(help="The post's id as the ledger's touches carry it")
    ],
    product: Annotated[list[str], typer.Option(help="A product it shows (repeat)")],
    creator: Annotated[str | None, typer.Option(help="The creator's id (none: the shop's)")] = None,
    url: str | None = None,
    title: str | None = None,
    channel: str | None = None,
):
    """Tag a post with the products it shows."""
    data = parse(
        PostCreate,
        reference=reference,
        creator_id=creator,
        url=url,
        title=title,
        channel=channel,
        product_ids=product,
    )
    with unit_of_work() as session:
        made = posts.public(session, [posts.create(session, data)])[0]
    names = ", ".join(p["title"] for p in made["products"])
    console.print(f"{made['id']} {made['reference']}: {names}")


def roi_command(
    by: Annotated[str, typer.Option(help="offer, code, creator or post")] = "offer",
    currency: str | None = None,
):
    """Return per offer, code, creator or post, with the formulas."""
    if by not in ("offer", "code", "creator", "post"):
        raise typer.BadParameter("offer, code, creator or post", param_hint="--by")
    with unit_of_work() as session:
        found = roi.roi(session, by, currency)  # type: ignore[arg-type]
    cur = found["currency"]
    rows = table(
        by, "name", "redemptions", "orders", "revenue", "discount", "commission", "net", "roi"
    )
    for r in found["rows"]:
        rows.add_row(
            r["key"],
            r["name"],
            str(r["redemptions"]),
            str(r["orders"]),
            *(format_plain(r[k], cur) for k in ("revenue", "discount_cost", "commission", "net")),
            "-" if r["roi"] is None else f"{r['roi']:.2f}",
        )
    console.print(rows)
    for name, formula in found["formulas"].items():
        console.print(f"[dim]{name}: {formula}[/dim]")
