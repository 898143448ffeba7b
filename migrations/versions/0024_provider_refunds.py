"""refunds go back through the payment provider: pending -> refunded or failed

Revision ID: 0024
Revises: 0019
Create Date: 2026-12-06 10:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

from mercato.db import UTCDateTime


revision = "0024"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="refunded", nullable=False)
        )
        batch_op.add_column(sa.Column("payment_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("provider_ref", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("failure_message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint("status", "status IN ('pending', 'refunded', 'failed')")
        batch_op.create_index(batch_op.f("ix_refunds_status"), ["status"], unique=False)
    op.execute("UPDATE refunds SET updated_at = created_at")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.alter_column(
            "updated_at", existing_type=UTCDateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_status"))
        batch_op.drop_constraint(batch_op.f("ck_refunds_status"), type_="check")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("failure_message")
        batch_op.drop_column("provider_ref")
        batch_op.drop_column("payment_id")
        batch_op.drop_column("status")
