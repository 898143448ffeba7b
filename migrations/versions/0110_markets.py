"""Markets and their price lists; checkouts and orders record their market, exchange rate
and duties, checkouts their tax basis.

Revision ID: 0110
Revises: 0020
Create Date: 2026-12-07 03:55:30.079807
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0110'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('markets',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('countries', mercato.db.JSONType(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('languages', mercato.db.JSONType(), nullable=False),
    sa.Column('tax_mode', sa.String(length=16), nullable=False),
    sa.Column('duties', sa.String(length=8), nullable=False),
    sa.Column('price_ending', sa.String(length=8), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("duties IN ('ddp', 'dap')", name=op.f('ck_markets_duties')),
    sa.CheckConstraint("tax_mode IN ('inclusive', 'exclusive')", name=op.f('ck_markets_tax_mode')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_markets'))
    )
    op.create_table('market_prices',
    sa.Column('market_code', sa.String(length=32), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_market_prices_amount_not_negative')),
    sa.ForeignKeyConstraint(['market_code'], ['markets.code'], name=op.f('fk_market_prices_market_code_markets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_market_prices_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('market_code', 'variant_id', name=op.f('pk_market_prices'))
    )
    with op.batch_alter_table('market_prices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_market_prices_variant_id'), ['variant_id'], unique=False)

    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('market', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('fx_rate', mercato.db.DecimalString(length=40), nullable=True))
        batch_op.add_column(sa.Column('fx_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('duties_total', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('duties_mode', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('duties_known', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('tax_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('tax_id', sa.String(length=32), nullable=True))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duties_total', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('market', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('fx_rate', mercato.db.DecimalString(length=40), nullable=True))
        batch_op.add_column(sa.Column('fx_date', sa.Date(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('fx_date')
        batch_op.drop_column('fx_rate')
        batch_op.drop_column('market')
        batch_op.drop_column('duties_total')

    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.drop_column('tax_id')
        batch_op.drop_column('tax_reason')
        batch_op.drop_column('duties_known')
        batch_op.drop_column('duties_mode')
        batch_op.drop_column('duties_total')
        batch_op.drop_column('fx_date')
        batch_op.drop_column('fx_rate')
        batch_op.drop_column('market')

    with op.batch_alter_table('market_prices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_market_prices_variant_id'))

    op.drop_table('market_prices')
    op.drop_table('markets')
