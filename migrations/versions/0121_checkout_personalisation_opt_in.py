"""checkout personalisation opt-in

Revision ID: 0121
Revises: 0120
Create Date: 2026-12-07 04:23:23.329004
"""

import sqlalchemy as sa
from alembic import op



revision = "0121"
down_revision = "0120"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "personalisation_opt_in", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.drop_column("personalisation_opt_in")
