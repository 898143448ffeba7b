"""offers: bundle price kind, collection and market scopes

Revision ID: 0102
Revises: 0101

"""

import sqlalchemy as sa
from alembic import op

import mercato.db

revision = "0102"
down_revision = "0101"
branch_labels = None
depends_on = None

KINDS = "('percentage', 'fixed', 'free_shipping', 'buy_x_get_y', 'tiered', 'bundle')"
OLD_KINDS = "('percentage', 'fixed', 'free_shipping', 'buy_x_get_y', 'tiered')"


def upgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bundle", mercato.db.JSONType(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("collection_ids", mercato.db.JSONType(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("markets", mercato.db.JSONType(), server_default="[]", nullable=False)
        )
        batch_op.drop_constraint(batch_op.f("ck_offers_kind"), type_="check")
        batch_op.create_check_constraint("kind", f"kind IN {KINDS}")


def downgrade() -> None:
    op.execute("DELETE FROM offers WHERE kind = 'bundle'")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_offers_kind"), type_="check")
        batch_op.create_check_constraint("kind", f"kind IN {OLD_KINDS}")
        batch_op.drop_column("markets")
        batch_op.drop_column("collection_ids")
        batch_op.drop_column("bundle")
