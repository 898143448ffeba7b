"""The Graph API version is one setting for every Meta channel: paths carry it, channel
rows never store it, and channels stored with v21.0 are migrated."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mercato.channels import http as channel_http
from mercato.channels import service, sync
from mercato.channels.schemas import ChannelCreate
from mercato.config import Settings, get_settings
from mercato.db import create_db_engine, transaction
from mercato.sandbox import meta
from mercato.system.migrations import alembic_config
from tests.conftest import SERVER_URL
from tests.helpers import tee


@pytest.fixture
def fresh_engine(tmp_path):
    """An empty database of the kind under test, migrated by the test itself."""
    if not SERVER_URL:
        url, drop = f"sqlite:///{tmp_path / 'old.db'}", None
    else:
        name = f"mercato_mig_{uuid.uuid4().hex[:12]}"
        admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)

        def drop():
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    engine = create_db_engine(Settings(database_url=url, secret_key="k", data_dir=tmp_path))
    yield engine
    engine.dispose()
    if drop:
        drop()


def test_channels_stored_with_a_graph_version_lose_it_in_migration_0014(fresh_engine):
    config = alembic_config(fresh_engine)
    command.upgrade(config, "0005")
    rows = [
        (
            "chn_old",
            "meta",
            "https://graph.facebook.com/v21.0",
            '{"catalog_id": "1", "graph_version": "v21.0"}',
        ),
        ("chn_sim", "meta", "http://127.0.0.1:8100/meta/v21.0/", '{"catalog_id": "2"}'),
        ("chn_new", "meta", "https://graph.facebook.com", '{"catalog_id": "3"}'),
        ("chn_ggl", "google", "https://merchantapi.googleapis.com/v21.0", "{}"),
    ]
    with fresh_engine.begin() as connection:
        for row in rows:
            connection.execute(
                text(
                    "INSERT INTO channels (id, kind, name, country, language, currency, base_url,"
                    " status, credentials_encrypted, settings, created_at, updated_at) VALUES"
                    " (:id, :kind, :id, 'US', 'en', 'USD', :url, 'active', '', :settings,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                dict(zip(("id", "kind", "url", "settings"), row, strict=True)),
            )
    command.upgrade(config, "0014")
    with fresh_engine.connect() as connection:
        found = {
            r.id: (r.base_url, r.settings)
            for r in connection.execute(text("SELECT id, base_url, settings FROM channels"))
        }

    def settings(value):
        return value if isinstance(value, dict) else json.loads(value)

    assert found["chn_old"][0] == "https://graph.facebook.com"
    assert settings(found["chn_old"][1]) == {"catalog_id": "1"}
    assert found["chn_sim"][0] == "http://127.0.0.1:8100/meta"
    assert found["chn_new"][0] == "https://graph.facebook.com"
    # Other platforms are not touched.
    assert found["chn_ggl"][0] == "https://merchantapi.googleapis.com/v21.0"


def test_new_meta_channels_store_no_version(sessions):
    with transaction(sessions) as session:
        channel = service.create_channel(
            session, ChannelCreate(kind="meta", name="fb", settings={"catalog_id": "1"})
        )
        assert channel.base_url == "https://graph.facebook.com"


def test_every_call_carries_the_configured_version(
    sessions, sandbox, make_products, make_channel, monkeypatch
):
    make_products(tee())
    channel_id = make_channel("meta")
    seen = []

    monkeypatch.setenv("MERCATO_META_GRAPH_VERSION", "v27.0")
    get_settings.cache_clear()
    try:
        real = channel_http.send

        def spy(http, method, url, **kwargs):
            seen.append(url)
            return real(http, method, url, **kwargs)

        monkeypatch.setattr("mercato.channels.meta.client.send", spy)
        assert sync.publish(sessions, channel_id).sent == 2
        sync.read_back(sessions, channel_id)
        sync.reconcile(sessions, channel_id)
    finally:
        get_settings.cache_clear()
    assert seen and all(url.startswith("/v27.0/cat1/") for url in seen)


def test_an_expired_or_unknown_version_is_refused_by_the_simulator(sandbox):
    assert meta._version_refused("v26.0") is None
    assert meta._version_refused("v21.0", today=date(2027, 1, 21))
    refused = sandbox.post(
        "/meta/v3.0/cat1/items_batch",
        headers={"Authorization": "Bearer t"},
        json={"item_type": "PRODUCT_ITEM", "requests": []},
    )
    assert refused.status_code == 400 and "v3.0" in refused.json()["error"]["message"]


def test_a_malformed_version_setting_is_refused(monkeypatch):
    monkeypatch.setenv("MERCATO_META_GRAPH_VERSION", "26")
    with pytest.raises(ValueError, match="v26.0"):
        Settings()


def test_pinterest_channels_connected_before_catalog_mode_keep_their_api_push(fresh_engine):
    config = alembic_config(fresh_engine)
    command.upgrade(config, "0005")
    with fresh_engine.begin() as connection:
        for channel_id, settings in (("chn_old", "{}"), ("chn_feed", '{"catalog_mode": "feed"}')):
            connection.execute(
                text(
                    "INSERT INTO channels (id, kind, name, country, language, currency, base_url,"
                    " status, credentials_encrypted, settings, created_at, updated_at) VALUES"
                    " (:id, 'pinterest', :id, 'US', 'en', 'USD', 'https://api.pinterest.com',"
                    " 'active', '', :settings, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": channel_id, "settings": settings},
            )
    command.upgrade(config, "heads")
    with fresh_engine.connect() as connection:
        found = {
            r.id: r.settings if isinstance(r.settings, dict) else json.loads(r.settings)
            for r in connection.execute(text("SELECT id, settings FROM channels"))
        }
    assert found == {"chn_old": {"catalog_mode": "api"}, "chn_feed": {"catalog_mode": "feed"}}
