"""Markets name the payment method types their buyers are offered (card, iDEAL, Pix...);
a payment records the method type it was paid with.

Revision ID: 0140
Revises: 0110
Create Date: 2026-12-07 07:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0140'
down_revision = '0110'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('markets', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'payment_methods',
                mercato.db.JSONType(),
                server_default=sa.text("'[\"card\"]'"),
                nullable=False,
            )
        )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('method', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('method')
    with op.batch_alter_table('markets', schema=None) as batch_op:
        batch_op.drop_column('payment_methods')
