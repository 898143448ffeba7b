"""inventory ledger and reservations

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23 23:22:29.173711
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inventory_channel_rules',
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('buffer', sa.Integer(), nullable=False),
    sa.Column('cap', sa.Integer(), nullable=True),
    sa.Column('updated_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('buffer >= 0', name=op.f('ck_inventory_channel_rules_buffer_not_negative')),
    sa.CheckConstraint('cap IS NULL OR cap >= 0', name=op.f('ck_inventory_channel_rules_cap_not_negative')),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_inventory_channel_rules'))
    )
    op.create_table('inventory_locations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('warehouse', 'store')", name=op.f('ck_inventory_locations_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_locations')),
    sa.UniqueConstraint('code', name=op.f('uq_inventory_locations_code'))
    )
    op.create_table('inventory_reservations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('expires_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('settled_at', mercato.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'committed', 'released', 'expired')", name=op.f('ck_inventory_reservations_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_reservations')),
    sa.UniqueConstraint('channel', 'reference', name=op.f('uq_inventory_reservations_channel'))
    )
    with op.batch_alter_table('inventory_reservations', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_reservations_status_expires_at', ['status', 'expires_at'], unique=False)

    op.create_table('inventory_stock_levels',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.Column('location_id', sa.String(length=40), nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.CheckConstraint('reserved <= on_hand', name=op.f('ck_inventory_stock_levels_reserved_within_on_hand')),
    sa.CheckConstraint('reserved >= 0', name=op.f('ck_inventory_stock_levels_reserved_not_negative')),
    sa.ForeignKeyConstraint(['location_id'], ['inventory_locations.id'], name=op.f('fk_inventory_stock_levels_location_id_inventory_locations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_inventory_stock_levels_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_stock_levels')),
    sa.UniqueConstraint('variant_id', 'location_id', name=op.f('uq_inventory_stock_levels_variant_id'))
    )
    with op.batch_alter_table('inventory_stock_levels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_stock_levels_location_id'), ['location_id'], unique=False)

    op.create_table('inventory_movements',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('stock_level_id', sa.String(length=40), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('on_hand_delta', sa.Integer(), nullable=False),
    sa.Column('reserved_delta', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('reservation_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', mercato.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('receipt', 'adjustment', 'correction', 'return', 'reservation', 'release', 'expiry', 'sale')", name=op.f('ck_inventory_movements_kind')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_inventory_movements_quantity_positive')),
    sa.ForeignKeyConstraint(['reservation_id'], ['inventory_reservations.id'], name=op.f('fk_inventory_movements_reservation_id_inventory_reservations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stock_level_id'], ['inventory_stock_levels.id'], name=op.f('fk_inventory_movements_stock_level_id_inventory_stock_levels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_inventory_movements_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_movements'))
    )
    with op.batch_alter_table('inventory_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_movements_reservation_id'), ['reservation_id'], unique=False)
        batch_op.create_index('ix_inventory_movements_stock_level_id', ['stock_level_id'], unique=False)
        batch_op.create_index('ix_inventory_movements_variant_id_created_at', ['variant_id', 'created_at'], unique=False)

    op.create_table('inventory_reservation_lines',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('reservation_id', sa.String(length=40), nullable=False),
    sa.Column('variant_id', sa.String(length=40), nullable=False),
    sa.Column('stock_level_id', sa.String(length=40), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.CheckConstraint("state IN ('held', 'sold', 'released', 'expired')", name=op.f('ck_inventory_reservation_lines_state')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_inventory_reservation_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['reservation_id'], ['inventory_reservations.id'], name=op.f('fk_inventory_reservation_lines_reservation_id_inventory_reservations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stock_level_id'], ['inventory_stock_levels.id'], name=op.f('fk_inventory_reservation_lines_stock_level_id_inventory_stock_levels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_inventory_reservation_lines_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_reservation_lines'))
    )
    with op.batch_alter_table('inventory_reservation_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_reservation_lines_reservation_id'), ['reservation_id'], unique=False)
        batch_op.create_index('ix_inventory_reservation_lines_stock_level_id_state', ['stock_level_id', 'state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inventory_reservation_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_reservation_lines_stock_level_id_state')
        batch_op.drop_index(batch_op.f('ix_inventory_reservation_lines_reservation_id'))

    op.drop_table('inventory_reservation_lines')
    with op.batch_alter_table('inventory_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_movements_variant_id_created_at')
        batch_op.drop_index('ix_inventory_movements_stock_level_id')
        batch_op.drop_index(batch_op.f('ix_inventory_movements_reservation_id'))

    op.drop_table('inventory_movements')
    with op.batch_alter_table('inventory_stock_levels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_stock_levels_location_id'))

    op.drop_table('inventory_stock_levels')
    with op.batch_alter_table('inventory_reservations', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_reservations_status_expires_at')

    op.drop_table('inventory_reservations')
    op.drop_table('inventory_locations')
    op.drop_table('inventory_channel_rules')
