"""The buyer's details on orders, checkouts, customers, conversations and mails are stored
encrypted: the rows as the database holds them name none of them, the API shows them in
clear, searches and lookups still find them (through keyed hashes), ``rotate-keys``
moves every one to a new master key, and the migration converts what was stored before."""

from __future__ import annotations

import json
import os
import re

import sqlalchemy as sa
from alembic import command
from sqlalchemy import select, text
from typer.testing import CliRunner

from mercato.checkout.models import Checkout
from mercato.cli import app
from mercato.crypto import (
    PII_PREFIX,
    EncryptedJSON,
    decrypt_pii,
    email_key,
    search_terms,
    value_key,
)
from mercato.customers.models import Customer
from mercato.db import create_db_engine, transaction
from mercato.inbox import records
from mercato.inbox.models import Conversation
from mercato.mail.models import Mail
from mercato.orders import screening
from mercato.orders.models import Order
from mercato.privacy import finding, keys
from mercato.system.migrations import alembic_config
from tests.orders.conftest import shop  # noqa: F401 - the TikTok Shop simulator fixture
from tests.privacy.test_encryption import scratch_url, use_keys  # noqa: F401
from tests.privacy.test_requests import (  # noqa: F401 - the person fixture
    ADDRESS,
    EMAIL,
    NAME,
    PHONE,
    POSTAL,
    STREET,
    WA_ID,
    _holds,
    person,
)

# Every personal field kept encrypted, beyond customers' contact points (0081).
NEW = {
    "customers": {"name", "notes", "address"},
    "orders": {
        "customer_name",
        "customer_email",
        "customer_phone",
        "shipping_address",
        "billing_address",
        "note",
    },
    "checkouts": {"email", "phone", "shipping_address"},
    "inbox_conversations": {"contact_id", "contact_name", "phone"},
    "mails": {"to_address"},
}
SECRETS = (EMAIL, NAME, STREET, POSTAL, PHONE, WA_ID, "Zelda", "Quixote")


def _rows(sessions, table: str, ids) -> str:
    """The rows as stored, read with plain SQL (nothing decrypted)."""
    keys_ = ", ".join(f"'{i}'" for i in ids)
    with sessions() as session:
        found = [dict(r) for r in session.execute(text(f"SELECT * FROM {table}")).mappings()]
    mine = [r for r in found if not ids or r["id"] in set(ids)]
    assert mine, (table, keys_)
    return json.dumps(mine, default=str)


def test_rotation_finds_every_encrypted_column_by_its_type():
    found = {(c.table, c.column) for c in keys.encrypted_columns()}
    assert {(t, c) for t, columns in NEW.items() for c in columns} <= found
    assert ("customer_identities", "value") in found and ("customers", "email") in found


