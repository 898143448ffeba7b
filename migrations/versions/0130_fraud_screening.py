"""fraud screening

Revision ID: 0130
Revises: 0123
Create Date: 2026-12-07 07:15:00.000000
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = "0130"
down_revision = "0123"
branch_labels = None
depends_on = None

AMOUNT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fraud_settings",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("hold_at", sa.Integer(), nullable=False),
        sa.Column("cancel_at", sa.Integer(), nullable=True),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("limits", mercato.db.JSONType(), nullable=False),
        sa.Column("weights", mercato.db.JSONType(), nullable=False),
        sa.Column("first_order_amount", AMOUNT, nullable=False),
        sa.Column("updated_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint("hold_at > 0", name=op.f("ck_fraud_settings_hold_at_positive")),
        sa.CheckConstraint(
            "cancel_at IS NULL OR cancel_at > hold_at",
            name=op.f("ck_fraud_settings_cancel_above_hold"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_settings")),
    )
    op.create_table(
        "fraud_assessments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("order_number", AMOUNT, nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("card_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("signals", mercato.db.JSONType(), nullable=False),
        sa.Column("reasons", mercato.db.JSONType(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", mercato.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "decision IN ('approve', 'hold', 'cancel')",
            name=op.f("ck_fraud_assessments_decision"),
        ),
        sa.CheckConstraint(
            "status IN ('passed', 'held', 'approved', 'cancelled')",
            name=op.f("ck_fraud_assessments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_fraud_assessments_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_assessments")),
        sa.UniqueConstraint("order_id", name=op.f("uq_fraud_assessments_order_id")),
    )
    with op.batch_alter_table("fraud_assessments", schema=None) as batch_op:
        for name, columns in (
            ("ix_fraud_assessments_status_created", ["status", "created_at"]),
            ("ix_fraud_assessments_email_created", ["email", "created_at"]),
            ("ix_fraud_assessments_phone_created", ["phone", "created_at"]),
            ("ix_fraud_assessments_card_created", ["card_fingerprint", "created_at"]),
            ("ix_fraud_assessments_ip_created", ["ip", "created_at"]),
            ("ix_fraud_assessments_device_created", ["device_id", "created_at"]),
        ):
            batch_op.create_index(name, columns, unique=False)
    op.create_table(
        "fraud_decisions",
        sa.Column("id", AMOUNT, autoincrement=True, nullable=False),
        sa.Column("assessment_id", sa.String(length=40), nullable=False),
        sa.Column("at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["fraud_assessments.id"],
            name=op.f("fk_fraud_decisions_assessment_id_fraud_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_decisions")),
    )
    with op.batch_alter_table("fraud_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fraud_decisions_assessment_id"), ["assessment_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("fraud_decisions")
    op.drop_table("fraud_assessments")
    op.drop_table("fraud_settings")
