"""recommendation product sets

Revision ID: 0171
Revises: 0170
Create Date: 2026-12-07 07:15:54.849842
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = "0171"
down_revision = "0170"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recommendation_product_sets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("segment_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("product_ids", mercato.db.JSONType(), nullable=False),
        sa.Column("item_ids", mercato.db.JSONType(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("pushed_at", mercato.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'synced', 'failed')",
            name=op.f("ck_recommendation_product_sets_status"),
        ),
        sa.CheckConstraint(
            "size BETWEEN 1 AND 500", name=op.f("ck_recommendation_product_sets_size")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_recommendation_product_sets_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["customer_segments.id"],
            name=op.f("fk_recommendation_product_sets_segment_id_customer_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_product_sets")),
        sa.UniqueConstraint(
            "channel_id", "segment_id", name=op.f("uq_recommendation_product_sets_channel_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("recommendation_product_sets")
