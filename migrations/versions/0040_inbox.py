"""inbox: messaging accounts, templates, conversations and messages

Revision ID: 0040
Revises: 0022
Create Date: 2026-12-06 17:06:52.224919
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0040'
down_revision = '0022'
branch_labels = None
depends_on = '0031'


def upgrade() -> None:
    op.create_table('inbox_accounts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('business_id', sa.String(length=64), nullable=True),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('credentials_encrypted', sa.Text(), nullable=False),
    sa.Column('catalog_channel_id', sa.String(length=40), nullable=True),
    sa.Column('automation', mercato.db.JSONType(), nullable=False),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("platform IN ('whatsapp')", name=op.f('ck_inbox_accounts_platform')),
    sa.ForeignKeyConstraint(['catalog_channel_id'], ['channels.id'], name=op.f('fk_inbox_accounts_catalog_channel_id_channels'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_accounts')),
    sa.UniqueConstraint('name', name=op.f('uq_inbox_accounts_name')),
    sa.UniqueConstraint('platform', 'external_id', name=op.f('uq_inbox_accounts_platform'))
    )
    op.create_table('inbox_conversations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('contact_id', sa.String(length=64), nullable=False),
    sa.Column('contact_name', sa.String(length=255), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('customer_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('unread', sa.Integer(), nullable=False),
    sa.Column('last_inbound_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_message_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('marketing_consent_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('marketing_consent_source', sa.String(length=255), nullable=True),
    sa.Column('marketing_opt_out_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_reply_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('csat_asked_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('csat_score', sa.Integer(), nullable=True),
    sa.Column('csat_agent', sa.String(length=100), nullable=True),
    sa.Column('away_sent_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'pending', 'snoozed', 'resolved')", name=op.f('ck_inbox_conversations_status')),
    sa.ForeignKeyConstraint(['account_id'], ['inbox_accounts.id'], name=op.f('fk_inbox_conversations_account_id_inbox_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_inbox_conversations_customer_id_customers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_conversations')),
    sa.UniqueConstraint('account_id', 'contact_id', name=op.f('uq_inbox_conversations_account_id'))
    )
    with op.batch_alter_table('inbox_conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_conversations_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_conversations_phone'), ['phone'], unique=False)
        batch_op.create_index('ix_inbox_conversations_status_last', ['status', 'last_message_at'], unique=False)

    op.create_table('inbox_templates',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=True),
    sa.Column('components', mercato.db.JSONType(), nullable=False),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['inbox_accounts.id'], name=op.f('fk_inbox_templates_account_id_inbox_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_templates')),
    sa.UniqueConstraint('account_id', 'name', 'language', name=op.f('uq_inbox_templates_account_id'))
    )
    op.create_table('inbox_messages',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('conversation_id', sa.String(length=40), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('platform_message_id', sa.String(length=255), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('content', mercato.db.JSONType(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=True),
    sa.Column('error', mercato.db.JSONType(), nullable=True),
    sa.Column('at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_inbox_messages_direction')),
    sa.CheckConstraint("status IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')", name=op.f('ck_inbox_messages_status')),
    sa.ForeignKeyConstraint(['account_id'], ['inbox_accounts.id'], name=op.f('fk_inbox_messages_account_id_inbox_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['inbox_conversations.id'], name=op.f('fk_inbox_messages_conversation_id_inbox_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_messages')),
    sa.UniqueConstraint('account_id', 'platform_message_id', name=op.f('uq_inbox_messages_account_id'))
    )
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_messages_conversation_at', ['conversation_id', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_messages_conversation_at')

    op.drop_table('inbox_messages')
    op.drop_table('inbox_templates')
    with op.batch_alter_table('inbox_conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_conversations_status_last')
        batch_op.drop_index(batch_op.f('ix_inbox_conversations_phone'))
        batch_op.drop_index(batch_op.f('ix_inbox_conversations_customer_id'))

    op.drop_table('inbox_conversations')
    op.drop_table('inbox_accounts')
