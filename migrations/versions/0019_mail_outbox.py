"""mail to buyers and its attempts

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mails',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('locale', sa.String(length=20), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=True),
    sa.Column('reference', sa.String(length=40), nullable=True),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('order_confirmation', 'shipping_confirmation', 'refund', 'sign_in')", name=op.f('ck_mails_kind')),
    sa.CheckConstraint("status IN ('queued', 'sent', 'kept', 'failed')", name=op.f('ck_mails_status')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_mails_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mails')),
    sa.UniqueConstraint('event_id', name=op.f('uq_mails_event_id'))
    )
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.create_index('ix_mails_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mails_order_id'), ['order_id'], unique=False)

    op.create_table('mail_attempts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('mail_id', sa.String(length=40), nullable=False),
    sa.Column('at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['mail_id'], ['mails.id'], name=op.f('fk_mail_attempts_mail_id_mails'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_attempts'))
    )
    with op.batch_alter_table('mail_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_attempts_mail_id'), ['mail_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mail_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_attempts_mail_id'))
    op.drop_table('mail_attempts')
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mails_order_id'))
        batch_op.drop_index('ix_mails_created_at')
    op.drop_table('mails')
