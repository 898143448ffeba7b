"""Meta channels: the Graph API version leaves each channel's base URL and settings

The version is one setting for every Meta channel (MERCATO_META_GRAPH_VERSION); channels
created before stored it (v21.0, which stops working on 2027-01-21) at the end of their
base URL, and some in their settings. Data only: no schema change.

Revision ID: 0014
Revises: 0005
Create Date: 2026-12-06 09:10:00
"""

import json
import re

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0005'
branch_labels = None
depends_on = None

VERSION_SUFFIX = re.compile(r"/v\d+\.\d+/*$")
VERSION_KEYS = ("graph_version", "api_version", "graph_api_version")
channels = sa.table(
    "channels",
    sa.column("id", sa.String),
    sa.column("kind", sa.String),
    sa.column("base_url", sa.String),
    sa.column("settings", sa.JSON),
)


def _settings(value):
    # JSON text on SQLite, already decoded on PostgreSQL.
    return json.loads(value) if isinstance(value, str) else (value or {})


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(channels.c.id, channels.c.base_url, channels.c.settings).where(
            channels.c.kind == "meta"
        )
    ).all()
    for channel_id, base_url, settings in rows:
        settings = _settings(settings)
        cleaned = {k: v for k, v in settings.items() if k not in VERSION_KEYS}
        url = VERSION_SUFFIX.sub("", base_url or "")
        if url != base_url or cleaned != settings:
            connection.execute(
                channels.update()
                .where(channels.c.id == channel_id)
                .values(base_url=url, settings=cleaned)
            )


def downgrade() -> None:
    # The stored version was the one in use then; a downgrade puts the old default back.
    connection = op.get_bind()
    connection.execute(
        channels.update()
        .where(channels.c.kind == "meta", channels.c.base_url == "https://graph.facebook.com")
        .values(base_url="https://graph.facebook.com/v21.0")
    )
