"""The order status machine: which moves are allowed, as data, and questions about it."""

from __future__ import annotations

from mercato.errors import Conflict

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"open", "on_hold", "cancelled"}),  # awaiting payment/acceptance
    "open": frozenset({"on_hold", "completed", "cancelled"}),  # to be fulfilled
    "on_hold": frozenset({"open", "cancelled"}),  # needs attention
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


def can_fulfil(status: str) -> bool:
    return status in ("open",)


def can_cancel(status: str, fulfillment_status: str) -> bool:
    # Shipped goods come back as a return, not a cancellation.
    return can_transition(status, "cancelled") and fulfillment_status == "unfulfilled"
