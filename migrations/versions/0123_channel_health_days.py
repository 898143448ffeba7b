"""channel health days

Revision ID: 0123
Revises: 0122
Create Date: 2026-12-07 04:58:17.031362
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = "0123"
down_revision = "0122"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_health_days",
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("warning", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("counted_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_health_days_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", "day", name=op.f("pk_channel_health_days")),
    )


def downgrade() -> None:
    op.drop_table("channel_health_days")
