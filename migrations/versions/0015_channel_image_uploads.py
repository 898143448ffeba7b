"""channel image uploads (TikTok Shop image URIs by content hash)

Revision ID: 0015
Revises: 0005
Create Date: 2026-12-06 09:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0015'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_image_uploads',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('channel_id', sa.String(length=40), nullable=False),
    sa.Column('source_url_hash', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('source_url', sa.Text(), nullable=False),
    sa.Column('uri', sa.String(length=500), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_channel_image_uploads_channel_id_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_image_uploads')),
    sa.UniqueConstraint('channel_id', 'source_url_hash', name='uq_channel_image_uploads_source')
    )
    with op.batch_alter_table('channel_image_uploads', schema=None) as batch_op:
        batch_op.create_index('ix_channel_image_uploads_content', ['channel_id', 'content_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('channel_image_uploads', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_image_uploads_content')

    op.drop_table('channel_image_uploads')
