"""`mercato collections ...`: collections of products."""

from __future__ import annotations

from typing import Annotated

import typer

from mercato.cli_support import console, parse, table, unit_of_work

app = typer.Typer(help="Collections of products.", no_args_is_help=True)


def _rules(rules: list[str]) -> list[dict]:
    """ "type=Shoes", "vendor=Acme", "tag=summer" as collection rules."""
    fields = {"type": "product_type", "product_type": "product_type", "vendor": "vendor"}
    fields["tag"] = "tag"
    out = []
    for rule in rules:
        name, sep, value = rule.partition("=")
        if not sep or name.strip() not in fields:
            console.print(f"[red]--rule {rule!r}: write type=VALUE, vendor=VALUE or tag=VALUE[/]")
            raise typer.Exit(2)
        out.append({"field": fields[name.strip()], "value": value.strip()})
    return out


@app.command("list")
def list_():
    """Every collection, with how many products it holds."""
    from mercato.catalog import collections

    with unit_of_work() as session:
        found, cursor = [], None
        while True:
            page = collections.list_collections(session, cursor=cursor, limit=250)
            found += page.items
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        counted = collections.counts(session, [c.id for c in found])
        rows = [
            (
                c.handle,
                c.title,
                " and ".join(f"{r['field']} is {r['value']}" for r in c.rules) or "manual",
                str(counted.get(c.id, 0)),
            )
            for c in found
        ]
    shown = table("Handle", "Title", "Picks", "Products")
    for row in rows:
        shown.add_row(*row)
    console.print(shown)


@app.command("create")
def create(
    title: str,
    handle: Annotated[str | None, typer.Option(help="made from the title when omitted")] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option(help="type=VALUE, vendor=VALUE or tag=VALUE; repeat: all must hold"),
    ] = None,
    product: Annotated[
        list[str] | None, typer.Option(help="a product's handle, id or SKU; repeat")
    ] = None,
):
    """Create a collection: manual (--product ...) or picked by rules (--rule ...)."""
    from mercato.catalog import collections, service
    from mercato.catalog.schemas import CollectionCreate

    with unit_of_work() as session:
        ids = [service.find_product(session, p).id for p in product or []]
        data = parse(
            CollectionCreate, title=title, handle=handle, rules=_rules(rule or []), product_ids=ids
        )
        made = collections.create_collection(session, data)
        count = collections.counts(session, [made.id]).get(made.id, 0)
        console.print(f"Collection [bold]{made.handle}[/] created with {count} product(s).")


@app.command("show")
def show(collection: Annotated[str, typer.Argument(help="handle or id")]):
    """A collection's products, in its order."""
    from mercato.catalog import collections

    with unit_of_work() as session:
        found = collections.get_collection(session, collection)
        rows = [(p.handle, p.title, p.status) for p in collections.shown_products(session, found)]
        title = found.title
    console.print(f"[bold]{title}[/]")
    shown = table("Handle", "Title", "Status")
    for row in rows:
        shown.add_row(*row)
    console.print(shown)


@app.command("add")
def add(
    collection: Annotated[str, typer.Argument(help="handle or id")],
    products: Annotated[list[str], typer.Argument(help="products' handles, ids or SKUs")],
):
    """Add products last to a manual collection."""
    from mercato.catalog import collections, service
    from mercato.catalog.schemas import CollectionMembers

    with unit_of_work() as session:
        ids = [service.find_product(session, p).id for p in products]
        found = collections.add_products(
            session, collection, parse(CollectionMembers, product_ids=ids)
        )
        count = collections.counts(session, [found.id]).get(found.id, 0)
        console.print(f"{found.handle}: {count} product(s).")


@app.command("remove")
def remove(
    collection: Annotated[str, typer.Argument(help="handle or id")],
    product: Annotated[str, typer.Argument(help="the product's handle, id or SKU")],
):
    """Take a product out of a manual collection."""
    from mercato.catalog import collections, service

    with unit_of_work() as session:
        collections.remove_product(session, collection, service.find_product(session, product).id)
        console.print("Removed.")


@app.command("delete")
def delete(collection: Annotated[str, typer.Argument(help="handle or id")]):
    """Delete a collection (its products stay in the catalog)."""
    from mercato.catalog import collections

    with unit_of_work() as session:
        collections.delete_collection(session, collection)
        console.print("Deleted.")
