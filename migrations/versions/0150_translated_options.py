"""Product translations also hold the option names and option values in their locale.

Revision ID: 0150
Revises: 0123
Create Date: 2026-12-07 06:45:00
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = "0150"
down_revision = "0123"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "product_translations", sa.Column("options", mercato.db.JSONType(), nullable=True)
    )
    op.add_column(
        "product_translations", sa.Column("option_values", mercato.db.JSONType(), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("product_translations") as batch:
        batch.drop_column("option_values")
        batch.drop_column("options")
