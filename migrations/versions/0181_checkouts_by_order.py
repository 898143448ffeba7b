"""checkouts found by their order

Revision ID: 0181
Revises: 0180
Create Date: 2026-12-07 21:40:00.000000
"""

from alembic import op

revision = "0181"
down_revision = "0180"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A paid order's conversion reads the client its checkout saw; privacy finds a
    # person's checkouts by their orders.
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkouts_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkouts_order_id"))
