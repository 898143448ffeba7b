"""`mercato offers ...`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mercato.cli_support import console, parse, table, unit_of_work
from mercato.money import format_plain
from mercato.offers import combining, pages, service
from mercato.offers.schemas import CodesCreate, OfferCreate

app = typer.Typer(help="Offers and their codes.", no_args_is_help=True)


@app.command("create")
def create(
    name: str,
    kind: Annotated[
        str, typer.Option(help="percentage, fixed, free_shipping, buy_x_get_y, tiered, bundle")
    ],
    value: Annotated[
        int, typer.Option(help="Percent, or minor units for fixed and a bundle's price")
    ] = 0,
    currency: str | None = None,
    code: Annotated[str | None, typer.Option(help="A public code")] = None,
    max_uses: Annotated[int | None, typer.Option(help="Cap on all uses")] = None,
    per_customer: int | None = None,
    item: Annotated[
        list[str] | None,
        typer.Option(
            "--item",
            help="A bundle's item: variant:<id>[:quantity] or product:<id>[:quantity] "
            "(repeat); --value is then the bundle's price",
        ),
    ] = None,
    collection: Annotated[
        list[str] | None,
        typer.Option("--collection", help="Only products of this collection (id or handle)"),
    ] = None,
    market: Annotated[
        list[str] | None, typer.Option("--market", help="Only on checkouts in this market")
    ] = None,
    combines_with: Annotated[
        list[str] | None,
        typer.Option(
            "--combines-with",
            help="A class of discount it may be used with: product, order, shipping (repeat; "
            "default: none)",
        ),
    ] = None,
):
    """An offer, with a public code if given."""
    data = parse(
        OfferCreate,
        name=name,
        kind=kind,
        value=value,
        currency=currency,
        code=code,
        max_uses=max_uses,
        per_customer=per_customer,
        bundle=[_item(text) for text in item or ()],
        collection_ids=list(collection or ()),
        markets=list(market or ()),
        **_combines(combines_with or ()),
    )
    with unit_of_work() as session:
        offer = service.create_offer(session, data)
        console.print(
            f"{offer.id} {offer.kind} {offer.name}" + (f" code {code.upper()}" if code else "")
        )


def _combines(classes) -> dict[str, bool]:
    wrong = [c for c in classes if c not in combining.CLASSES]
    if wrong:
        raise typer.BadParameter(f"{wrong[0]!r}: one of {', '.join(combining.CLASSES)}")
    return {f"combines_with_{c}": c in classes for c in combining.CLASSES}


def _item(text: str) -> dict:
    """variant:<id>[:quantity] or product:<id>[:quantity], as the API's bundle item."""
    kind, _, rest = text.partition(":")
    ref, _, quantity = rest.partition(":")
    if kind not in ("variant", "product") or not ref:
        raise typer.BadParameter(f"{text!r}: variant:<id>[:quantity] or product:<id>[:quantity]")
    if quantity and not quantity.isdigit():
        raise typer.BadParameter(f"{text!r}: the quantity is a whole number")
    return {f"{kind}_id": ref, "quantity": int(quantity or 1)}


@app.command("page")
def page(code: str):
    """The address of a code's printable page (hand it out with the code)."""
    with unit_of_work() as session:
        found = service.code(session, code)
    typer.echo(pages.page_url(found.code))


@app.command("list")
def list_offers():
    with unit_of_work() as session:
        rows = table(
            "offer", "name", "kind", "class", "combines with", "value", "used", "cap", "active"
        )
        for o in service.list_offers(session):
            value = (
                f"{format_plain(o.value, o.currency)} {o.currency}"
                if o.kind in ("fixed", "bundle")
                else str(o.value)
            )
            rows.add_row(
                o.id,
                o.name,
                o.kind,
                o.discount_class,
                ", ".join(c for c in combining.CLASSES if combining.combines_with(o, c)) or "-",
                value,
                str(o.used),
                str(o.max_uses or "-"),
                "yes" if o.active else "no",
            )
    console.print(rows)


@app.command("codes")
def codes(
    offer_id: str,
    count: Annotated[int, typer.Option(help="How many single-use codes")],
    prefix: str = "",
    out: Annotated[Path | None, typer.Option(help="Write them as CSV here")] = None,
):
    """Single-use codes in bulk (up to 100,000), exported as CSV."""
    data = parse(CodesCreate, count=count, prefix=prefix)
    with unit_of_work() as session:
        batch, made = service.generate_codes(session, offer_id, data)
    with unit_of_work() as session:
        text = "".join(service.export_codes(session, offer_id, batch))
    if out:
        out.write_text(text)
        console.print(f"{made} codes (batch {batch}) written to {out}")
    else:
        typer.echo(text, nl=False)
