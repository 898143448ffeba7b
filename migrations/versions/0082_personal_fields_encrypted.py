"""personal fields of customers, orders, checkouts, conversations and mails encrypted

The buyer's name, email, phone, addresses and notes on customers, orders and checkouts,
a conversation's contact (the platform's id of them, name and phone), and a mail's
recipient are encrypted by
envelope (``mercato.crypto``). Emails, phones and contact ids that lookups compare get a
keyed hash beside them (a conversation is unique by its contact id's); names, emails and phones that are searched by part get the keyed hashes of
their words (``search_terms``); an address's country stays in clear beside it (segments
filter by it). Existing rows are converted in batches on upgrade, decrypted on downgrade.

Revision ID: 0082
Revises: 0081
Create Date: 2026-12-07 13:00:00
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from mercato.crypto import (
    country_of,
    decrypt_pii,
    email_key,
    encrypt_pii,
    search_terms,
    value_key,
)

revision = "0082"
down_revision = "0081"
branch_labels = None
# orders (0110: markets), checkouts (0121: personalisation opt-in), mails (0024: its
# branch's head); customers and inbox_conversations come before 0081 already.
depends_on = ("0024", "0110", "0121")

BATCH = 500

# table -> encrypted text columns (old type), encrypted JSON columns
TEXT = {
    "customers": {"name": sa.String(255), "notes": sa.Text()},
    "orders": {
        "customer_name": sa.String(255),
        "customer_email": sa.String(320),
        "customer_phone": sa.String(32),
        "note": sa.Text(),
    },
    "checkouts": {"email": sa.String(320), "phone": sa.String(32)},
    "inbox_conversations": {
        "contact_id": sa.String(64),
        "contact_name": sa.String(255),
        "phone": sa.String(32),
    },
    "mails": {"to_address": sa.String(320)},
}
JSON = {
    "customers": ("address",),
    "orders": ("shipping_address", "billing_address"),
    "checkouts": ("shipping_address",),
}
# table -> columns added: (name, type, indexed)
ADDED = {
    "customers": [("search_terms", sa.Text(), False), ("country", sa.String(2), False)],
    "orders": [
        ("customer_email_hash", sa.String(64), True),
        ("customer_phone_hash", sa.String(64), True),
        ("search_terms", sa.Text(), False),
        ("shipping_country", sa.String(2), False),
    ],
    "checkouts": [("email_hash", sa.String(64), False), ("phone_hash", sa.String(64), False)],
    "inbox_conversations": [
        ("contact_id_hash", sa.String(64), False),
        ("phone_hash", sa.String(64), True),
        ("search_terms", sa.Text(), False),
    ],
    "mails": [("to_address_hash", sa.String(64), False)],
}


def _plain(value: Any) -> str | None:
    return None if value is None else decrypt_pii(value)


def _json(value: Any) -> Any:
    """A stored JSON value as Python (JSON text, or already decoded by a driver)."""
    if value is None:
        return None
    if isinstance(value, str):
        return json.loads(decrypt_pii(value))
    return value


def _sealed_json(value: Any) -> str | None:
    if value is None:
        return None
    return encrypt_pii(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _derived(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """The clear values' hashes, search terms and countries."""
    if table == "customers":
        return {
            "search_terms": search_terms(names=(row["name"],)),
            "country": country_of(row["address"]),
        }
    if table == "orders":
        return {
            "customer_email_hash": email_key(row["customer_email"]),
            "customer_phone_hash": value_key(row["customer_phone"]),
            "search_terms": search_terms(names=(row["customer_name"], row["customer_email"])),
            "shipping_country": country_of(row["shipping_address"]),
        }
    if table == "checkouts":
        return {"email_hash": email_key(row["email"]), "phone_hash": value_key(row["phone"])}
    if table == "inbox_conversations":
        return {
            "contact_id_hash": value_key(row["contact_id"]),
            "phone_hash": value_key(row["phone"]),
            "search_terms": search_terms(names=(row["contact_name"],), phones=(row["phone"],)),
        }
    return {"to_address_hash": email_key(row["to_address"])}


