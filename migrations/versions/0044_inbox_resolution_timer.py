"""inbox resolution timer

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-06 22:34:14.143712
"""

import sqlalchemy as sa
from alembic import op

import mercato.db


revision = '0044'
down_revision = '0043'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbox_conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_at', mercato.db.UTCDateTime(timezone=True), nullable=True))
    # Conversations already there: their timer runs from when they began.
    op.execute("UPDATE inbox_conversations SET opened_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table('inbox_conversations', schema=None) as batch_op:
        batch_op.drop_column('opened_at')
