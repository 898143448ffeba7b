"""A buyer's payment request that dies at one point of the saga, as a killed process does:
run as ``python -m tests.checkout.crashing_payer POINT TOKEN TOTAL``; it exits with
status 137 at POINT (os._exit: no cleanup, no rollback sent, no commit)."""

from __future__ import annotations

import os
import sys

from mercato.checkout import completion, paying, service
from mercato.checkout.schemas import CheckoutComplete
from mercato.db import create_db_engine, make_sessionmaker
from mercato.orders import creation
from mercato.payments.stripe_provider import StripeProvider

KILLED = 137


def die(*_args, **_kwargs):
    os._exit(KILLED)


def after(fn):
    def wrapped(*args, **kwargs):
        fn(*args, **kwargs)
        die()

    return wrapped


def sold_out(*_args, **_kwargs):
    raise service.CheckoutExpired("Your items sold out while you paid.")


POINTS = {
    # Recorded pending; the provider never asked.
    "before_provider": [(StripeProvider, "create_intent", die)],
    # The intent made, never confirmed.
    "after_intent": [(StripeProvider, "create_intent", after(StripeProvider.create_intent))],
    # Charged; the answer never written.
    "after_charge": [(StripeProvider, "confirm", after(StripeProvider.confirm))],
    # Charged; the order's transaction under way, never committed.
    "while_placing": [(creation, "create_order", after(creation.create_order))],
    # The order cannot be placed; the refund never asked for.
    "before_refund": [(paying, "place_order", sold_out), (StripeProvider, "refund", die)],
    # The order cannot be placed; refunded, the refund never written.
    "after_refund": [
        (paying, "place_order", sold_out),
        (StripeProvider, "refund", after(StripeProvider.refund)),
    ],
}


def main(point: str, token: str, total: int) -> None:
    for owner, name, replacement in POINTS[point]:
        setattr(owner, name, replacement)
    sessions = make_sessionmaker(create_db_engine())
    completion.complete(
        sessions,
        token,
        CheckoutComplete(payment_method="pm_card_visa", expected_total=total),
        attempt_key=f"crash-{point}",
        return_url="http://127.0.0.1:9/return",
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
