"""Pinterest channels: those connected before catalog_mode existed keep being pushed by API

catalog_mode (api or feed) is now a required Pinterest setting, chosen when a channel is
connected. Channels connected earlier were always pushed through the items batch API, so
they get ``api``: what they did, stated. Data only. Also joins the channel migrations
0014, 0015 and 0016 into one head.

Revision ID: 0026
Revises: 0014, 0015, 0016
Create Date: 2026-12-06 11:00:00
"""

import json

import sqlalchemy as sa
from alembic import op


revision = '0026'
down_revision = ('0014', '0015', '0016')
branch_labels = None
depends_on = None

channels = sa.table(
    "channels",
    sa.column("id", sa.String),
    sa.column("kind", sa.String),
    sa.column("settings", sa.JSON),
)


def _settings(value):
    # JSON text on SQLite, already decoded on PostgreSQL.
    return json.loads(value) if isinstance(value, str) else (value or {})


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(channels.c.id, channels.c.settings).where(channels.c.kind == "pinterest")
    ).all()
    for channel_id, settings in rows:
        settings = _settings(settings)
        if not settings.get("catalog_mode"):
            connection.execute(
                channels.update()
                .where(channels.c.id == channel_id)
                .values(settings={**settings, "catalog_mode": "api"})
            )


def downgrade() -> None:
    # The setting is harmless to older code, which never reads it.
    pass
