"""inventory movements: index only the movements of a reservation

Revision ID: 0032
Revises: 0004
Create Date: 2026-12-06 17:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0032'
down_revision = '0004'
branch_labels = None
depends_on = None

WHERE = sa.text('reservation_id IS NOT NULL')


def upgrade() -> None:
    # Counts, receipts and imports move stock outside any reservation: most rows have none.
    op.drop_index('ix_inventory_movements_reservation_id', table_name='inventory_movements')
    op.create_index(
        'ix_inventory_movements_reservation_id', 'inventory_movements', ['reservation_id'],
        postgresql_where=WHERE, sqlite_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index('ix_inventory_movements_reservation_id', table_name='inventory_movements')
    op.create_index(
        'ix_inventory_movements_reservation_id', 'inventory_movements', ['reservation_id']
    )
