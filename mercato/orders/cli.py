"""`mercato orders ...`"""

from __future__ import annotations

from typing import Annotated

import typer

from mercato.channels.orders import why_no_orders
from mercato.cli_support import console, short_transactions, table, unit_of_work
from mercato.errors import FieldError, ValidationFailed
from mercato.money import format_plain
from mercato.orders import fulfillment, lifecycle, queries, refunds, returns, screening
from mercato.orders.schemas import FulfillmentCreate, RefundCreate, RefundLine, ReturnCreate

app = typer.Typer(help="Orders from every channel.", no_args_is_help=True)


@app.command("list")
def list_orders(
    status: Annotated[
        str | None, typer.Option(help="pending, open, on_hold, completed, cancelled")
    ] = None,
    channel: Annotated[
        str | None, typer.Option(help="Channel name, kind (e.g. tiktok), id or 'storefront'")
    ] = None,
    limit: int = 50,
):
    """The latest orders."""

    with unit_of_work() as session:
        note = why_no_orders(session, channel)
        page = queries.list_orders(
            session, queries.OrderFilters(status=status, channel=channel), limit=limit
        )
        rows = table(
            "order", "placed", "channel", "customer", "status", "payment", "fulfilment", "total"
        )
        names = queries.channel_names(session, (o.channel for o in page.items))
        for o in page.items:
            rows.add_row(
                o.name,
                f"{o.placed_at:%Y-%m-%d %H:%M}",
                names[o.channel],
                o.customer_email or o.customer_name or "-",
                o.status,
                o.payment_status,
                o.fulfillment_status,
                f"{format_plain(o.total, o.currency)} {o.currency}",
            )
    console.print(note or rows)


@app.command("show")
def show(order: Annotated[str, typer.Argument(help="Order number (1001 or #1001) or id")]):
    """One order with its lines and timeline."""

    with unit_of_work() as session:
        o = queries.find_order(session, order)
        money = lambda minor: f"{format_plain(minor, o.currency)} {o.currency}"  # noqa: E731
        channel = queries.channel_names(session, [o.channel])[o.channel]
        console.print(
            f"[bold]Order {o.name}[/]  {o.id}  ({channel}"
            + (f", external {o.external_id}" if o.external_id else "")
            + ")"
        )
        console.print(
            f"Status {o.status}, payment {o.payment_status}, fulfilment "
            f"{o.fulfillment_status}"
            + (f" — [red]{o.attention_reason}[/]" if o.attention_reason else "")
        )
        console.print(
            f"Customer: {o.customer_name or '-'} {o.customer_email or ''} {o.customer_phone or ''}"
        )
        lines = table("sku", "title", "qty", "unit", "total", "shipped", "refunded")
        for line in o.lines:
            lines.add_row(
                line.sku or "-",
                line.title + (f" ({line.variant_title})" if line.variant_title else ""),
                str(line.quantity),
                money(line.unit_price),
                money(line.total),
                str(line.fulfilled_quantity),
                str(line.refunded_quantity),
            )
        console.print(lines)
        console.print(
            f"Subtotal {money(o.subtotal)}  discount {money(o.discount_total)}  "
            f"shipping {money(o.shipping_total)}  tax {money(o.tax_total)}"
            f"{' (included)' if o.taxes_included else ''}  [bold]total "
            f"{money(o.total)}[/]"
        )
        order_returns = queries.returns_of(session, o.id)
        if order_returns:
            by_line = {line.id: line.sku or line.title for line in o.lines}
            listed = table("return", "status", "items", "restock", "reason")
            for r in order_returns:
                listed.add_row(
                    r.id,
                    r.status,
                    ", ".join(
                        f"{by_line.get(i['line_id'], i['line_id'])} x{i['quantity']}"
                        for i in r.lines
                    ),
                    "yes" if r.restock else "no",
                    r.reason or "-",
                )
            console.print(listed)
        timeline = table("when", "who", "what")
        for a in o.timeline:
            timeline.add_row(f"{a.at:%Y-%m-%d %H:%M:%S}", a.actor, a.message)
        console.print(timeline)


OrderRef = Annotated[str, typer.Argument(help="Order number (1001 or #1001) or id")]
Items = Annotated[
    list[str] | None, typer.Option("--item", help="SKU:QTY (repeat); all that applies when omitted")
]


def _lines(order, items: list[str] | None, required: bool = False):
    """``SKU:QTY`` options as the order's lines and quantities."""

    if not items:
        if required:
            raise ValidationFailed(
                "Name the items with --item SKU:QTY.",
                [FieldError(("item",), "at least one is required")],
            )
        return None
    by_sku = {line.sku: line for line in order.lines if line.sku}
    lines, errors = [], []
    for index, item in enumerate(items):
        sku, _, quantity = item.rpartition(":")
        if sku not in by_sku or not quantity.isdigit() or int(quantity) < 1:
            errors.append(
                FieldError(
                    ("item", index),
                    f"{item!r}: give SKU:QTY with a SKU of "
                    f"order {order.name} and a quantity of at least 1",
                )
            )
            continue
        lines.append(RefundLine(line_id=by_sku[sku].id, quantity=int(quantity)))
    if errors:
        raise ValidationFailed("Some items are not on the order.", errors)
    return lines