def test_the_buyers_details_are_stored_encrypted_shown_in_clear_and_still_found(
    client,
    admin,
    sessions,
    person,  # noqa: F811
    monkeypatch,
):
    mine = next(iter(person["orders"] - {None}))
    with sessions() as session:
        orders = {o.id: o for o in session.scalars(select(Order))}
        storefront = next(
            o for o in orders.values() if o.channel == "storefront" and o.customer_email == EMAIL
        )
        conversation = session.get(Conversation, next(iter(person["inbox_conversations"])))
        customer_id = storefront.customer_id
        profile = session.get(Customer, customer_id).profile_id
    assert mine
    with transaction(sessions) as session:
        customer = session.get(Customer, customer_id)
        customer.address, customer.notes = ADDRESS, f"{NAME} prefers {STREET}"

    # As stored: none of the details, only ciphertext, keyed hashes and countries.
    stored = {
        "orders": _rows(sessions, "orders", person["orders"]),
        "checkouts": _rows(sessions, "checkouts", []),
        "customers": _rows(sessions, "customers", [customer_id]),
        "inbox_conversations": _rows(sessions, "inbox_conversations", []),
        "mails": _rows(sessions, "mails", person["mails"]),
    }
    for table, raw in stored.items():
        assert [v for v in SECRETS if _holds(raw, v)] == [], table
        assert f'"{PII_PREFIX}s0:' in raw, table
    assert '"shipping_country": "US"' in stored["orders"]
    assert '"country": "US"' in stored["customers"]

    # The API shows them in clear.
    order = client.get(f"/api/v1/orders/{storefront.id}", headers=admin).json()
    assert order["customer_email"] == EMAIL and order["customer_phone"] == PHONE
    assert order["shipping_address"]["line1"] == STREET
    thread = client.get(f"/api/v1/conversations/{conversation.id}", headers=admin).json()
    assert thread["contact_name"] == NAME and thread["phone"] == PHONE
    detail = client.get(f"/api/v1/customers/{profile}", headers=admin)
    assert detail.status_code == 200 and STREET in detail.text
    with sessions() as session:
        checkout = session.scalar(select(Checkout).where(Checkout.order_id == storefront.id))
        assert checkout.email == EMAIL and checkout.shipping_address["postal_code"] == POSTAL
        assert checkout.email_hash == email_key(EMAIL) and checkout.phone_hash == value_key(PHONE)
        mail = session.get(Mail, next(iter(person["mails"])))
        assert mail.to_address == EMAIL and mail.to_address_hash == email_key(EMAIL)

    # Searches and lookups go through the keyed hashes.
    def order_search(q: str) -> set[str]:
        page = client.get("/api/v1/orders", headers=admin, params={"q": q}).json()
        return {o["id"] for o in page["items"]}

    assert storefront.id in order_search(EMAIL.upper())
    assert storefront.id in order_search("zelda.quixote@")
    assert person["orders"] <= order_search("Zelda") | {storefront.id}
    assert order_search("Zeld") == set()  # whole words only: nothing to match a part against

    def conversations(q: str) -> list[str]:
        page = client.get("/api/v1/conversations", headers=admin, params={"q": q}).json()
        return [c["id"] for c in page["items"]]

    assert conversations("quixote") == [conversation.id]
    assert conversations(WA_ID[-6:]) == [conversation.id]
    profiles = client.get("/api/v1/customers", headers=admin, params={"q": "QUIXOTE"}).json()
    assert profile in {p["id"] for p in profiles["items"]}
    segment = client.post(
        "/api/v1/segments", headers=admin, json={"name": "us", "filters": {"countries": ["US"]}}
    ).json()
    members = client.get(f"/api/v1/segments/{segment['id']}/members", headers=admin).json()
    assert profile in {p["id"] for p in members["items"]}
    with sessions() as session:
        tiktok = next(
            o
            for o in session.scalars(select(Order))
            if o.channel != "storefront" and o.customer_email == EMAIL
        )
        assert screening.earlier_orders(session, tiktok) >= 1  # the same email before
        thread_orders = records.orders_of(session, session.get(Conversation, conversation.id), 10)
        assert storefront.id in {o.id for o in thread_orders}  # by the phone number
        found = finding.find(session, {"email": [EMAIL]})
        assert storefront.id in {key[0] for key in found.rows["orders"]}
        assert {key[0] for key in found.rows["mails"]} >= person["mails"]
        assert found.rows["checkouts"]

    # A new master key: rotation moves every encrypted value to it, all still read.
    use_keys(monkeypatch, ("k9", os.urandom(32)))
    rotated = CliRunner().invoke(app, ["privacy", "rotate-keys"])
    assert rotated.exit_code == 0, rotated.output
    for table, columns in NEW.items():
        for column in columns:
            assert f"{table}.{column}:" in rotated.output
    with sessions() as session:
        for target in keys.encrypted_columns():
            values = session.execute(
                text(
                    f"SELECT {target.column} FROM {target.table} WHERE {target.column} IS NOT NULL"
                )
            ).scalars()
            assert {v.split(":")[1] for v in values} <= {"k9"}, target
    order = client.get(f"/api/v1/orders/{storefront.id}", headers=admin).json()
    assert order["customer_email"] == EMAIL and order["shipping_address"]["line1"] == STREET
    assert storefront.id in order_search(EMAIL)


def _required(connection, table: str, given: dict) -> dict:
    """``given`` with every other NOT NULL column without a default filled in."""
    values = dict(given)
    for column in sa.inspect(connection).get_columns(table):
        name = column["name"]
        if name in values or column["nullable"] or column.get("default") is not None:
            continue
        kind = type(column["type"]).__name__.upper()
        if "INT" in kind or "NUMERIC" in kind:
            values[name] = 0
        elif "BOOL" in kind:
            values[name] = False
        elif "DATE" in kind or "TIME" in kind:
            values[name] = "2026-01-01 00:00:00+00:00"
        elif "JSON" in kind:
            values[name] = "{}"
        else:
            values[name] = f"x{name}"[:2]
    return values


def _insert(connection, table: str, given: dict) -> None:
    values = _required(connection, table, given)
    names = ", ".join(values)
    marks = ", ".join(f":{n}" for n in values)
    connection.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)


