import re

from sqlalchemy import select
from typer.testing import CliRunner

from mercato.channels.models import Channel
from mercato.cli import app
from mercato.events.models import Event

PROBLEM = "application/problem+json"
runner = CliRunner()


def test_crud_never_returns_credentials_and_stores_them_encrypted(client, admin, sessions):
    created = client.post(
        "/api/v1/channels",
        headers=admin,
        json={
            "kind": "tiktok",
            "name": "tt-us",
            "credentials": {"app_key": "k1", "app_secret": "very-secret"},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["credential_keys"] == ["app_key", "app_secret"]
    assert "very-secret" not in created.text
    assert body["capabilities"]["in_app_checkout"] is True
    assert body["status"] == "active" and body["currency"] == "USD"
    with sessions() as session:
        row = session.scalar(select(Channel))
        assert "very-secret" not in row.credentials_encrypted and row.credentials_encrypted
        assert session.scalar(select(Event.type).where(Event.key == row.id)) == "channel.created"
    listed = client.get("/api/v1/channels", headers=admin)
    assert [c["name"] for c in listed.json()["items"]] == ["tt-us"]
    assert "very-secret" not in listed.text
    patched = client.patch(
        f"/api/v1/channels/{body['id']}", headers=admin, json={"status": "paused"}
    )
    assert patched.json()["status"] == "paused"
    assert client.delete(f"/api/v1/channels/{body['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/channels/{body['id']}", headers=admin).status_code == 404


def test_meta_has_no_in_app_checkout_any_more(client, admin):
    body = client.post(
        "/api/v1/channels", headers=admin, json={"kind": "meta", "name": "fb"}
    ).json()
    assert body["capabilities"]["in_app_checkout"] is False
    assert body["base_url"].startswith("https://graph.facebook.com")


def test_scopes_and_errors(client, make_token, admin):
    reader = make_token("channels:read")
    assert client.get("/api/v1/channels", headers=reader).status_code == 200
    denied = client.post("/api/v1/channels", headers=reader, json={"kind": "meta", "name": "x"})
    assert denied.status_code == 403
    bad = client.post("/api/v1/channels", headers=admin, json={"kind": "myspace", "name": "x"})
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    client.post("/api/v1/channels", headers=admin, json={"kind": "meta", "name": "dup"})
    again = client.post("/api/v1/channels", headers=admin, json={"kind": "meta", "name": "dup"})
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "name"


def test_cli_add_and_list(engine):
    added = runner.invoke(
        app,
        [
            "channels",
            "add",
            "tiktok",
            "--name",
            "tt",
            "--base-url",
            "http://127.0.0.1:8100/tiktok",
            "--credential",
            "app_key=abc",
            "--credential",
            "app_secret=s3cr3t",
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["channels", "list"])
    assert "tt" in listed.output and "http://127.0.0.1:8100/tiktok" in listed.output
    assert "s3cr3t" not in listed.output
    bad = runner.invoke(app, ["channels", "add", "meta", "--name", "m", "--credential", "nokey"])
    assert bad.exit_code == 1 and "KEY=VALUE" in bad.output
    assert re.search(r"chn_\w+", added.output)
