"""live admissions given back when their checkout expires unpaid

Revision ID: 0180
Revises: 0090, 0171
Create Date: 2026-12-07 19:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0180"
down_revision = ("0090", "0171")
branch_labels = None
depends_on = None

OLD = ("admitted", "checked_out", "lapsed")
NEW = ("admitted", "checked_out", "lapsed", "abandoned")


def upgrade() -> None:
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admission_ticket", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_checkouts_admission_ticket"), ["admission_ticket"], unique=False
        )
    with op.batch_alter_table("live_admissions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_live_admissions_state"), type_="check")
        batch_op.create_check_constraint("state", f"state IN {NEW}")


def downgrade() -> None:
    op.execute("UPDATE live_admissions SET state = 'lapsed' WHERE state = 'abandoned'")
    with op.batch_alter_table("live_admissions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_live_admissions_state"), type_="check")
        batch_op.create_check_constraint("state", f"state IN {OLD}")
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkouts_admission_ticket"))
        batch_op.drop_column("admission_ticket")
