"""idempotency keys: a renewed lease instead of a fixed 5 minutes; pruned by creation time

Revision ID: 0021
Revises: 0006
Create Date: 2026-12-06 09:50:00
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0021'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Stored responses were kept in clear: they cannot be sealed afterwards, so they go.
    op.execute('DELETE FROM idempotency_keys')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', mercato.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_created_at'))
        batch_op.drop_column('locked_until')
