"""analytics experiments

Revision ID: 0170
Revises: 0123
Create Date: 2026-12-07 06:42:49.391502
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = "0170"
down_revision = "0123"
branch_labels = None
depends_on = "0060"


def upgrade() -> None:
    op.create_table(
        "analytics_experiments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("arm_a", sa.String(length=16), nullable=False),
        sa.Column("arm_b", sa.String(length=16), nullable=False),
        sa.Column("share_b", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_at", mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", mercato.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'stopped')", name=op.f("ck_analytics_experiments_status")
        ),
        sa.CheckConstraint("arm_a <> arm_b", name=op.f("ck_analytics_experiments_arms_differ")),
        sa.CheckConstraint(
            "share_b BETWEEN 1 AND 99", name=op.f("ck_analytics_experiments_share_b")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_experiments")),
    )
    with op.batch_alter_table("analytics_experiments", schema=None) as batch_op:
        batch_op.create_index(
            "ux_analytics_experiments_running",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    with op.batch_alter_table("analytics_touches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("experiment", sa.String(length=60), nullable=True))
        batch_op.create_index("ix_analytics_touches_experiment", ["experiment"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("analytics_touches", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_touches_experiment")
        batch_op.drop_column("experiment")

    with op.batch_alter_table("analytics_experiments", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_analytics_experiments_running",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    op.drop_table("analytics_experiments")
