"""channel health (failures, last error) and removal

Revision ID: 0016
Revises: 0005
Create Date: 2026-12-06 09:40:00
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0016'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no table rebuild on SQLite (a rebuild of channels would cascade).
    op.add_column('channels', sa.Column('failures', sa.Integer(), server_default='0', nullable=False))
    op.add_column('channels', sa.Column('last_error', sa.Text(), nullable=True))
    op.add_column('channels', sa.Column('last_error_at', mercato.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('channels', sa.Column('removed_at', mercato.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('channels') as batch:
        batch.drop_column('removed_at')
        batch.drop_column('last_error_at')
        batch.drop_column('last_error')
        batch.drop_column('failures')
