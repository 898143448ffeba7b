"""inbox: TikTok Shop accounts (buyer chats)

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-06 20:40:00
"""

from alembic import op


revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbox_accounts') as batch_op:
        batch_op.drop_constraint(op.f('ck_inbox_accounts_platform'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_inbox_accounts_platform'),
            "platform IN ('whatsapp', 'messenger', 'instagram', 'tiktok')",
        )


def downgrade() -> None:
    with op.batch_alter_table('inbox_accounts') as batch_op:
        batch_op.drop_constraint(op.f('ck_inbox_accounts_platform'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_inbox_accounts_platform'),
            "platform IN ('whatsapp', 'messenger', 'instagram')",
        )
