"""analytics ad accounts

Revision ID: 0061
Revises: 0060
Create Date: 2026-12-07 01:26:41.306264
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0061'
down_revision = '0060'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analytics_ad_accounts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('base_url', sa.String(length=2048), nullable=False),
    sa.Column('access_token_encrypted', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('pulled_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("platform IN ('meta', 'pinterest')", name=op.f('ck_analytics_ad_accounts_platform')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_ad_accounts')),
    sa.UniqueConstraint('platform', 'account_id', name=op.f('uq_analytics_ad_accounts_platform'))
    )


def downgrade() -> None:
    op.drop_table('analytics_ad_accounts')
