"""A platform webhook is only as good as its key: a channel without a secret accepts none."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from mercato.channels import crypto
from mercato.channels.models import Channel
from mercato.channels.tiktok.webhooks import signature, verify
from mercato.db import transaction
from mercato.orders.models import InboundEvent

BODY = b'{"type": 1, "tts_notification_id": "n1", "data": {"order_id": "576"}}'


@pytest.mark.parametrize(
    "credentials",
    [
        {"app_key": "29a39d", "app_secret": "", "access_token": "tt"},
        {"app_key": "29a39d", "access_token": "tt"},
        {"app_key": "", "app_secret": "", "access_token": "tt"},
    ],
)
def test_a_channel_without_a_secret_refuses_webhooks_signed_with_an_empty_key(
    shop, sessions, client, credentials
):
    channel_id, _ = shop.connect("tiktok")
    with transaction(sessions) as session:
        session.execute(
            update(Channel)
            .where(Channel.id == channel_id)
            .values(credentials_encrypted=crypto.encrypt(credentials))
        )
    forged = {"Authorization": signature(credentials["app_key"], "", BODY)}
    response = client.post(f"/webhooks/{channel_id}", content=BODY, headers=forged)
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/bad-signature"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == 0


def test_verification_needs_a_key_and_a_secret():
    assert verify("29a39d", "e59af819cc", BODY, signature("29a39d", "e59af819cc", BODY))
    assert not verify("29a39d", "", BODY, signature("29a39d", "", BODY))
    assert not verify("", "", BODY, signature("", "", BODY))
