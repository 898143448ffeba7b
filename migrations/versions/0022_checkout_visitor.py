"""checkouts remember a hash of their visitor's cookie (open checkouts per visitor)

Revision ID: 0022
Revises: 0017
Create Date: 2026-12-06 10:15:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0022'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visitor', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_checkouts_visitor'), ['visitor'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkouts_visitor'))
        batch_op.drop_column('visitor')
