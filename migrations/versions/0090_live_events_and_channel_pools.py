"""live events, channel pools and drop admission

Revision ID: 0090
Revises: 0020
Create Date: 2026-12-07 03:49:54.136961
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0090'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inventory_pool_moves',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.Column('from_channel', sa.String(length=100), nullable=True),
    sa.Column('to_channel', sa.String(length=100), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_inventory_pool_moves_quantity_positive')),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_inventory_pool_moves_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_pool_moves'))
    )
    with op.batch_alter_table('inventory_pool_moves', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_pool_moves_variant_id_created_at', ['variant_id', 'created_at'], unique=False)

    op.create_table('inventory_pools',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.Column('sold', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('held >= 0', name=op.f('ck_inventory_pools_held_not_negative')),
    sa.CheckConstraint('sold >= 0', name=op.f('ck_inventory_pools_sold_not_negative')),
    sa.CheckConstraint('units >= 0', name=op.f('ck_inventory_pools_units_not_negative')),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_inventory_pools_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_pools')),
    sa.UniqueConstraint('variant_id', 'channel', name=op.f('uq_inventory_pools_variant_id'))
    )
    op.create_table('live_events',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=True),
    sa.Column('scheduled_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pinned_variant_id', sa.String(length=40), nullable=True),
    sa.Column('live_price', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('per_buyer_limit', sa.Integer(), nullable=False),
    sa.Column('auto_rebalance', sa.Boolean(), nullable=False),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('scheduled', 'live', 'ended')", name=op.f('ck_live_events_state')),
    sa.CheckConstraint('live_price IS NULL OR live_price >= 0', name=op.f('ck_live_events_live_price_not_negative')),
    sa.ForeignKeyConstraint(['pinned_variant_id'], ['variants.id'], name=op.f('fk_live_events_pinned_variant_id_variants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_events'))
    )
    op.create_table('live_admissions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.Column('ticket', sa.String(length=64), nullable=False),
    sa.Column('buyer', sa.String(length=100), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('admitted', 'checked_out', 'lapsed')", name=op.f('ck_live_admissions_state')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_live_admissions_quantity_positive')),
    sa.ForeignKeyConstraint(['event_id'], ['live_events.id'], name=op.f('fk_live_admissions_event_id_live_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_live_admissions_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_admissions')),
    sa.UniqueConstraint('event_id', 'ticket', name=op.f('uq_live_admissions_event_id'))
    )
    with op.batch_alter_table('live_admissions', schema=None) as batch_op:
        batch_op.create_index('ix_live_admissions_event_id_buyer', ['event_id', 'buyer'], unique=False)

    op.create_table('live_event_moments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=True),
    sa.Column('channel', sa.String(length=100), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('created', 'started', 'pinned', 'unpinned', 'priced', 'sale', 'held', 'fenced', 'ended')", name=op.f('ck_live_event_moments_kind')),
    sa.ForeignKeyConstraint(['event_id'], ['live_events.id'], name=op.f('fk_live_event_moments_event_id_live_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_event_moments'))
    )
    with op.batch_alter_table('live_event_moments', schema=None) as batch_op:
        batch_op.create_index('ix_live_event_moments_event_id_created_at', ['event_id', 'created_at'], unique=False)

    op.create_table('live_event_platforms',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['live_events.id'], name=op.f('fk_live_event_platforms_event_id_live_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_event_platforms')),
    sa.UniqueConstraint('event_id', 'channel', name=op.f('uq_live_event_platforms_event_id'))
    )
    op.create_table('live_event_products',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['live_events.id'], name=op.f('fk_live_event_products_event_id_live_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_live_event_products_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_event_products')),
    sa.UniqueConstraint('event_id', 'variant_id', name=op.f('uq_live_event_products_event_id'))
    )
    op.create_table('live_gate_buyers',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('buyer', sa.String(length=100), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.CheckConstraint('taken >= 0', name=op.f('ck_live_gate_buyers_taken_not_negative')),
    sa.ForeignKeyConstraint(['event_id'], ['live_events.id'], name=op.f('fk_live_gate_buyers_event_id_live_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_gate_buyers')),
    sa.UniqueConstraint('event_id', 'buyer', name=op.f('uq_live_gate_buyers_event_id'))
    )
    op.create_table('live_gate_counters',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('admitted', sa.Integer(), nullable=False),
    sa.CheckConstraint('remaining >= 0', name=op.f('ck_live_gate_counters_remaining_not_negative')),
    sa.ForeignKeyConstraint(['event_id'], ['live_events.id'], name=op.f('fk_live_gate_counters_event_id_live_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_live_gate_counters_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_gate_counters')),
    sa.UniqueConstraint('event_id', 'variant_id', name=op.f('uq_live_gate_counters_event_id'))
    )


def downgrade() -> None:
    op.drop_table('live_gate_counters')
    op.drop_table('live_gate_buyers')
    op.drop_table('live_event_products')
    op.drop_table('live_event_platforms')
    with op.batch_alter_table('live_event_moments', schema=None) as batch_op:
        batch_op.drop_index('ix_live_event_moments_event_id_created_at')

    op.drop_table('live_event_moments')
    with op.batch_alter_table('live_admissions', schema=None) as batch_op:
        batch_op.drop_index('ix_live_admissions_event_id_buyer')

    op.drop_table('live_admissions')
    op.drop_table('live_events')
    op.drop_table('inventory_pools')
    with op.batch_alter_table('inventory_pool_moves', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_pool_moves_variant_id_created_at')

    op.drop_table('inventory_pool_moves')
