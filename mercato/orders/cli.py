"""`mercato orders ...`"""

from __future__ import annotations

from typing import Annotated

import typer

from mercato.cli_support import console, table, unit_of_work
from mercato.money import format_plain

app = typer.Typer(help="Orders from every channel.", no_args_is_help=True)


@app.command("list")
def list_orders(
    status: Annotated[str | None, typer.Option(help="pending, open, on_hold, completed, "
                                                    "cancelled")] = None,
    channel: Annotated[str | None, typer.Option(help="Channel id or 'storefront'")] = None,
    limit: int = 50,
):
    """The latest orders."""
    from mercato.orders import service

    with unit_of_work() as session:
        page = service.list_orders(session, service.OrderFilters(status=status,
                                                                 channel=channel), limit=limit)
        rows = table("order", "placed", "channel", "customer", "status", "payment",
                     "fulfilment", "total")
        for o in page.items:
            rows.add_row(o.name, f"{o.placed_at:%Y-%m-%d %H:%M}", o.channel,
                         o.customer_email or o.customer_name or "-", o.status,
                         o.payment_status, o.fulfillment_status,
                         f"{format_plain(o.total, o.currency)} {o.currency}")
    console.print(rows)


@app.command("show")
def show(order: Annotated[str, typer.Argument(help="Order number (1001 or #1001) or id")]):
    """One order with its lines and timeline."""
    from mercato.orders import service

    with unit_of_work() as session:
        o = service.find_order(session, order)
        money = lambda minor: f"{format_plain(minor, o.currency)} {o.currency}"  # noqa: E731
        console.print(f"[bold]Order {o.name}[/]  {o.id}  ({o.channel}"
                      + (f", external {o.external_id}" if o.external_id else "") + ")")
        console.print(f"Status {o.status}, payment {o.payment_status}, fulfilment "
                      f"{o.fulfillment_status}" + (f" — [red]{o.attention_reason}[/]"
                                                   if o.attention_reason else ""))
        console.print(f"Customer: {o.customer_name or '-'} {o.customer_email or ''} "
                      f"{o.customer_phone or ''}")
        lines = table("sku", "title", "qty", "unit", "total", "shipped", "refunded")
        for line in o.lines:
            lines.add_row(line.sku or "-", line.title + (f" ({line.variant_title})"
                                                         if line.variant_title else ""),
                          str(line.quantity), money(line.unit_price), money(line.total),
                          str(line.fulfilled_quantity), str(line.refunded_quantity))
        console.print(lines)
        console.print(f"Subtotal {money(o.subtotal)}  discount {money(o.discount_total)}  "
                      f"shipping {money(o.shipping_total)}  tax {money(o.tax_total)}"
                      f"{' (included)' if o.taxes_included else ''}  [bold]total "
                      f"{money(o.total)}[/]")
        timeline = table("when", "who", "what")
        for a in o.timeline:
            timeline.add_row(f"{a.at:%Y-%m-%d %H:%M:%S}", a.actor, a.message)
        console.print(timeline)
