"""inbox: notes, labels, canned replies, waiting since

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-06 20:36:02.741305
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox_canned_replies',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_canned_replies')),
    sa.UniqueConstraint('name', name=op.f('uq_inbox_canned_replies_name'))
    )
    op.create_table('inbox_conversation_labels',
    sa.Column('conversation_id', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['inbox_conversations.id'], name=op.f('fk_inbox_conversation_labels_conversation_id_inbox_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id', 'label', name=op.f('pk_inbox_conversation_labels'))
    )
    with op.batch_alter_table('inbox_conversation_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_conversation_labels_label'), ['label'], unique=False)

    with op.batch_alter_table('inbox_conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_since', mercato.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_inbox_conversations_waiting_since'), ['waiting_since'], unique=False)
    # Whoever wrote last and got no answer yet has been waiting since their message.
    op.execute(
        "UPDATE inbox_conversations SET waiting_since = last_inbound_at"
        " WHERE status != 'resolved' AND last_inbound_at IS NOT NULL AND NOT EXISTS ("
        "  SELECT 1 FROM inbox_messages m WHERE m.conversation_id = inbox_conversations.id"
        "  AND m.direction = 'out' AND m.at >= inbox_conversations.last_inbound_at)"
    )
    with op.batch_alter_table('inbox_messages') as batch_op:
        batch_op.alter_column(
            'direction', existing_type=sa.String(length=3), type_=sa.String(length=4)
        )
        batch_op.drop_constraint(op.f('ck_inbox_messages_direction'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_inbox_messages_direction'), "direction IN ('in', 'out', 'note')"
        )


def downgrade() -> None:
    op.execute("DELETE FROM inbox_messages WHERE direction = 'note'")
    with op.batch_alter_table('inbox_messages') as batch_op:
        batch_op.drop_constraint(op.f('ck_inbox_messages_direction'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_inbox_messages_direction'), "direction IN ('in', 'out')"
        )
        batch_op.alter_column(
            'direction', existing_type=sa.String(length=4), type_=sa.String(length=3)
        )
    with op.batch_alter_table('inbox_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_conversations_waiting_since'))
        batch_op.drop_column('waiting_since')

    with op.batch_alter_table('inbox_conversation_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_conversation_labels_label'))

    op.drop_table('inbox_conversation_labels')
    op.drop_table('inbox_canned_replies')
