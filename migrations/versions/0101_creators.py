"""creators: their commissions (earned, clawed back) and payouts

Revision ID: 0101
Revises: 0100

"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0101'
down_revision = '0100'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('creators',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('handle', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('commission_kind', sa.String(length=16), nullable=False),
    sa.Column('commission_value', sa.Integer(), nullable=False),
    sa.Column('product_commissions', mercato.db.JSONType(), nullable=False),
    sa.Column('page_token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("commission_kind IN ('percentage', 'fixed')", name=op.f('ck_creators_commission_kind')),
    sa.CheckConstraint('commission_value >= 0', name=op.f('ck_creators_commission_value_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_creators')),
    sa.UniqueConstraint('handle', name=op.f('uq_creators_handle')),
    sa.UniqueConstraint('page_token_hash', name=op.f('uq_creators_page_token_hash'))
    )
    op.create_table('creator_payouts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('creator_id', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period_start', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_end', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], name=op.f('fk_creator_payouts_creator_id_creators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_creator_payouts'))
    )
    with op.batch_alter_table('creator_payouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_creator_payouts_creator_id'), ['creator_id'], unique=False)

    op.create_table('creator_commissions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('creator_id', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('basis', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('revenue', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payout_id', sa.String(length=40), nullable=True),
    sa.CheckConstraint("kind IN ('earned', 'clawback')", name=op.f('ck_creator_commissions_kind')),
    sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], name=op.f('fk_creator_commissions_creator_id_creators'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_creator_commissions_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['payout_id'], ['creator_payouts.id'], name=op.f('fk_creator_commissions_payout_id_creator_payouts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_creator_commissions')),
    sa.UniqueConstraint('order_id', 'reference', name='uq_creator_commissions_order_reference')
    )
    with op.batch_alter_table('creator_commissions', schema=None) as batch_op:
        batch_op.create_index('ix_creator_commissions_creator_id_at', ['creator_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_creator_commissions_payout_id'), ['payout_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('creator_commissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_creator_commissions_payout_id'))
        batch_op.drop_index('ix_creator_commissions_creator_id_at')

    op.drop_table('creator_commissions')
    with op.batch_alter_table('creator_payouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_creator_payouts_creator_id'))

    op.drop_table('creator_payouts')
    op.drop_table('creators')
