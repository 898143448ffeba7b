"""personal data of customers encrypted at rest

Customer contact points (``customers.email``, ``customers.phone``) and identity values
(``customer_identities.value``) are encrypted by envelope (``mercato.crypto``), each
beside a keyed hash that lookups and uniqueness use instead. Existing rows are encrypted
and hashed on upgrade, decrypted on downgrade.

Revision ID: 0081
Revises: 0080
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from mercato.crypto import decrypt_pii, encrypt_pii, pii_hash

revision = "0081"
down_revision = "0080"
branch_labels = None
depends_on = "0070"

BATCH = 500


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """SQLite rebuilds a table to change its constraints: with foreign keys on, dropping
    the old ``customers`` would cascade to every row pointing at it. SQLite's documented
    procedure: foreign keys off (outside a transaction), rebuild, check, on again."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    raw = bind.connection.dbapi_connection
    if not raw.execute("PRAGMA foreign_keys").fetchone()[0]:
        yield  # already off for the whole run (migrations/env.py)
        return
    raw.commit()
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")
        raw.commit()
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _convert(table: str, columns: dict[str, str], forward: bool) -> None:
    """Each value encrypted with its keyed hash set (forward), or decrypted back."""
    bind = op.get_bind()
    names = ["id", *columns, *columns.values()]
    t = sa.table(table, *(sa.column(name) for name in names))
    last = ""
    while True:
        rows = bind.execute(
            sa.select(t.c.id, *(t.c[c] for c in columns))
            .where(t.c.id > last)
            .order_by(t.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            values = {}
            for column, hash_column in columns.items():
                value = getattr(row, column)
                if value is None:
                    continue
                if forward:
                    plain = decrypt_pii(value)  # a value already encrypted stays itself
                    key = plain.strip().lower() if column == "email" else plain
                    values[column], values[hash_column] = encrypt_pii(plain), pii_hash(key)
                else:
                    values[column] = decrypt_pii(value)
            if values:
                bind.execute(sa.update(t).where(t.c.id == row.id).values(**values))
        last = rows[-1].id


def upgrade() -> None:
    with _foreign_keys_off():
        with op.batch_alter_table("customer_identities", schema=None) as batch_op:
            batch_op.add_column(sa.Column("value_hash", sa.String(length=64), nullable=True))
            batch_op.alter_column("value", existing_type=sa.String(length=320), type_=sa.Text())
            batch_op.drop_constraint(batch_op.f("uq_customer_identities_kind"), type_="unique")
            batch_op.create_unique_constraint(
                batch_op.f("uq_customer_identities_kind"), ["kind", "scope", "value_hash"]
            )
        with op.batch_alter_table("customers", schema=None) as batch_op:
            batch_op.add_column(sa.Column("email_hash", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
            batch_op.alter_column("email", existing_type=sa.String(length=320), type_=sa.Text())
            batch_op.alter_column("phone", existing_type=sa.String(length=32), type_=sa.Text())
            batch_op.drop_constraint(batch_op.f("uq_customers_email"), type_="unique")
            batch_op.drop_constraint(batch_op.f("uq_customers_phone"), type_="unique")
            batch_op.create_unique_constraint(batch_op.f("uq_customers_email_hash"), ["email_hash"])
            batch_op.create_unique_constraint(batch_op.f("uq_customers_phone_hash"), ["phone_hash"])
    _convert("customer_identities", {"value": "value_hash"}, True)
    _convert("customers", {"email": "email_hash", "phone": "phone_hash"}, True)
    with _foreign_keys_off():
        with op.batch_alter_table("customer_identities", schema=None) as batch_op:
            batch_op.alter_column("value_hash", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    _convert("customer_identities", {"value": "value_hash"}, False)
    _convert("customers", {"email": "email_hash", "phone": "phone_hash"}, False)
    with _foreign_keys_off():
        with op.batch_alter_table("customers", schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f("uq_customers_phone_hash"), type_="unique")
            batch_op.drop_constraint(batch_op.f("uq_customers_email_hash"), type_="unique")
            batch_op.alter_column("phone", existing_type=sa.Text(), type_=sa.String(length=32))
            batch_op.alter_column("email", existing_type=sa.Text(), type_=sa.String(length=320))
            batch_op.drop_column("phone_hash")
            batch_op.drop_column("email_hash")
            batch_op.create_unique_constraint(batch_op.f("uq_customers_phone"), ["phone"])
            batch_op.create_unique_constraint(batch_op.f("uq_customers_email"), ["email"])
        with op.batch_alter_table("customer_identities", schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f("uq_customer_identities_kind"), type_="unique")
            batch_op.alter_column("value", existing_type=sa.Text(), type_=sa.String(length=320))
            batch_op.drop_column("value_hash")
            batch_op.create_unique_constraint(
                batch_op.f("uq_customer_identities_kind"), ["kind", "scope", "value"]
            )
