"""order intake, returns and polling cursors

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-24 00:00:05.552180
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0010'
down_revision = '0007'
branch_labels = None
# Its tables point at channels (0005), on another branch.
depends_on = '0005'


def upgrade() -> None:
    op.create_table('inbound_events',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('channel_id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('received_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('received', 'processed', 'failed')", name=op.f('ck_inbound_events_state')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_inbound_events_channel_id_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_events')),
    sa.UniqueConstraint('channel_id', 'event_id', name=op.f('uq_inbound_events_channel_id'))
    )
    op.create_table('order_returns',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lines', mercato.db.JSONType(), nullable=False),
    sa.Column('restock', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('refund_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('requested', 'received', 'refunded')", name=op.f('ck_order_returns_status')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_returns_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_returns'))
    )
    with op.batch_alter_table('order_returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_returns_order_id'), ['order_id'], unique=False)

    op.create_table('order_sync_cursors',
    sa.Column('channel_id', sa.String(length=40), nullable=False),
    sa.Column('updated_since', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('polled_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_order_sync_cursors_channel_id_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('channel_id', name=op.f('pk_order_sync_cursors'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_status', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('external_updated_at', mercato.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('stock_state', sa.String(length=16), nullable=False, server_default='none'))



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('stock_state')
        batch_op.drop_column('external_updated_at')
        batch_op.drop_column('external_status')

    op.drop_table('order_sync_cursors')
    with op.batch_alter_table('order_returns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_returns_order_id'))

    op.drop_table('order_returns')
    op.drop_table('inbound_events')
