"""Ids and the bulk insert helper."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, text

from mercato import db
from mercato.catalog.models import Product, Variant
from mercato.crypto import value_key
from mercato.customers.models import Customer, Identity
from mercato.db import insert_rows, make_sessionmaker, new_id, transaction
from mercato.inserts import insert_or_ignore_many


def _reference_encoding(value: int) -> str:
    """26 base32 digits of a 128-bit value, Crockford's alphabet, most significant first."""
    return "".join(db._CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def test_ids_encode_time_and_randomness_as_26_crockford_digits(monkeypatch):
    future = (int(time.time() * 1000) + 10**9) << 80
    values = [future | random.getrandbits(80) for _ in range(20_000)]
    values += [
        future,
        future | ((1 << 80) - 1),
        ((1 << 48) - 1) << 80 | 1023,
        future | (1 << 20) - 1,
        future | 1 << 20,
    ]
    for value in values:
        # The clock is behind the last id, so the next one is the last plus one.
        monkeypatch.setattr(db, "_last_id_value", value - 1)
        assert new_id("var") == "var_" + _reference_encoding(value)


def test_ids_are_unique_and_ordered():
    ids = [new_id("x") for _ in range(50_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 28 for i in ids)


def test_ids_written_one_after_another_carry_into_the_time_digits(monkeypatch):
    # The last random value of a millisecond: the next ids count on into the next one,
    # whose time digits must be written anew, not taken from the id before.
    high = int(time.time() * 1000) + 10**9
    first = (high << 80) | ((1 << 80) - 2)
    monkeypatch.setattr(db, "_last_id_value", first - 1)
    ids = [new_id("ord") for _ in range(4)]
    assert ids == ["ord_" + _reference_encoding(first + i) for i in range(4)]
    assert ids[1][4:14] != ids[2][4:14]
    assert ids == sorted(ids)


def test_ids_made_by_many_threads_are_unique_and_ordered_in_each():
    made: dict[int, list[str]] = {}

    def make(n: int) -> None:
        made[n] = [new_id("evt") for _ in range(20_000)]

    threads = [threading.Thread(target=make, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for ids in made.values() for i in ids]
    assert len(set(everything)) == 80_000
    assert all(ids == sorted(ids) for ids in made.values())


def test_insert_rows_stores_what_a_core_insert_stores(engine):
    now = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    later = now + timedelta(hours=1)

    def product(handle):
        return {
            "id": new_id("prod"),
            "handle": handle,
            "title": "T",
            "description_html": "<p>x</p>",
            "description_text": "x",
            "vendor": None,
            "product_type": None,
            "tags": ["a", "b"],
            "status": "active",
            "google_category_id": 212,
            "google_category_path": None,
            "options": ["Size"],
            "seo_title": None,
            "seo_description": None,
            "gender": None,
            "age_group": None,
            # What JSON text must escape (for COPY too), and a number orjson cannot write.
            "attributes": {
                "k": [1, {"z": None}],
                "text": 'é "quoted" \\ back\tslash\nline ✓',
                "big": 10**30,
                "f": 1.5,
            },
            "created_at": now,
            "updated_at": now,
        }

    def variants(product_id):
        return [
            {
                "id": new_id("var"),
                "product_id": product_id,
                "position": position,
                "sku": f"{product_id}-{position}",
                "option1": size,
                "option2": None,
                "option3": None,
                "currency": "USD",
                "price": 1999,
                "compare_at_price": None,
                "cost": 5,
                "barcode": None,
                "mpn": None,
                "weight": weight,
                "weight_unit": "oz",
                "condition": "new",
                "requires_shipping": position == 1,
                "taxable": False,
                "inventory_policy": "deny",
                "inventory_tracked": True,
                "image_id": None,
                "attributes": {},
                "created_at": stamp,
                "updated_at": later,
            }
            for position, (size, weight, stamp) in enumerate(
                [("S", Decimal("8.8185"), now), ("M", None, later), ("L", Decimal("10"), now)],
                start=1,
            )
        ]

    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        core, helper = product("core"), product("helper")
        session.execute(insert(Product.__table__), [core])
        insert_rows(session, Product.__table__, [helper])
        session.execute(insert(Variant.__table__), variants(core["id"]))
        insert_rows(session, Variant.__table__, variants(helper["id"]))

    with transaction(factory) as session:

        def stored(table, where):
            return [
                dict(row._mapping)
                for row in session.execute(
                    text(
                        f"SELECT * FROM {table} WHERE {where} ORDER BY position, id"
                        if table == "variants"
                        else f"SELECT * FROM {table} WHERE {where}"
                    )
                )
            ]

        def without_ids(rows):
            return [
                {k: v for k, v in row.items() if k not in ("id", "product_id", "sku", "handle")}
                for row in rows
            ]

        assert without_ids(stored("products", f"id = '{helper['id']}'")) == without_ids(
            stored("products", f"id = '{core['id']}'")
        )
        helper_variants = stored("variants", f"product_id = '{helper['id']}'")
        assert len(helper_variants) == 3
        assert without_ids(helper_variants) == without_ids(
            stored("variants", f"product_id = '{core['id']}'")
        )


def _product_row(handle: str, now: datetime) -> dict:
    return {
        "id": new_id("prod"),
        "handle": handle,
        "title": handle.title(),
        "description_html": "",
        "description_text": "",
        "tags": [],
        "status": "draft",
        "options": [],
        "attributes": {},
        "created_at": now,
        "updated_at": now,
    }


def test_insert_rows_takes_rows_made_as_they_are_written(engine):
    now = datetime(2024, 5, 6, tzinfo=UTC)
    made: list[str] = []

    def rows():
        for n in range(1500):
            made.append(f"made-{n}")
            yield _product_row(made[-1], now)

    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        assert insert_rows(session, Product.__table__, rows()) == 1500
        assert insert_rows(session, Product.__table__, iter(())) == 0
    with transaction(factory) as session:
        handles = session.scalars(
            text("SELECT handle FROM products WHERE handle LIKE 'made-%' ORDER BY id")
        ).all()
    assert handles == made


def test_rows_that_fail_while_being_written_leave_nothing(engine):
    now = datetime(2024, 5, 6, tzinfo=UTC)

    def rows():
        for n in range(1000):
            if n == 700:
                raise RuntimeError("the 700th row could not be made")
            yield _product_row(f"half-{n}", now)

    factory = make_sessionmaker(engine)
    with pytest.raises(RuntimeError, match="700th"), transaction(factory) as session:
        insert_rows(session, Product.__table__, [_product_row("before-the-failure", now)])
        insert_rows(session, Product.__table__, rows())
    with transaction(factory) as session:
        left = session.scalar(
            text(
                "SELECT count(*) FROM products "
                "WHERE handle LIKE 'half-%' OR handle = 'before-the-failure'"
            )
        )
    assert left == 0


def test_insert_or_ignore_many_skips_rows_held_already_and_returns_those_inserted(engine, sessions):
    """Identities of a batch of buyers: each value stored encrypted, read back in clear,
    times kept to the microsecond; one already held (same kind, scope and value) skipped,
    and only the new ones' ids returned, on both databases."""
    now = datetime(2026, 12, 7, 12, 30, 15, 123456, tzinfo=UTC)

    def row(n: int, value: str) -> dict:
        return {
            "id": f"idn_{n}",
            "customer_id": "cus_1",
            "kind": "email",
            "scope": "",
            "value": value,
            "value_hash": value_key(value),
            "verified": n % 2 == 0,
            "source": "api",
            "created_at": now,
            "verified_at": now if n % 2 == 0 else None,
        }

    with transaction(sessions) as session:
        session.add(Customer(id="cus_1", profile_id="cus_1", created_at=now))
        session.flush()
        first = insert_or_ignore_many(
            session, Identity, ("kind", "scope", "value_hash"), [row(1, "a@example.com")]
        )
        rows = [row(2, "a@example.com"), row(3, "b@example.com"), row(4, "c@example.com")]
        second = insert_or_ignore_many(session, Identity, ("kind", "scope", "value_hash"), rows)
    assert first == ["idn_1"] and sorted(second) == ["idn_3", "idn_4"]
    with sessions() as session:
        kept = {i.id: i for i in session.query(Identity)}
        stored = session.execute(text("SELECT value FROM customer_identities")).scalars().all()
    assert {i: k.value for i, k in kept.items()} == {
        "idn_1": "a@example.com",
        "idn_3": "b@example.com",
        "idn_4": "c@example.com",
    }
    assert (kept["idn_4"].verified, kept["idn_4"].verified_at) == (True, now)
    assert (kept["idn_3"].verified, kept["idn_3"].verified_at) == (False, None)
    assert all("example.com" not in v for v in stored)
