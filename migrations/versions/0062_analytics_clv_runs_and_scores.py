"""analytics clv runs and scores

Revision ID: 0062
Revises: 0061
Create Date: 2026-12-07 09:41:34.498895
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = "0062"
down_revision = "0061"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_clv_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("fitted_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("horizon_months", sa.Integer(), nullable=False),
        sa.Column("monthly_discount", sa.Float(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("repeat_customers", sa.Integer(), nullable=False),
        sa.Column("params", mercato.db.JSONType(), nullable=True),
        sa.Column("holdout", mercato.db.JSONType(), nullable=True),
        sa.CheckConstraint(
            "status IN ('fitted', 'not_enough_data', 'unavailable')",
            name=op.f("ck_analytics_clv_runs_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_clv_runs")),
    )
    with op.batch_alter_table("analytics_clv_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_clv_runs_currency_at", ["currency", "fitted_at"], unique=False
        )

    op.create_table(
        "analytics_clv_scores",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("age_days", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("expected_purchases", sa.Float(), nullable=False),
        sa.Column("p_alive", sa.Float(), nullable=False),
        sa.Column(
            "expected_spend", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("clv", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["analytics_clv_runs.id"],
            name=op.f("fk_analytics_clv_scores_run_id_analytics_clv_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "customer_id", name=op.f("pk_analytics_clv_scores")),
    )
    with op.batch_alter_table("analytics_clv_scores", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_clv_scores_customer", ["customer_id"], unique=False)
        batch_op.create_index("ix_analytics_clv_scores_run_clv", ["run_id", "clv"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("analytics_clv_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_clv_scores_run_clv")
        batch_op.drop_index("ix_analytics_clv_scores_customer")

    op.drop_table("analytics_clv_scores")
    with op.batch_alter_table("analytics_clv_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_clv_runs_currency_at")

    op.drop_table("analytics_clv_runs")
