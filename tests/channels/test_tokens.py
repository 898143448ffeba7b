"""Token refresh for every platform that has one: refreshed credentials stored encrypted,
``needs_reauth`` only when the refresh itself is refused (Pinterest, PLATFORMS.md §4.6)."""

import time

import pytest

from mercato.channels import service, sync, tokens
from mercato.channels.models import Channel
from tests import helpers
from tests.helpers import tee

REFRESHABLE = {
    "access_token": "pina_old",
    "refresh_token": "pinr_old",
    "app_id": "1234",
    "app_secret": "app-secret",
}


@pytest.fixture
def pinterest(make_channel, monkeypatch):
    def make(**extra):
        monkeypatch.setitem(helpers.CREDENTIALS, "pinterest", {**REFRESHABLE, **extra})
        return make_channel("pinterest")

    return make


def stored(sessions, channel_id) -> tuple[Channel, dict]:
    with sessions() as session:
        channel = session.get(Channel, channel_id)
        return channel, service.credentials(channel)


def test_an_expired_token_is_refreshed_stored_and_the_call_repeated(
    sessions, sandbox, make_products, pinterest
):
    make_products(tee())
    channel_id = pinterest()
    sandbox.post("/pinterest/_sandbox/faults", json={"kind": "expired_token"})
    result = sync.publish(sessions, channel_id)
    assert result.sent == 2 and result.status == "active"
    channel, credentials = stored(sessions, channel_id)
    assert credentials["access_token"].startswith("pina_") and credentials["access_token"] != (
        "pina_old"
    )
    # Pinterest's continuous refresh tokens are renewed with the access token.
    assert credentials["refresh_token"] != "pinr_old" and credentials["app_secret"] == "app-secret"
    assert float(credentials["access_token_expires_at"]) > time.time() + 29 * 86400
    assert "pina_" not in channel.credentials_encrypted


def test_a_refused_refresh_needs_reauthorisation(sessions, sandbox, make_products, pinterest):
    make_products(tee())
    channel_id = pinterest()
    # The call is refused, then so is the refresh.
    sandbox.post("/pinterest/_sandbox/faults", json={"kind": "expired_token", "count": 2})
    result = sync.publish(sessions, channel_id)
    assert result.status == "needs_reauth"
    assert any("Pinterest refused the refresh" in m for m in result.messages)
    channel, credentials = stored(sessions, channel_id)
    assert channel.status == "needs_reauth" and credentials["access_token"] == "pina_old"


def test_a_token_due_is_refreshed_before_any_call(sessions, sandbox, make_products, pinterest):
    make_products(tee(skus=("TEE-S",)))
    channel_id = pinterest(access_token_expires_at=str(int(time.time()) + 60))
    assert sync.publish(sessions, channel_id).sent == 1
    _, credentials = stored(sessions, channel_id)
    assert credentials["access_token"] != "pina_old"


def test_due_reads_the_stored_expiry():
    now = 1_000_000.0
    assert tokens.due({"access_token_expires_at": str(now + 60)}, now)
    assert not tokens.due({"access_token_expires_at": str(now + 3600)}, now)
    assert not tokens.due({"access_token": "no expiry known"}, now)
