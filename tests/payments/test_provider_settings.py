"""Choosing the payment provider without Python: `mercato payments ...` and the admin
API. Secrets are stored encrypted and shown masked."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from mercato.cli import app as cli
from mercato.payments import service as payments
from mercato.payments.models import ProviderAccount

SECRET, PUBLISHABLE, WEBHOOK = "sk_test_51Abcdef0123456789", "pk_test_51Xyz", "whsec_0123456789ab"
runner = CliRunner()


def mercato(*args: str):
    return runner.invoke(cli, list(args), catch_exceptions=False)


def _stored(sessions) -> list[ProviderAccount]:
    with sessions() as session:
        return list(session.scalars(select(ProviderAccount)))


def test_cli_configures_stripe_then_back_to_the_sandbox(engine, sessions):
    shown = mercato("payments", "show")
    assert shown.exit_code == 0 and "sandbox" in shown.output and "yes" in shown.output
    done = mercato(
        "payments",
        "configure",
        "stripe",
        "--secret-key",
        SECRET,
        "--publishable-key",
        PUBLISHABLE,
        "--webhook-secret",
        WEBHOOK,
    )
    assert done.exit_code == 0, done.output
    assert "/api/v1/payments/webhooks/stripe" in done.output
    (account,) = _stored(sessions)
    assert account.active and account.public_key == PUBLISHABLE
    assert SECRET not in account.secrets_encrypted and WEBHOOK not in account.secrets_encrypted
    shown = mercato("payments", "show").output
    assert "sk_test_…6789" in shown and "whsec_…89ab" in shown and PUBLISHABLE in shown
    assert SECRET not in shown and WEBHOOK not in shown
    with sessions() as session:
        assert payments.provider(session).name == "stripe"

    # A new publishable key alone keeps the stored secrets.
    assert (
        mercato("payments", "configure", "stripe", "--publishable-key", "pk_test_other").exit_code
        == 0
    )
    with sessions() as session:
        provider = payments.provider(session)
        assert provider.webhook_secret == WEBHOOK
        assert payments.browser_key(session) == "pk_test_other"

    assert mercato("payments", "configure", "sandbox").exit_code == 0
    with sessions() as session:
        assert payments.provider(session).name == "sandbox"
    # Stripe's keys stay stored for a switch back.
    assert "sk_test_…6789" in mercato("payments", "show").output


def test_cli_refuses_wrong_keys_and_writes_nothing(engine, sessions):
    bad = runner.invoke(cli, ["payments", "configure", "stripe", "--secret-key", PUBLISHABLE])
    assert bad.exit_code == 1 and "secret_key: a Stripe key starts with sk_ or rk_" in (bad.output)
    mixed = runner.invoke(
        cli,
        [
            "payments",
            "configure",
            "stripe",
            "--secret-key",
            SECRET,
            "--publishable-key",
            "pk_live_123",
        ],
    )
    assert mixed.exit_code == 1 and "is a live key" in mixed.output
    missing = runner.invoke(cli, ["payments", "configure", "stripe"])
    assert missing.exit_code == 1 and "required for stripe" in missing.output
    sandbox = runner.invoke(cli, ["payments", "configure", "sandbox", "--secret-key", SECRET])
    assert sandbox.exit_code == 1 and "not used by the sandbox" in sandbox.output
    unknown = runner.invoke(cli, ["payments", "configure", "paypal"])
    assert unknown.exit_code == 1
    assert _stored(sessions) == []


def test_api_reads_and_sets_the_provider_for_admins_only(client, sessions, admin, make_token):
    url = "/api/v1/payments/provider"
    assert client.get(url).status_code == 401
    other = make_token("checkout:write", "orders:write")
    assert client.get(url, headers=other).status_code == 403
    assert client.put(url, json={"name": "sandbox"}, headers=other).status_code == 403
    assert client.get(url, headers=admin).json()["name"] == "sandbox"

    put = client.put(
        url,
        headers=admin,
        json={
            "name": "stripe",
            "secret_key": SECRET,
            "publishable_key": PUBLISHABLE,
            "webhook_secret": WEBHOOK,
        },
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert (
        body["name"],
        body["active"],
        body["publishable_key"],
        body["secret_key"],
        body["webhook_secret"],
    ) == ("stripe", True, PUBLISHABLE, "sk_test_…6789", "whsec_…89ab")
    assert body["webhook_url"].endswith("/api/v1/payments/webhooks/stripe")
    assert SECRET not in client.get(url, headers=admin).text

    refused = client.put(
        url, headers=admin, json={"name": "stripe", "publishable_key": "sk_test_oops"}
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert any("pk_" in e.get("message", "") for e in refused.json()["errors"])
    assert client.put(url, headers=admin, json={"name": "sandbox"}).json()["name"] == "sandbox"
