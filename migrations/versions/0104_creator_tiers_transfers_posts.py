"""creators: collection rates and tiers, Stripe Connect transfers, posts tagged with products

Revision ID: 0104
Revises: 0101
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = "0104"
down_revision = "0101"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "collection_commissions", mercato.db.JSONType(), server_default="{}", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("tiers", mercato.db.JSONType(), server_default="[]", nullable=False)
        )
        batch_op.add_column(sa.Column("stripe_account", sa.String(length=255), nullable=True))
    op.create_table(
        "creator_transfers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("payout_id", sa.String(length=40), nullable=False),
        sa.Column("destination", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("transfer_ref", sa.String(length=255), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'refused')", name=op.f("ck_creator_transfers_status")
        ),
        sa.ForeignKeyConstraint(
            ["payout_id"],
            ["creator_payouts.id"],
            name=op.f("fk_creator_transfers_payout_id_creator_payouts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator_transfers")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_creator_transfers_idempotency_key")),
        sa.UniqueConstraint("payout_id", name=op.f("uq_creator_transfers_payout_id")),
    )
    op.create_table(
        "creator_posts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("creator_id", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=100), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("created_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_creator_posts_creator_id_creators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator_posts")),
        sa.UniqueConstraint("reference", name=op.f("uq_creator_posts_reference")),
    )
    op.create_index(
        op.f("ix_creator_posts_creator_id"), "creator_posts", ["creator_id"], unique=False
    )
    op.create_table(
        "creator_post_products",
        sa.Column("post_id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["creator_posts.id"],
            name=op.f("fk_creator_post_products_post_id_creator_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_creator_post_products_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", "product_id", name=op.f("pk_creator_post_products")),
    )
    op.create_index(
        "ix_creator_post_products_product_id",
        "creator_post_products",
        ["product_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_creator_post_products_product_id", table_name="creator_post_products")
    op.drop_table("creator_post_products")
    op.drop_index(op.f("ix_creator_posts_creator_id"), table_name="creator_posts")
    op.drop_table("creator_posts")
    op.drop_table("creator_transfers")
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.drop_column("stripe_account")
        batch_op.drop_column("tiers")
        batch_op.drop_column("collection_commissions")
