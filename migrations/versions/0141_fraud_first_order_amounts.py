"""Fraud screening's "first order above" amount per currency.

Revision ID: 0141
Revises: 0140
Create Date: 2026-12-07 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = "0141"
down_revision = "0140"
branch_labels = None
depends_on = "0130"


def upgrade() -> None:
    with op.batch_alter_table("fraud_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_order_amounts", mercato.db.JSONType(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fraud_settings", schema=None) as batch_op:
        batch_op.drop_column("first_order_amounts")
