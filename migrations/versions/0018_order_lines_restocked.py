"""order lines count the unshipped units put back on hand

Revision ID: 0018
Revises: 0010
Create Date: 2026-12-06 09:30:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('restocked_quantity', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint('restocked_within_unshipped', 'restocked_quantity >= 0 AND restocked_quantity + fulfilled_quantity <= quantity')


def downgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_order_lines_restocked_within_unshipped'), type_='check')
        batch_op.drop_column('restocked_quantity')
