"""channel change log: what changed since each channel's last publish

Revision ID: 0031
Revises: 0026
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0031'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'channel_changes',
        sa.Column('channel_id', sa.String(length=40), nullable=False),
        sa.Column('variant_id', sa.String(length=40), nullable=False),
        sa.Column('product_id', sa.String(length=40), nullable=True),
        sa.Column('stamp', sa.BigInteger(), nullable=False),
        sa.Column('changed_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['channel_id'], ['channels.id'], name=op.f('fk_channel_changes_channel_id_channels'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('channel_id', 'variant_id', name=op.f('pk_channel_changes')),
    )
    # Existing channels compare the whole catalog once more, then follow the change log.
    op.add_column('channels', sa.Column('compared_for', sa.String(length=64), nullable=True))
    op.create_index(
        'ix_channel_listings_channel_product', 'channel_listings', ['channel_id', 'product_id']
    )


def downgrade() -> None:
    op.drop_index('ix_channel_listings_channel_product', table_name='channel_listings')
    with op.batch_alter_table('channels') as batch:
        batch.drop_column('compared_for')
    op.drop_table('channel_changes')