def _convert(table: str, forward: bool) -> None:
    """Every row's personal values encrypted with what is derived from them set
    (forward), or decrypted back; in batches of ``BATCH`` rows."""
    bind = op.get_bind()
    texts, jsons = list(TEXT[table]), list(JSON.get(table, ()))
    derived = [name for name, _, _ in ADDED[table]] if forward else []
    t = sa.table(table, *(sa.column(n) for n in ["id", *texts, *jsons, *derived]))
    written = [*texts, *jsons, *derived]
    statement = (
        sa.update(t)
        .where(t.c.id == sa.bindparam("b_id"))
        .values({name: sa.bindparam(f"b_{name}") for name in written})
    )
    last = ""
    while True:
        rows = (
            bind.execute(
                sa.select(t.c.id, *(t.c[n] for n in texts + jsons))
                .where(t.c.id > last)
                .order_by(t.c.id)
                .limit(BATCH)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        params = []
        for row in rows:
            clear = {n: _plain(row[n]) for n in texts} | {n: _json(row[n]) for n in jsons}
            if forward:
                values = {n: None if clear[n] is None else encrypt_pii(clear[n]) for n in texts}
                values |= {n: _sealed_json(clear[n]) for n in jsons}
                values |= _derived(table, clear)
            else:
                values = dict(clear)
                values |= {
                    n: None if clear[n] is None else json.dumps(clear[n], ensure_ascii=False)
                    for n in jsons
                }
            params.append({"b_id": row["id"], **{f"b_{n}": v for n, v in values.items()}})
        bind.execute(statement, params)
        last = rows[-1]["id"]


def _json_type() -> sa.types.TypeEngine:
    from sqlalchemy.dialects.postgresql import JSONB

    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    for table, columns in TEXT.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, type_, indexed in ADDED[table]:
                batch_op.add_column(sa.Column(name, type_, nullable=True))
                if indexed:
                    batch_op.create_index(batch_op.f(f"ix_{table}_{name}"), [name], unique=False)
            if table == "inbox_conversations":
                batch_op.drop_index(batch_op.f("ix_inbox_conversations_phone"))
                batch_op.drop_constraint(
                    batch_op.f("uq_inbox_conversations_account_id"), type_="unique"
                )
            for name, old in columns.items():
                if not isinstance(old, sa.Text):
                    batch_op.alter_column(name, existing_type=old, type_=sa.Text())
            for name in JSON.get(table, ()):
                batch_op.alter_column(
                    name,
                    existing_type=_json_type(),
                    type_=sa.Text(),
                    postgresql_using=f"{name}::text",
                )
    for table in TEXT:
        _convert(table, True)
    with op.batch_alter_table("inbox_conversations", schema=None) as batch_op:
        batch_op.alter_column("contact_id_hash", existing_type=sa.String(64), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_inbox_conversations_account_id"), ["account_id", "contact_id_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_conversations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_inbox_conversations_account_id"), type_="unique")
    for table in TEXT:
        _convert(table, False)
    for table, columns in TEXT.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in JSON.get(table, ()):
                batch_op.alter_column(
                    name,
                    existing_type=sa.Text(),
                    type_=_json_type(),
                    postgresql_using=f"{name}::jsonb",
                )
            for name, old in columns.items():
                if not isinstance(old, sa.Text):
                    batch_op.alter_column(name, existing_type=sa.Text(), type_=old)
            if table == "inbox_conversations":
                batch_op.create_index(
                    batch_op.f("ix_inbox_conversations_phone"), ["phone"], unique=False
                )
                batch_op.create_unique_constraint(
                    batch_op.f("uq_inbox_conversations_account_id"), ["account_id", "contact_id"]
                )
            for name, _, indexed in reversed(ADDED[table]):
                if indexed:
                    batch_op.drop_index(batch_op.f(f"ix_{table}_{name}"))
                batch_op.drop_column(name)
