"""analytics touch ledger

Revision ID: 0060
Revises: 0044
Create Date: 2026-12-06 23:02:04.208846
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0060'
down_revision = '0044'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analytics_ad_spend',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('campaign', sa.String(length=255), nullable=False),
    sa.Column('amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('imported_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_analytics_ad_spend_amount_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_ad_spend')),
    sa.UniqueConstraint('day', 'channel', 'campaign', 'currency', name=op.f('uq_analytics_ad_spend_day'))
    )
    op.create_table('analytics_touches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=True),
    sa.Column('campaign', sa.String(length=255), nullable=True),
    sa.Column('post', sa.String(length=255), nullable=True),
    sa.Column('creator', sa.String(length=255), nullable=True),
    sa.Column('conversation_id', sa.String(length=40), nullable=True),
    sa.Column('utm_source', sa.String(length=255), nullable=True),
    sa.Column('utm_medium', sa.String(length=255), nullable=True),
    sa.Column('utm_campaign', sa.String(length=255), nullable=True),
    sa.Column('utm_content', sa.String(length=255), nullable=True),
    sa.Column('utm_term', sa.String(length=255), nullable=True),
    sa.Column('visitor_id', sa.String(length=64), nullable=True),
    sa.Column('customer_id', sa.String(length=40), nullable=True),
    sa.Column('order_id', sa.String(length=40), nullable=True),
    sa.Column('product_id', sa.String(length=40), nullable=True),
    sa.Column('value', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('recorded_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('impression', 'click', 'reach', 'interaction', 'visit', 'product_view', 'add_to_cart', 'checkout_started', 'purchase', 'refund', 'message', 'comment')", name=op.f('ck_analytics_touches_kind')),
    sa.CheckConstraint("source IN ('browser', 'server', 'import')", name=op.f('ck_analytics_touches_source')),
    sa.CheckConstraint('count >= 0', name=op.f('ck_analytics_touches_count_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_touches')),
    sa.UniqueConstraint('event_id', name=op.f('uq_analytics_touches_event_id'))
    )
    with op.batch_alter_table('analytics_touches', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_touches_at', ['at'], unique=False)
        batch_op.create_index('ix_analytics_touches_customer_at', ['customer_id', 'at'], unique=False)
        batch_op.create_index('ix_analytics_touches_kind_at', ['kind', 'at'], unique=False)
        batch_op.create_index('ix_analytics_touches_order_id', ['order_id'], unique=False)
        batch_op.create_index('ix_analytics_touches_visitor_at', ['visitor_id', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('analytics_touches', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_touches_visitor_at')
        batch_op.drop_index('ix_analytics_touches_order_id')
        batch_op.drop_index('ix_analytics_touches_kind_at')
        batch_op.drop_index('ix_analytics_touches_customer_at')
        batch_op.drop_index('ix_analytics_touches_at')

    op.drop_table('analytics_touches')
    op.drop_table('analytics_ad_spend')