def test_the_migration_encrypts_stored_details_and_the_downgrade_restores_them(
    settings,
    scratch_url,  # noqa: F811
):
    engine = create_db_engine(settings.model_copy(update={"database_url": scratch_url}))
    config = alembic_config(engine)
    address = json.dumps(ADDRESS)
    try:
        for target in ("0081", "0024", "0110", "0121"):
            command.upgrade(config, target)
        with engine.begin() as connection:
            pg = connection.dialect.name == "postgresql"
            cast = "CAST(:address AS JSONB)" if pg else ":address"
            _insert(connection, "customers", {"id": "cus_1", "profile_id": "cus_1", "name": NAME})
            connection.execute(
                text(f"UPDATE customers SET address = {cast}, notes = :notes"),
                {"address": address, "notes": f"{NAME} at {STREET}"},
            )
            for i in range(3):  # more than one batch would take when BATCH is small
                _insert(
                    connection,
                    "orders",
                    {
                        "id": f"ord_{i}",
                        "number": 1001 + i,
                        "channel": "manual",
                        "currency": "USD",
                        "status": "open",
                        "payment_status": "paid",
                        "fulfillment_status": "unfulfilled",
                        "customer_name": NAME,
                        "customer_email": EMAIL.upper() if i else EMAIL,
                        "customer_phone": PHONE,
                        "note": None if i else f"Leave it at {STREET}",
                    },
                )
            connection.execute(
                text(f"UPDATE orders SET shipping_address = {cast}, billing_address = NULL"),
                {"address": address},
            )
            _insert(
                connection,
                "checkouts",
                {"id": "chk_1", "status": "open", "email": EMAIL, "phone": PHONE},
            )
            connection.execute(
                text(f"UPDATE checkouts SET shipping_address = {cast}"), {"address": address}
            )
            _insert(connection, "inbox_accounts", {"id": "iac_1", "platform": "whatsapp"})
            _insert(
                connection,
                "inbox_conversations",
                {
                    "id": "cnv_1",
                    "account_id": "iac_1",
                    "contact_id": WA_ID,
                    "contact_name": NAME,
                    "phone": PHONE,
                    "status": "open",
                },
            )
            _insert(
                connection,
                "mails",
                {"id": "mail_1", "kind": "sign_in", "to_address": EMAIL, "status": "queued"},
            )
        command.upgrade(config, "0082")
        with engine.connect() as connection:
            stored = {
                table: [
                    dict(r) for r in connection.execute(text(f"SELECT * FROM {table}")).mappings()
                ]
                for table in NEW
            }
        raw = json.dumps(stored, default=str)
        assert [v for v in SECRETS if _holds(raw, v)] == []
        for table, columns in NEW.items():
            for row in stored[table]:
                for column in columns:
                    value = row[column]
                    assert value is None or value.startswith(PII_PREFIX), (table, column)
        [customer] = stored["customers"]
        assert decrypt_pii(customer["name"]) == NAME and customer["country"] == "US"
        assert json.loads(decrypt_pii(customer["address"])) == ADDRESS
        assert customer["search_terms"] == search_terms(names=(NAME,))
        orders = sorted(stored["orders"], key=lambda r: r["id"])
        assert [o["customer_email_hash"] for o in orders] == [email_key(EMAIL)] * 3
        assert {o["customer_phone_hash"] for o in orders} == {value_key(PHONE)}
        assert {o["shipping_country"] for o in orders} == {"US"}
        assert orders[0]["search_terms"] == search_terms(names=(NAME, EMAIL))
        assert decrypt_pii(orders[1]["customer_email"]) == EMAIL.upper()
        assert orders[1]["note"] is None and orders[0]["billing_address"] is None
        [checkout] = stored["checkouts"]
        assert checkout["email_hash"] == email_key(EMAIL)
        assert checkout["phone_hash"] == value_key(PHONE)
        [conversation] = stored["inbox_conversations"]
        assert conversation["phone_hash"] == value_key(PHONE)
        assert conversation["contact_id_hash"] == value_key(WA_ID)
        assert re.fullmatch(r" [0-9a-f ]+ ", conversation["search_terms"])
        assert stored["mails"][0]["to_address_hash"] == email_key(EMAIL)
        with engine.connect() as connection:  # what the models read
            shipped = connection.execute(
                select(Order.__table__.c.shipping_address).where(Order.__table__.c.id == "ord_0")
            ).scalar()
            assert shipped == ADDRESS
            assert isinstance(Order.__table__.c.shipping_address.type, EncryptedJSON)

        command.downgrade(config, "0082@-1")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT name, notes FROM customers")).one() == (
                NAME,
                f"{NAME} at {STREET}",
            )
            rows = connection.execute(
                text(
                    "SELECT customer_email, customer_phone, shipping_address FROM orders"
                    " ORDER BY id"
                )
            ).all()
            assert [r[0] for r in rows] == [EMAIL, EMAIL.upper(), EMAIL.upper()]
            shipped = rows[0][2]
            assert (json.loads(shipped) if isinstance(shipped, str) else shipped) == ADDRESS
            assert connection.execute(text("SELECT to_address FROM mails")).scalar() == EMAIL
            assert connection.execute(
                text("SELECT contact_id, contact_name, phone FROM inbox_conversations")
            ).one() == (WA_ID, NAME, PHONE)
    finally:
        engine.dispose()
