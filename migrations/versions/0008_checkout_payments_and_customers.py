"""checkout, payments and customers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 23:29:44.209106
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('address', mercato.db.JSONType(), nullable=True),
    sa.Column('payment_provider', sa.String(length=32), nullable=True),
    sa.Column('payment_customer_ref', sa.String(length=255), nullable=True),
    sa.Column('payment_method_ref', sa.String(length=255), nullable=True),
    sa.Column('payment_method_label', sa.String(length=100), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('email', name=op.f('uq_customers_email')),
    sa.UniqueConstraint('phone', name=op.f('uq_customers_phone'))
    )
    op.create_table('discount_codes',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('starts_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('percentage', 'fixed')", name=op.f('ck_discount_codes_kind')),
    sa.CheckConstraint('value > 0', name=op.f('ck_discount_codes_value_positive')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_discount_codes'))
    )
    op.create_table('payment_providers',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('public_key', sa.String(length=255), nullable=True),
    sa.Column('api_base', sa.String(length=255), nullable=True),
    sa.Column('secrets_encrypted', sa.Text(), nullable=False),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_payment_providers'))
    )
    op.create_table('checkouts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('locale', sa.String(length=20), nullable=False),
    sa.Column('reservation_id', sa.String(length=40), nullable=True),
    sa.Column('holds', sa.Integer(), nullable=False),
    sa.Column('expires_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('shipping_address', mercato.db.JSONType(), nullable=True),
    sa.Column('shipping_rate', sa.String(length=64), nullable=True),
    sa.Column('discount_code', sa.String(length=64), nullable=True),
    sa.Column('attribution', mercato.db.JSONType(), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=True),
    sa.Column('remember', sa.Boolean(), nullable=False),
    sa.Column('subtotal', sa.Integer(), nullable=False),
    sa.Column('discount_total', sa.Integer(), nullable=False),
    sa.Column('shipping_total', sa.Integer(), nullable=False),
    sa.Column('tax_total', sa.Integer(), nullable=False),
    sa.Column('taxes_included', sa.Boolean(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('attempts_since', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('order_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'completed', 'expired')", name=op.f('ck_checkouts_status')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_checkouts_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_checkouts_order_id_orders'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkouts')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_checkouts_token_hash'))
    )
    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.create_index('ix_checkouts_status_expires_at', ['status', 'expires_at'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('checkout_id', sa.String(length=40), nullable=False),
    sa.Column('attempt_key', sa.String(length=255), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('intent_ref', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('refunded', sa.Integer(), nullable=False),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('failure_message', sa.Text(), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('processing', 'requires_action', 'succeeded', 'declined', 'refunded', 'partially_refunded')", name=op.f('ck_payments_status')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_payments_amount_not_negative')),
    sa.ForeignKeyConstraint(['checkout_id'], ['checkouts.id'], name=op.f('fk_payments_checkout_id_checkouts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('checkout_id', 'attempt_key', name=op.f('uq_payments_checkout_id'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_checkout_id'), ['checkout_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_intent_ref'), ['intent_ref'], unique=False)

    op.create_table('checkout_lines',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('checkout_id', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Integer(), nullable=False),
    sa.Column('discount', sa.Integer(), nullable=False),
    sa.Column('tax', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_checkout_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['checkout_id'], ['checkouts.id'], name=op.f('fk_checkout_lines_checkout_id_checkouts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_checkout_lines_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkout_lines'))
    )
    with op.batch_alter_table('checkout_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkout_lines_checkout_id'), ['checkout_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('checkout_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkout_lines_checkout_id'))

    op.drop_table('checkout_lines')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_intent_ref'))
        batch_op.drop_index(batch_op.f('ix_payments_checkout_id'))

    op.drop_table('payments')
    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.drop_index('ix_checkouts_status_expires_at')

    op.drop_table('checkouts')
    op.drop_table('payment_providers')
    op.drop_table('discount_codes')
    op.drop_table('customers')
