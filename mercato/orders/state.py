"""The order status machine: which moves are allowed, as data, and questions about it."""

from __future__ import annotations

from mercato.errors import Conflict

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"open", "on_hold", "cancelled"}),  # awaiting payment/acceptance
    "open": frozenset({"on_hold", "completed", "cancelled"}),  # to be fulfilled
    "on_hold": frozenset({"open", "completed", "cancelled"}),  # needs attention
    "completed": frozenset(),
    "cancelled": frozenset(),
}


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "Illegal order transition"


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS[from_status]


def check_transition(order_number: int, from_status: str, to_status: str) -> None:
    if not can_transition(from_status, to_status):
        allowed = ", ".join(sorted(TRANSITIONS[from_status])) or "none"
        raise IllegalTransition(
            f"Order #{order_number} is {from_status}; it cannot become {to_status} "
            f"(allowed: {allowed}).",
            extra={"from": from_status, "to": to_status},
        )


def move(order, to_status: str) -> None:
    """Move ``order`` to ``to_status``, or refuse the move (IllegalTransition)."""
    check_transition(order.number, order.status, to_status)
    order.status = to_status


def can_fulfil(status: str, payment_status: str) -> bool:
    # A fully refunded order has nothing left to ship.
    return status == "open" and payment_status != "refunded"


def closed_by_refund(fulfillment_status: str) -> str:
    """What a fully refunded order becomes: cancelled when nothing shipped, else completed
    (what shipped comes back as a return)."""
    return "cancelled" if fulfillment_status == "unfulfilled" else "completed"


def payment_status_after_refund(total: int, refunded_total: int) -> str:
    return "refunded" if refunded_total >= total else "partially_refunded"


def fulfillment_status_of(lines) -> str:
    """Shipped, partly shipped or not, counting refunded units as never to ship."""
    shipped = sum(line.fulfilled_quantity for line in lines)
    settled = all(
        line.fulfilled_quantity + _refunded_unshipped(line) >= line.quantity for line in lines
    )
    if shipped and settled:
        return "fulfilled"
    return "partially_fulfilled" if shipped else "unfulfilled"


def shippable(line) -> int:
    """Units of a line still to ship: neither shipped nor refunded before shipping."""
    return max(0, line.quantity - line.fulfilled_quantity - _refunded_unshipped(line))


def restockable(line) -> int:
    """Unshipped units of a line not yet put back on hand."""
    return max(0, line.quantity - line.fulfilled_quantity - line.restocked_quantity)


def _refunded_unshipped(line) -> int:
    return min(line.refunded_quantity, line.quantity - line.fulfilled_quantity)


def can_cancel(status: str, fulfillment_status: str) -> bool:
    # Shipped goods come back as a return, not a cancellation.
    return can_transition(status, "cancelled") and fulfillment_status == "unfulfilled"
