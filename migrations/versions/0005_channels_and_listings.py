"""channels and listings

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-23 23:18:34.540673
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0005'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channels',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('credentials_encrypted', sa.Text(), nullable=False),
    sa.Column('settings', mercato.db.JSONType(), nullable=False),
    sa.Column('feed_token_hash', sa.String(length=64), nullable=True),
    sa.Column('last_synced_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('meta', 'google', 'tiktok', 'pinterest', 'snapchat')", name=op.f('ck_channels_kind')),
    sa.CheckConstraint("status IN ('active', 'needs_reauth', 'paused')", name=op.f('ck_channels_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels')),
    sa.UniqueConstraint('name', name=op.f('uq_channels_name'))
    )
    op.create_table('channel_listings',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('channel_id', sa.String(length=40), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('item_id', sa.String(length=100), nullable=False),
    sa.Column('platform_ref', sa.String(length=100), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('pushed_hash', sa.String(length=64), nullable=True),
    sa.Column('pushed_availability', sa.String(length=40), nullable=True),
    sa.Column('pushed_summary', mercato.db.JSONType(), nullable=True),
    sa.Column('batch_ref', sa.String(length=200), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('issues', mercato.db.JSONType(), nullable=False),
    sa.Column('pushed_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("verdict IN ('pending', 'approved', 'rejected', 'warning', 'deleted')", name=op.f('ck_channel_listings_verdict')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_channel_listings_channel_id_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_listings')),
    sa.UniqueConstraint('channel_id', 'item_id', name='uq_channel_listings_item'),
    sa.UniqueConstraint('channel_id', 'variant_id', name=op.f('uq_channel_listings_channel_id'))
    )
    with op.batch_alter_table('channel_listings', schema=None) as batch_op:
        batch_op.create_index('ix_channel_listings_channel_verdict', ['channel_id', 'verdict'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('channel_listings', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_listings_channel_verdict')

    op.drop_table('channel_listings')
    op.drop_table('channels')
