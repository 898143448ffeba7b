"""offers: one ledger of offers, codes, redemptions and caps; the discount codes made
before move into it (each code its own offer with one public code) and their table goes

Revision ID: 0100
Revises: 0070
"""

import sqlalchemy as sa
from alembic import op

import mercato.db

revision = "0100"
down_revision = "0070"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("tiers", mercato.db.JSONType(), nullable=False),
        sa.Column("buy_quantity", sa.Integer(), nullable=True),
        sa.Column("get_quantity", sa.Integer(), nullable=True),
        sa.Column("product_ids", mercato.db.JSONType(), nullable=False),
        sa.Column("variant_ids", mercato.db.JSONType(), nullable=False),
        sa.Column("channels", mercato.db.JSONType(), nullable=False),
        sa.Column("segment_id", sa.String(length=40), nullable=True),
        sa.Column("first_order_only", sa.Boolean(), nullable=False),
        sa.Column(
            "min_subtotal", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("combinable", sa.Boolean(), nullable=False),
        sa.Column("starts_at", mercato.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", mercato.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("per_customer", sa.Integer(), nullable=True),
        sa.Column("creator_id", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('percentage', 'fixed', 'free_shipping', 'buy_x_get_y', 'tiered')",
            name=op.f("ck_offers_kind"),
        ),
        sa.CheckConstraint(
            "max_uses IS NULL OR used <= max_uses", name=op.f("ck_offers_used_within_cap")
        ),
        sa.CheckConstraint("used >= 0", name=op.f("ck_offers_used_not_negative")),
        sa.CheckConstraint("value >= 0", name=op.f("ck_offers_value_not_negative")),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["customer_segments.id"],
            name=op.f("fk_offers_segment_id_customer_segments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_creator_id"), ["creator_id"], unique=False)

    op.create_table(
        "offer_codes",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("offer_id", sa.String(length=40), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=40), nullable=True),
        sa.Column("created_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "max_uses IS NULL OR used <= max_uses", name=op.f("ck_offer_codes_used_within_cap")
        ),
        sa.CheckConstraint("used >= 0", name=op.f("ck_offer_codes_used_not_negative")),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_offer_codes_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_offer_codes")),
    )
    with op.batch_alter_table("offer_codes", schema=None) as batch_op:
        batch_op.create_index("ix_offer_codes_offer_id_code", ["offer_id", "code"], unique=False)

    op.create_table(
        "offer_customer_uses",
        sa.Column("offer_id", sa.String(length=40), nullable=False),
        sa.Column("customer_key", sa.String(length=80), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_offer_customer_uses_used_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_offer_customer_uses_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_offer_customer_uses_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("offer_id", "customer_key", name=op.f("pk_offer_customer_uses")),
    )
    with op.batch_alter_table("offer_customer_uses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offer_customer_uses_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "offer_redemptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("offer_id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("customer_key", sa.String(length=80), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("checkout_id", sa.String(length=40), nullable=True),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("subtotal", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("location_id", sa.String(length=100), nullable=True),
        sa.Column("terminal_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", mercato.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_at", mercato.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "channel IN ('storefront', 'inbox', 'pos', 'import')",
            name=op.f("ck_offer_redemptions_channel"),
        ),
        sa.CheckConstraint(
            "status IN ('held', 'redeemed', 'voided')", name=op.f("ck_offer_redemptions_status")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_offer_redemptions_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_offer_redemptions_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_offer_redemptions_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_redemptions")),
        sa.UniqueConstraint("channel", "reference", "code", name="uq_offer_redemptions_reference"),
    )
    with op.batch_alter_table("offer_redemptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offer_redemptions_checkout_id"), ["checkout_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_offer_redemptions_code"), ["code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_offer_redemptions_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_offer_redemptions_offer_id_status", ["offer_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_offer_redemptions_order_id"), ["order_id"], unique=False
        )

    _move_discount_codes()
    op.drop_table("discount_codes")


def _move_discount_codes() -> None:
    """Each discount code becomes an offer of its kind with that one public code."""
    bind = op.get_bind()
    old = sa.table(
        "discount_codes",
        *(sa.column(c) for c in ("code", "kind", "value", "currency", "active")),
        sa.column("starts_at", mercato.db.UTCDateTime()),
        sa.column("ends_at", mercato.db.UTCDateTime()),
        sa.column("note", sa.Text()),
        sa.column("created_at", mercato.db.UTCDateTime()),
    )
    offers = sa.table(
        "offers",
        *(
            sa.column(c)
            for c in (
                "id",
                "name",
                "kind",
                "value",
                "currency",
                "first_order_only",
                "combinable",
                "active",
                "used",
                "note",
            )
        ),
        *(
            sa.column(c, mercato.db.JSONType())
            for c in ("tiers", "product_ids", "variant_ids", "channels")
        ),
        *(sa.column(c, mercato.db.UTCDateTime()) for c in ("starts_at", "ends_at", "created_at")),
    )
    codes = sa.table(
        "offer_codes",
        sa.column("code"),
        sa.column("offer_id"),
        sa.column("used"),
        sa.column("created_at", mercato.db.UTCDateTime()),
    )
    for row in bind.execute(sa.select(old)).mappings().all():
        offer_id = mercato.db.new_id("off")
        bind.execute(
            offers.insert().values(
                id=offer_id,
                name=row["code"],
                kind=row["kind"],
                value=row["value"],
                currency=row["currency"],
                tiers=[],
                product_ids=[],
                variant_ids=[],
                channels=[],
                first_order_only=False,
                combinable=False,
                starts_at=row["starts_at"],
                ends_at=row["ends_at"],
                active=row["active"],
                used=0,
                note=row["note"],
                created_at=row["created_at"],
            )
        )
        bind.execute(
            codes.insert().values(
                code=row["code"], offer_id=offer_id, used=0, created_at=row["created_at"]
            )
        )


def downgrade() -> None:
    op.create_table(
        "discount_codes",
        sa.Column("code", sa.VARCHAR(length=64), nullable=False),
        sa.Column("kind", sa.VARCHAR(length=16), nullable=False),
        sa.Column("value", sa.INTEGER(), nullable=False),
        sa.Column("currency", sa.VARCHAR(length=3), nullable=True),
        sa.Column("active", sa.BOOLEAN(), nullable=False),
        sa.Column("starts_at", sa.DATETIME(), nullable=True),
        sa.Column("ends_at", sa.DATETIME(), nullable=True),
        sa.Column("note", sa.TEXT(), nullable=True),
        sa.Column("created_at", sa.DATETIME(), nullable=False),
        sa.CheckConstraint("kind IN ('percentage', 'fixed')", name=op.f("ck_discount_codes_kind")),
        sa.CheckConstraint("value > 0", name=op.f("ck_discount_codes_value_positive")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_discount_codes")),
    )
    with op.batch_alter_table("offer_redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offer_redemptions_order_id"))
        batch_op.drop_index("ix_offer_redemptions_offer_id_status")
        batch_op.drop_index(batch_op.f("ix_offer_redemptions_customer_id"))
        batch_op.drop_index(batch_op.f("ix_offer_redemptions_code"))
        batch_op.drop_index(batch_op.f("ix_offer_redemptions_checkout_id"))

    op.drop_table("offer_redemptions")
    with op.batch_alter_table("offer_customer_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offer_customer_uses_customer_id"))

    op.drop_table("offer_customer_uses")
    with op.batch_alter_table("offer_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_offer_codes_offer_id_code")

    op.drop_table("offer_codes")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_creator_id"))

    op.drop_table("offers")
