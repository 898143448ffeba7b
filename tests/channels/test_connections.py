"""Connecting, changing and removing channels (API and CLI): required settings checked, the
platform called once, nothing stored on a refusal, failing channels shown with the
platform's message, misconfigured channels in one line."""

import re

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from mercato.channels import service, sync
from mercato.channels.models import Channel, Listing
from mercato.channels.schemas import ChannelCreate
from mercato.cli import app
from mercato.db import transaction
from mercato.events.models import Event
from tests.helpers import CREDENTIALS, SANDBOX, SETTINGS, tee

PROBLEM = "application/problem+json"
runner = CliRunner()


@pytest.fixture
def browser(client, admin):
    """The dashboard, signed in (the client keeps the session cookie)."""
    token = admin["Authorization"].removeprefix("Bearer ")
    signed_in = client.post("/admin/login", data={"token": token}, follow_redirects=False)
    assert signed_in.status_code == 303
    return client


def google_args(name="g", *extra):
    args = ["channels", "add", "google", "--name", name, "--base-url", f"{SANDBOX}/google"]
    for key, value in CREDENTIALS["google"].items():
        args += ["--credential", f"{key}={value}"]
    return [*args, *extra]


def channel_count(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Channel))


def test_crud_never_returns_credentials_and_stores_them_encrypted(client, admin, sessions, sandbox):
    created = client.post(
        "/api/v1/channels",
        headers=admin,
        json={
            "kind": "tiktok",
            "name": "tt-us",
            "base_url": f"{SANDBOX}/tiktok",
            "credentials": CREDENTIALS["tiktok"],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["credential_keys"] == ["access_token", "app_key", "app_secret"]
    secret = CREDENTIALS["tiktok"]["app_secret"]
    assert secret not in created.text
    assert body["capabilities"]["in_app_checkout"] is True
    assert body["status"] == "active" and body["currency"] == "USD" and not body["failing"]
    with sessions() as session:
        row = session.scalar(select(Channel))
        assert secret not in row.credentials_encrypted and row.credentials_encrypted
        assert session.scalar(select(Event.type).where(Event.key == row.id)) == "channel.created"
    listed = client.get("/api/v1/channels", headers=admin)
    assert [c["name"] for c in listed.json()["items"]] == ["tt-us"]
    assert secret not in listed.text
    patched = client.patch(
        f"/api/v1/channels/{body['id']}", headers=admin, json={"status": "paused"}
    )
    assert patched.json()["status"] == "paused"
    removed = client.delete(f"/api/v1/channels/{body['id']}", headers=admin)
    assert removed.status_code == 200 and removed.json()["channel"]["removed_at"]
    # Removed, not deleted: gone from the list, still readable as history.
    assert client.get("/api/v1/channels", headers=admin).json()["items"] == []
    assert client.get(f"/api/v1/channels/{body['id']}", headers=admin).status_code == 200
    everything = client.get("/api/v1/channels", headers=admin, params={"removed": True}).json()
    assert [c["id"] for c in everything["items"]] == [body["id"]]


def test_meta_has_no_in_app_checkout_any_more(client, admin):
    body = client.post(
        "/api/v1/channels",
        headers=admin,
        params={"verify": False},
        json={
            "kind": "meta",
            "name": "fb",
            "credentials": {"access_token": "t"},
            "settings": {"catalog_id": "1"},
        },
    ).json()
    assert body["capabilities"]["in_app_checkout"] is False
    assert body["base_url"].startswith("https://graph.facebook.com")


def test_scopes_and_errors(client, make_token, admin, sessions):
    reader = make_token("channels:read")
    assert client.get("/api/v1/channels", headers=reader).status_code == 200
    denied = client.post("/api/v1/channels", headers=reader, json={"kind": "meta", "name": "x"})
    assert denied.status_code == 403
    bad = client.post("/api/v1/channels", headers=admin, json={"kind": "myspace", "name": "x"})
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    incomplete = client.post("/api/v1/channels", headers=admin, json={"kind": "meta", "name": "m"})
    assert incomplete.status_code == 422
    fields = {e["field"] for e in incomplete.json()["errors"]}
    assert fields == {"credentials.access_token", "settings.catalog_id"}
    assert channel_count(sessions) == 0
    meta = {
        "kind": "meta",
        "name": "dup",
        "credentials": {"access_token": "t"},
        "settings": {"catalog_id": "1"},
    }
    client.post("/api/v1/channels", headers=admin, params={"verify": False}, json=meta)
    again = client.post("/api/v1/channels", headers=admin, params={"verify": False}, json=meta)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "name"


def test_cli_add_verifies_with_google_then_lists(engine, sandbox):
    added = runner.invoke(app, google_args("g", "--setting", "account_id=123"))
    assert added.exit_code == 1 and "Traceback" not in added.output
    assert "google needs the data_source_id setting" in added.output
    added = runner.invoke(
        app, google_args("g", "--setting", "account_id=123", "--setting", "data_source_id=ds1")
    )
    assert added.exit_code == 0, added.output
    assert "The platform answered: Merchant Center account 123" in added.output
    assert re.search(r"chn_\w+", added.output)
    listed = runner.invoke(app, ["channels", "list"])
    assert "g" in listed.output and "sim-secret" not in listed.output and "ok" in listed.output
    bad = runner.invoke(app, ["channels", "add", "meta", "--name", "m", "--credential", "nokey"])
    assert bad.exit_code == 1 and "KEY=VALUE" in bad.output


def test_a_refusal_by_the_platform_stores_nothing(engine, sessions, sandbox, client, admin):
    sandbox.put("/google/_sandbox/data_sources/ui1", json={"input": "UI"})
    refused = runner.invoke(
        app, google_args("g", "--setting", "account_id=123", "--setting", "data_source_id=ui1")
    )
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "not the API" in refused.output
    sandbox.post("/google/_sandbox/faults", json={"kind": "unregistered"})
    api = client.post(
        "/api/v1/channels",
        headers=admin,
        json={
            "kind": "google",
            "name": "g",
            "base_url": f"{SANDBOX}/google",
            "credentials": CREDENTIALS["google"],
            "settings": SETTINGS["google"],
        },
    )
    assert api.status_code == 422 and api.headers["content-type"] == PROBLEM
    assert "not registered with Merchant Center account 123" in api.json()["detail"]
    assert channel_count(sessions) == 0


def test_edit_merges_checks_and_keeps_the_old_on_refusal(engine, sessions, sandbox):
    assert runner.invoke(app, google_args("g", *_settings())).exit_code == 0
    sandbox.put("/google/_sandbox/data_sources/auto", json={"input": "AUTOFEED"})
    refused = runner.invoke(app, ["channels", "edit", "g", "--setting", "data_source_id=auto"])
    assert refused.exit_code == 1 and "not the API" in refused.output
    # A source limited to another feed label would refuse every product.
    sandbox.put(
        "/google/_sandbox/data_sources/ds1", json={"feedLabel": "US", "contentLanguage": "en"}
    )
    wrong_label = runner.invoke(app, ["channels", "edit", "g", "--setting", "feed_label=EU"])
    assert wrong_label.exit_code == 1
    assert "only takes products with feed label US and language en" in wrong_label.output
    changed = runner.invoke(
        app, ["channels", "edit", "g", "--setting", "feed_label=US", "--name", "google-us"]
    )
    assert changed.exit_code == 0, changed.output
    with sessions() as session:
        channel = session.scalar(select(Channel))
        assert channel.name == "google-us"
        assert channel.settings == {**SETTINGS["google"], "feed_label": "US"}
    shown = runner.invoke(app, ["channels", "show", "google-us"])
    assert "client_id, client_secret, refresh_token, token_uri" in shown.output


def _settings():
    return [arg for k, v in SETTINGS["google"].items() for arg in ("--setting", f"{k}={v}")]


def test_remove_keeps_history_and_can_delete_the_items(
    sessions, sandbox, make_products, make_channel, client, admin
):
    make_products(tee())
    channel_id = make_channel("google")
    sync.publish(sessions, channel_id)
    assert len(sandbox.get("/google/_sandbox/items").json()["items"]) == 2
    removed = client.delete(
        f"/api/v1/channels/{channel_id}", headers=admin, params={"delete_items": True}
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["deleted_items"] == 2
    assert sandbox.get("/google/_sandbox/items").json()["items"] == {}
    with sessions() as session:
        kept = session.scalars(select(Listing.verdict).where(Listing.channel_id == channel_id))
        assert list(kept) == ["deleted", "deleted"]
    # Never synced again; the name is free for a new connection.
    assert sync.active_channel_ids(sessions) == []
    again = client.post(f"/api/v1/channels/{channel_id}/publish", headers=admin)
    assert again.status_code == 409 and "removed" in again.json()["detail"]
    assert make_channel("google")


def test_a_failing_channel_shows_why_everywhere(
    sessions, sandbox, make_products, make_channel, client, admin, browser
):
    make_products(tee())
    channel_id = make_channel("google")
    # 5xx on every try of one call: the run stops.
    sandbox.post("/google/_sandbox/faults", json={"kind": "500", "count": 5})
    result = sync.publish(sessions, channel_id)
    assert any("HTTP 503" in m for m in result.messages)
    shown = client.get(f"/api/v1/channels/{channel_id}", headers=admin).json()
    assert shown["failing"] and shown["failures"] == 1 and shown["last_error_at"]
    assert "HTTP 503" in shown["last_error"]
    listed = runner.invoke(app, ["channels", "list"])
    assert "failing ×1" in listed.output and "HTTP 503" in listed.output
    assert "HTTP 503" in runner.invoke(app, ["channels", "show", "google"]).output
    assert "Sync is failing" in browser.get("/admin/channels").text
    assert "HTTP 503" in browser.get(f"/admin/channels/{channel_id}").text
    # The next good run clears it.
    sync.publish(sessions, channel_id)
    assert not client.get(f"/api/v1/channels/{channel_id}", headers=admin).json()["failing"]


def test_a_misconfigured_channel_is_one_clear_line(sessions, engine, client, admin, browser):
    # Stored before connections were checked: a Meta channel without its catalog.
    with transaction(sessions) as session:
        channel_id = service.create_channel(
            session,
            ChannelCreate(kind="meta", name="fb", credentials={"access_token": "t"}),
        ).id
    published = runner.invoke(app, ["channels", "publish", "fb"])
    assert published.exit_code == 1 and "Traceback" not in published.output
    assert published.output.strip().splitlines() == [
        "Error: Channel fb: the Meta channel needs a catalog_id setting"
    ]
    api = client.post(f"/api/v1/channels/{channel_id}/publish", headers=admin)
    assert api.status_code == 409 and "catalog_id" in api.json()["detail"]
    assert "catalog_id" in browser.get(f"/admin/channels/{channel_id}").text


def test_meta_and_pinterest_are_verified_with_one_call(engine, sessions, sandbox):
    pinterest = runner.invoke(
        app,
        [
            "channels",
            "add",
            "pinterest",
            "--name",
            "pin",
            "--base-url",
            f"{SANDBOX}/pinterest",
            "--credential",
            "access_token=pina_x",
            "--setting",
            "catalog_mode=api",
        ],
    )
    assert pinterest.exit_code == 0, pinterest.output
    assert "The platform answered: catalogs Sandbox catalog" in pinterest.output
    meta_args = [
        "channels",
        "add",
        "meta",
        "--name",
        "fb",
        "--base-url",
        f"{SANDBOX}/meta",
        "--credential",
        "access_token=EAAB",
        "--setting",
        "catalog_id=cat1",
    ]
    sandbox.post("/meta/_sandbox/faults", json={"kind": "expired_token"})
    refused = runner.invoke(app, meta_args)
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "meta refused the connection, nothing was stored" in refused.output
    assert channel_count(sessions) == 1
    assert runner.invoke(app, meta_args).exit_code == 0


def test_tiktok_is_verified_through_its_authorised_shops(engine, sessions, sandbox):
    args = ["channels", "add", "tiktok", "--name", "tt", "--base-url", f"{SANDBOX}/tiktok"]
    for key, value in CREDENTIALS["tiktok"].items():
        args += ["--credential", f"{key}={value}"]
    wrong = runner.invoke(
        app, [*args[:-2], "--credential", "app_secret=not-the-secret", *args[-2:]]
    )
    assert wrong.exit_code == 1 and "tiktok refused the connection" in wrong.output
    added = runner.invoke(app, args)
    assert added.exit_code == 0, added.output
    assert "The platform answered: shops" in added.output
