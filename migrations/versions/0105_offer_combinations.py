"""offers combine by discount class; checkouts and orders carry several codes

Revision ID: 0105
Revises: 0104

``offers.combinable`` becomes one flag per discount class (product, order, shipping):
true sets all three, false none. A checkout's one ``discount_code`` becomes the list
``discount_codes`` (each code with what it took off); orders record theirs the same way.
"""

import sqlalchemy as sa
from alembic import op

import mercato.db

revision = "0105"
down_revision = "0104"
branch_labels = None
# The last revisions that changed checkouts (0110, 0121) and orders (0110).
depends_on = ("0110", "0121")

CLASSES = ("product", "order", "shipping")


def upgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        for cls in CLASSES:
            batch_op.add_column(
                sa.Column(
                    f"combines_with_{cls}", sa.Boolean(), server_default=sa.false(), nullable=False
                )
            )
    offers = sa.table(
        "offers",
        sa.column("combinable", sa.Boolean()),
        *(sa.column(f"combines_with_{cls}", sa.Boolean()) for cls in CLASSES),
    )
    op.execute(
        offers.update()
        .where(offers.c.combinable == sa.true())
        .values({f"combines_with_{cls}": sa.true() for cls in CLASSES})
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("combinable")

    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("discount_codes", mercato.db.JSONType(), server_default="[]", nullable=False)
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("discount_codes", mercato.db.JSONType(), server_default="[]", nullable=False)
        )
    checkouts = sa.table(
        "checkouts",
        sa.column("id", sa.String()),
        sa.column("discount_code", sa.String()),
        sa.column("discount_total", sa.BigInteger()),
        sa.column("discount_codes", mercato.db.JSONType()),
    )
    connection = op.get_bind()
    found = connection.execute(
        sa.select(checkouts.c.id, checkouts.c.discount_code, checkouts.c.discount_total).where(
            checkouts.c.discount_code.is_not(None)
        )
    ).all()
    for checkout_id, code, amount in found:
        connection.execute(
            checkouts.update()
            .where(checkouts.c.id == checkout_id)
            .values(
                discount_codes=[{"code": code, "amount": amount or 0, "free_shipping": False}]
            )
        )
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.drop_column("discount_code")


def downgrade() -> None:
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discount_code", sa.String(length=64), nullable=True))
    checkouts = sa.table(
        "checkouts",
        sa.column("id", sa.String()),
        sa.column("discount_code", sa.String()),
        sa.column("discount_codes", mercato.db.JSONType()),
    )
    connection = op.get_bind()
    for checkout_id, codes in connection.execute(
        sa.select(checkouts.c.id, checkouts.c.discount_codes)
    ).all():
        if codes:
            connection.execute(
                checkouts.update()
                .where(checkouts.c.id == checkout_id)
                .values(discount_code=codes[0]["code"])
            )
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.drop_column("discount_codes")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("discount_codes")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("combinable", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    offers = sa.table(
        "offers",
        sa.column("combinable", sa.Boolean()),
        *(sa.column(f"combines_with_{cls}", sa.Boolean()) for cls in CLASSES),
    )
    op.execute(
        offers.update()
        .where(*(offers.c[f"combines_with_{cls}"] == sa.true() for cls in CLASSES))
        .values(combinable=sa.true())
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        for cls in CLASSES:
            batch_op.drop_column(f"combines_with_{cls}")
