"""catalog: uploaded images kept as their path, read with the base URL of the day

Revision ID: 0161
Revises: 0160
Create Date: 2026-12-07 10:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0161"
down_revision = "0160"
branch_labels = None
depends_on = None

PATH = "/media/"


def upgrade() -> None:
    """An address ending in /media/<id of an uploaded file>.<extension> becomes that path
    (whatever base URL it was uploaded under); other addresses stay as they are."""
    connection = op.get_bind()
    uploaded = set(connection.execute(sa.text("SELECT id FROM media_files")).scalars())
    rows = connection.execute(
        sa.text("SELECT id, url FROM media WHERE url LIKE :like"), {"like": f"%{PATH}%"}
    ).all()
    for media_id, url in rows:
        tail = url.rpartition(PATH)[2]
        if not url.startswith(PATH) and tail.partition(".")[0] in uploaded:
            connection.execute(
                sa.text("UPDATE media SET url = :url WHERE id = :id"),
                {"url": PATH + tail, "id": media_id},
            )


def downgrade() -> None:
    """Paths become addresses again under the base URL configured now."""
    from mercato.config import get_settings

    base = get_settings().base_url.rstrip("/")
    op.get_bind().execute(
        sa.text("UPDATE media SET url = :base || url WHERE url LIKE :like"),
        {"base": base, "like": f"{PATH}%"},
    )
