"""Meta's data deletion request callback (docs/platforms/meta.md): a signed request from
the account's app erases the person it names and answers with a status URL and a
confirmation code; anything else is refused and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mercato.channels.meta.deletion import parse_signed_request, signed_request
from mercato.inbox.models import Conversation, Message
from mercato.privacy.models import PrivacyRequest
from mercato.sandbox import messenger as sim
from tests.helpers import SANDBOX
from tests.inbox.conftest import signed

PERSON = "6543210987654321"
TEXT = "Hello, Zelda Quixote here"


@pytest.fixture
def page(client, admin, sandbox) -> dict:
    """A Messenger page with one person's conversation."""
    account = client.post(
        "/api/v1/inbox/accounts",
        headers=admin,
        json={
            "platform": "messenger",
            "name": "sim-messenger",
            "page_id": sim.PAGE_ID,
            "access_token": sim.ACCESS_TOKEN,
            "app_secret": sim.APP_SECRET,
            "verify_token": "v",
            "base_url": f"{SANDBOX}/messenger",
        },
    ).json()
    answer = sandbox.post(
        "/messenger/_sandbox/inbound",
        json={"platform": "messenger", "sender": PERSON, "text": TEXT},
    )
    raw, headers = signed(answer.json()["payload"], sim.APP_SECRET)
    assert client.post(account["webhook_path"], content=raw, headers=headers).status_code == 200
    return account


def _count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def _payload(user_id: str = PERSON) -> dict:
    return {
        "algorithm": "HMAC-SHA256",
        "expires": 1291840400,
        "issued_at": 1291836800,
        "user_id": user_id,
    }


def test_the_signed_request_is_read_only_with_the_app_secret():
    request = signed_request(_payload(), "secret")
    assert parse_signed_request(request, "secret")["user_id"] == PERSON
    assert parse_signed_request(request, "other") is None
    signature, payload = request.split(".")
    assert parse_signed_request(f"{signature}.{payload}x", "secret") is None
    assert parse_signed_request("no-dot", "secret") is None
    unsigned = signed_request({**_payload(), "algorithm": "none"}, "secret")
    assert parse_signed_request(unsigned, "secret") is None


def test_a_valid_request_erases_and_answers_with_the_status_url(client, sessions, page):
    path = f"/privacy/meta/{page['id']}/data-deletion"
    answer = client.post(path, data={"signed_request": signed_request(_payload(), sim.APP_SECRET)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"url", "confirmation_code"} and body["confirmation_code"].isalnum()
    assert body["url"].endswith(f"/privacy/deletion/{body['confirmation_code']}")
    assert _count(sessions, Conversation) == _count(sessions, Message) == 0
    status = client.get(f"/privacy/deletion/{body['confirmation_code']}")
    assert status.status_code == 200 and "erased" in status.text
    assert PERSON not in status.text
    with sessions() as session:
        [request] = session.scalars(select(PrivacyRequest)).all()
        assert (request.source, request.status) == ("meta", "completed")
        assert request.subject["platform_user_id"].startswith("sha256:")
    assert client.get("/privacy/deletion/unknown").status_code == 404


@pytest.mark.parametrize(
    "signed_with", ["not-the-app-secret", None], ids=["wrong secret", "no request"]
)
def test_an_invalid_signature_is_refused_and_changes_nothing(client, sessions, page, signed_with):
    form = {"signed_request": signed_request(_payload(), signed_with)} if signed_with else {}
    answer = client.post(f"/privacy/meta/{page['id']}/data-deletion", data=form)
    assert answer.status_code == 401 and answer.json()["type"] == "/problems/bad-signature"
    assert _count(sessions, Conversation) == 1 and _count(sessions, Message) == 1
    assert _count(sessions, PrivacyRequest) == 0
