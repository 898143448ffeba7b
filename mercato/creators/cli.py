"""`mercato creators ...` and `mercato offers roi`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from mercato.cli_support import console, parse, table, unit_of_work
from mercato.creators import payouts, roi, service
from mercato.creators.schemas import CreatorCreate
from mercato.money import format_plain

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
    """Pay every unpaid commission line of the period; prints the statement."""
    with unit_of_work() as session:
        made = payouts.pay(session, creator_id, start, end)
        text = payouts.statement_csv(session, made.id)
    if csv:
        typer.echo(text, nl=False)
    else:
        paid = f"{format_plain(made.amount, made.currency)} {made.currency}"
        console.print(f"{made.id}: {made.entries} lines, {paid}")


def roi_command(
    by: Annotated[str, typer.Option(help="offer, code or creator")] = "offer",
    currency: str | None = None,
):
    """Return per offer, code or creator, with the formulas."""
    if by not in ("offer", "code", "creator"):
        raise typer.BadParameter("offer, code or creator", param_hint="--by")
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
