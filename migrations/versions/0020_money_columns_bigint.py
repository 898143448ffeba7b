"""money columns are 64-bit integers

Revision ID: 0020
Revises: 0013
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0020'
down_revision = '0013'
branch_labels = None
depends_on = None

# Amounts in minor units above 2**31 - 1 (21,474,836.47 in a two-decimal currency) did not
# fit. SQLite's INTEGER is 64 bits already: only PostgreSQL changes.
COLUMNS = {
    'variants': ('price', 'compare_at_price', 'cost'),
    'orders': ('subtotal', 'discount_total', 'shipping_total', 'tax_total', 'total', 'refunded_total'),
    'order_lines': ('unit_price', 'discount', 'tax', 'total'),
    'refunds': ('amount',),
    'checkouts': ('subtotal', 'discount_total', 'shipping_total', 'tax_total', 'total'),
    'checkout_lines': ('unit_price', 'discount', 'tax'),
    'payments': ('amount', 'refunded'),
}


def _alter(to_type, from_type) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=to_type, existing_type=from_type)


def upgrade() -> None:
    _alter(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    _alter(sa.Integer(), sa.BigInteger())
