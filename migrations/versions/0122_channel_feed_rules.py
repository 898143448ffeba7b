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
depends_on = None


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
