"""catalog: uploaded images, collections; channels: variants kept off a channel

Revision ID: 0160
Revises: 0123
Create Date: 2026-12-07 06:50:00
"""

import sqlalchemy as sa
from alembic import op

import mercato.db

revision = "0160"
down_revision = "0123"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_files",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("extension", sa.String(length=8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_files")),
    )
    op.create_table(
        "collections",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("handle", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description_html", sa.Text(), nullable=False),
        sa.Column("rules", mercato.db.JSONType(), nullable=False),
        sa.Column("created_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("handle", name=op.f("uq_collections_handle")),
    )
    op.create_table(
        "collection_products",
        sa.Column("collection_id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_collection_products_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_collection_products_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("collection_id", "product_id", name=op.f("pk_collection_products")),
    )
    op.create_index(
        "ix_collection_products_product", "collection_products", ["product_id"], unique=False
    )
    op.create_table(
        "channel_exclusions",
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("variant_id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_exclusions_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name=op.f("fk_channel_exclusions_variant_id_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", "variant_id", name=op.f("pk_channel_exclusions")),
    )
    op.create_index(
        "ix_channel_exclusions_product",
        "channel_exclusions",
        ["channel_id", "product_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_channel_exclusions_product", table_name="channel_exclusions")
    op.drop_table("channel_exclusions")
    op.drop_index("ix_collection_products_product", table_name="collection_products")
    op.drop_table("collection_products")
    op.drop_table("collections")
    op.drop_table("media_files")
