"""How many units of each order line an action may take, counting them, and what
the buyer paid for some of a line's units."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mercato.errors import FieldError, ValidationFailed
from mercato.orders.models import Order, OrderLine
from mercato.orders.schemas import LineQuantity


def paid_for(line: OrderLine, quantity: int) -> int:
    """What the buyer paid for ``quantity`` units of a line (discount and tax spread)."""
    return line.total * quantity // line.quantity


def check(
    order: Order,
    wanted: Sequence[LineQuantity],
    left_of: Callable[[OrderLine], int],
    verb: str,
    field: str,
) -> None:
    """Refuse more than a line has left to ship or refund (a line named twice counts
    once with both quantities)."""
    by_id = {line.id: line for line in order.lines}
    asked: dict[str, int] = {}
    errors = []
    for index, item in enumerate(wanted):
        line = by_id.get(item.line_id)
        if line is None:
            errors.append(
                FieldError(
                    (field, index, "line_id"), f"order #{order.number} has no line {item.line_id!r}"
                )
            )
            continue
        asked[line.id] = asked.get(line.id, 0) + item.quantity
        left = left_of(line)
        if asked[line.id] > left:
            errors.append(
                FieldError(
                    (field, index, "quantity"),
                    f"only {left} of {line.sku or line.title} left to {verb}",
                )
            )
    if errors:
        raise ValidationFailed(f"Cannot {verb} these lines.", errors)


def count(order: Order, wanted: Sequence[LineQuantity], counter: str) -> None:
    by_id = {line.id: line for line in order.lines}
    for item in wanted:
        line = by_id[item.line_id]
        setattr(line, counter, getattr(line, counter) + item.quantity)
