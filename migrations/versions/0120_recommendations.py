"""recommendations

Revision ID: 0120
Revises: 0070
Create Date: 2026-12-07 03:42:00.636965
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = "0120"
down_revision = "0070"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recommendation_versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", mercato.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("orders_read", sa.Integer(), nullable=False),
        sa.Column("buyers_read", sa.Integer(), nullable=False),
        sa.Column("params", mercato.db.JSONType(), nullable=False),
        sa.Column("evaluation", mercato.db.JSONType(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('training', 'ready', 'failed')",
            name=op.f("ck_recommendation_versions_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_versions")),
    )
    op.create_table(
        "recommendation_rules",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("list", sa.String(length=16), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("created_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('exclude', 'boost', 'pin')", name=op.f("ck_recommendation_rules_action")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_recommendation_rules_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_rules")),
    )
    with op.batch_alter_table("recommendation_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recommendation_rules_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "recommendations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("version_id", sa.String(length=40), nullable=False),
        sa.Column("list", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "list IN ('fbt', 'similar', 'popular', 'personal')",
            name=op.f("ck_recommendations_list"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_recommendations_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["recommendation_versions.id"],
            name=op.f("fk_recommendations_version_id_recommendation_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
    )
    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recommendations_lookup", ["version_id", "list", "subject", "rank"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.drop_index("ix_recommendations_lookup")

    op.drop_table("recommendations")
    with op.batch_alter_table("recommendation_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recommendation_rules_product_id"))

    op.drop_table("recommendation_rules")
    op.drop_table("recommendation_versions")
