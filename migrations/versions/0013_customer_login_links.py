"""customer login links

Revision ID: 0013
Revises: 0008
Create Date: 2026-11-24 01:31:08.267550
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0013'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_login_links',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('checkout_id', sa.String(length=40), nullable=True),
    sa.Column('expires_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkout_id'], ['checkouts.id'], name=op.f('fk_customer_login_links_checkout_id_checkouts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_login_links_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_login_links'))
    )
    with op.batch_alter_table('customer_login_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_login_links_checkout_id'), ['checkout_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_login_links_customer_id'), ['customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer_login_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_login_links_customer_id'))
        batch_op.drop_index(batch_op.f('ix_customer_login_links_checkout_id'))

    op.drop_table('customer_login_links')
