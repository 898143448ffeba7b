"""channel feed rules

Revision ID: 0122
Revises: 0121
Create Date: 2026-12-07 04:34:00.861838
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = "0122"
down_revision = "0121"
branch_labels = None
# The channels table (0005) is on another branch: upgraded after it whatever the order.
depends_on = "0005"


def upgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("feed_rules", mercato.db.JSONType(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("feed_rules_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("feed_rules_version")
        batch_op.drop_column("feed_rules")