@app.command("fulfil")
def fulfil(
    order: OrderRef,
    item: Items = None,
    carrier: Annotated[str | None, typer.Option()] = None,
    tracking: Annotated[str | None, typer.Option(help="Tracking number")] = None,
):
    """Ship items (all unshipped ones by default); the platform is told."""

    with unit_of_work() as session:
        o = queries.find_order(session, order)
        made = fulfillment.fulfil(
            session,
            o.id,
            FulfillmentCreate(lines=_lines(o, item), carrier=carrier, tracking_number=tracking),
            actor="cli",
        )
        console.print(f"Fulfilment {made.id} on {o.name}: now {o.fulfillment_status}.")


@app.command("cancel")
def cancel(
    order: OrderRef,
    reason: Annotated[str | None, typer.Option()] = None,
    restock: Annotated[bool, typer.Option("--restock/--no-restock")] = True,
):
    """Cancel an unshipped order (its units go back on hand unless --no-restock)."""

    with unit_of_work() as session:
        o = lifecycle.cancel(
            session, queries.find_order(session, order).id, reason, restock, actor="cli"
        )
        console.print(f"Order {o.name} is {o.status}.")


@app.command("refund")
def refund(
    order: OrderRef,
    item: Items = None,
    amount: Annotated[int | None, typer.Option(help="Minor units, instead of items")] = None,
    reason: Annotated[str | None, typer.Option()] = None,
):
    """Refund items, an amount, or everything that remains; the platform is told."""

    with short_transactions() as sessions:
        with sessions() as session:
            o = queries.find_order(session, order)
            data = RefundCreate(lines=_lines(o, item), amount=amount, reason=reason)
        made = refunds.refund(sessions, o.id, data, actor="cli")
    shown = f"{format_plain(made.amount, made.currency)} {made.currency}"
    if made.status == "pending":
        console.print(f"Refund of {shown} on {o.name} is waiting for the payment provider.")
    else:
        console.print(f"Refunded {shown} on {o.name}.")


@app.command("return")
def request_return(
    order: OrderRef,
    item: Items = None,
    reason: Annotated[str | None, typer.Option()] = None,
    restock: Annotated[bool, typer.Option("--restock/--no-restock")] = True,
):
    """Record that the buyer is sending items back (requested -> received -> refunded)."""

    with unit_of_work() as session:
        o = queries.find_order(session, order)
        made = returns.request_return(
            session,
            o.id,
            ReturnCreate(lines=_lines(o, item, required=True), reason=reason, restock=restock),
            actor="cli",
        )
        console.print(f"Return {made.id} on {o.name} requested.")


@app.command("receive-return")
def receive_return(order: OrderRef, return_id: str):
    """The returned items arrived: restock them (when the return says so)."""
    _return_step(order, return_id, "receive_return", "received")


@app.command("refund-return")
def refund_return(order: OrderRef, return_id: str):
    """Refund what came back; the platform is told."""

    with short_transactions() as sessions:
        with sessions() as session:
            o = queries.find_order(session, order)
        made = returns.refund_return(sessions, o.id, return_id, actor="cli")
    console.print(f"Return {made.id} on {o.name} {made.status}.")


def _return_step(order: str, return_id: str, step: str, done: str) -> None:

    with unit_of_work() as session:
        o = queries.find_order(session, order)
        made = getattr(returns, step)(session, o.id, return_id, actor="cli")
        console.print(f"Return {made.id} on {o.name} {done}.")


@app.command("approve-review")
def approve_review(
    assessment_id: Annotated[str, typer.Argument(help="from `mercato fraud reviews`")],
    note: Annotated[str | None, typer.Option(help="why, kept in the log")] = None,
):
    """Approve an order held by fraud screening: it is released to be fulfilled."""
    with unit_of_work() as session:
        a = screening.approve(session, assessment_id, "cli", note)
        console.print(f"Order #{a.order_number} approved.")


@app.command("cancel-review")
def cancel_review(
    assessment_id: Annotated[str, typer.Argument(help="from `mercato fraud reviews`")],
    note: Annotated[str | None, typer.Option(help="why, kept in the log")] = None,
):
    """Cancel an order held by fraud screening: its payment refunded exactly, or the
    platform told."""
    with short_transactions() as sessions:
        a = screening.cancel(sessions, assessment_id, "cli", note)
        console.print(f"Order #{a.order_number} cancelled.")
