"""inbox: Messenger and Instagram accounts, comments answered, hidden and deleted

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06 20:10:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

OLD_STATUSES = "('received', 'queued', 'sent', 'delivered', 'read', 'failed')"
NEW_STATUSES = "('received', 'queued', 'sent', 'delivered', 'read', 'failed', 'hidden', 'deleted')"


def upgrade() -> None:
    with op.batch_alter_table("inbox_accounts") as batch_op:
        batch_op.add_column(
            sa.Column("human_agent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.drop_constraint(op.f("ck_inbox_accounts_platform"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_inbox_accounts_platform"), "platform IN ('whatsapp', 'messenger', 'instagram')"
        )
    with op.batch_alter_table("inbox_messages") as batch_op:
        batch_op.add_column(sa.Column("reply_to_id", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_inbox_messages_reply_to_id_inbox_messages"),
            "inbox_messages",
            ["reply_to_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_inbox_messages_reply_to_id"), ["reply_to_id"])
        batch_op.drop_constraint(op.f("ck_inbox_messages_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_inbox_messages_status"), f"status IN {NEW_STATUSES}"
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_messages") as batch_op:
        batch_op.drop_constraint(op.f("ck_inbox_messages_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_inbox_messages_status"), f"status IN {OLD_STATUSES}"
        )
        batch_op.drop_index(batch_op.f("ix_inbox_messages_reply_to_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_inbox_messages_reply_to_id_inbox_messages"), type_="foreignkey"
        )
        batch_op.drop_column("reply_to_id")
    with op.batch_alter_table("inbox_accounts") as batch_op:
        batch_op.drop_constraint(op.f("ck_inbox_accounts_platform"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_inbox_accounts_platform"), "platform IN ('whatsapp')"
        )
        batch_op.drop_column("human_agent")
