"""payments recorded before the provider is asked, attached to their order

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-06 09:10:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0013'
branch_labels = None
depends_on = None

OLD = ('processing', 'requires_action', 'succeeded', 'declined', 'refunded', 'partially_refunded')
NEW = (
    'pending', 'processing', 'requires_action', 'succeeded', 'declined', 'refund_due', 'voided',
    'refunded', 'partially_refunded',
)


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payments_status'), type_='check')
        batch_op.create_check_constraint('status', f"status IN {NEW}")
        batch_op.add_column(sa.Column('order_id', sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payments_order_id_orders'), 'orders', ['order_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_payments_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_payments_status_updated_at', ['status', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_status_updated_at')
        batch_op.drop_index(batch_op.f('ix_payments_order_id'))
        batch_op.drop_constraint(batch_op.f('fk_payments_order_id_orders'), type_='foreignkey')
        batch_op.drop_column('order_id')
        batch_op.drop_constraint(batch_op.f('ck_payments_status'), type_='check')
        batch_op.create_check_constraint('status', f"status IN {OLD}")
