"""The Google adapter against its simulator: credentials minted and renewed by google-auth,
set-up refusals told apart from expiry, whole-segment names, verdicts read from what Google
leaves out, per-item refusals, listing scoped to the channel."""

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from mercato.channels import sync
from mercato.channels.google import client as google_client
from mercato.channels.google import mapping
from mercato.channels.models import Channel, Listing
from mercato.errors import Conflict
from mercato.events.models import Event
from tests import helpers
from tests.helpers import SANDBOX, tee


def fault(sandbox, kind, count=1):
    response = sandbox.post("/google/_sandbox/faults", json={"kind": kind, "count": count})
    assert "queued" in response.json(), response.text


def _google_sim(sandbox):
    mount = next(r for r in sandbox.app.routes if getattr(r, "path", "") == "/google")
    return mount.app.state.sim


def verdicts(sessions, channel_id) -> dict[str, Listing]:
    with sessions() as session:
        return {
            x.item_id: x
            for x in session.scalars(select(Listing).where(Listing.channel_id == channel_id))
        }


def status_of(sessions, channel_id) -> str:
    with sessions() as session:
        return session.get(Channel, channel_id).status


def service_account_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "shop-merchant",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": "mercato@shop-merchant.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": f"{SANDBOX}/google/token",
        }
    )


def test_the_whole_name_segment_is_base64url_encoded():
    assert google_client.product_name("en", "US", "sku/123") == "ZW5-VVN-c2t1LzEyMw"
    # Always encoded, even when the offer id holds nothing to escape.
    assert "~" not in google_client.product_name("en", "US", "plain")


def test_a_service_account_publishes_and_its_token_is_minted_once(
    sessions, sandbox, make_products, make_channel, monkeypatch
):

    monkeypatch.setitem(
        helpers.CREDENTIALS, "google", {"service_account_json": service_account_key()}
    )
    make_products(tee())
    channel_id = make_channel("google")
    assert sync.publish(sessions, channel_id).sent == 2
    sync.read_back(sessions, channel_id)
    assert {x.verdict for x in verdicts(sessions, channel_id).values()} == {"approved"}
    # Publish and read-back share the token google-auth minted from the signed assertion.
    assert _google_sim(sandbox).token_requests == 1


def test_an_expired_token_is_renewed_without_the_merchant(
    sessions, sandbox, make_products, make_channel
):
    make_products(tee())
    channel_id = make_channel("google")
    sync.publish(sessions, channel_id)
    # An hour later every token is dead; a refused call also gets a fresh token.
    sandbox.post("/google/_sandbox/expire_tokens")
    fault(sandbox, "expired_token")
    assert sync.read_back(sessions, channel_id).confirmed == 2
    assert status_of(sessions, channel_id) == "active"
    assert _google_sim(sandbox).token_requests == 2


def test_a_revoked_grant_needs_reauthorisation(
    sessions, sandbox, make_products, make_channel, client, admin
):
    make_products(tee())
    channel_id = make_channel("google")
    fault(sandbox, "revoked")
    result = sync.publish(sessions, channel_id)
    assert result.status == "needs_reauth" and result.sent == 0
    assert any("Token has been expired or revoked" in m for m in result.messages)
    with sessions() as session:
        event = session.scalar(select(Event).where(Event.type == "channel.status_changed"))
        assert event.payload["to"] == "needs_reauth"
    fresh = {
        "client_id": "1234-sim.apps.googleusercontent.com",
        "client_secret": "sim-secret",
        "refresh_token": "1//another-consent",
        "token_uri": f"{SANDBOX}/google/token",
    }
    patched = client.patch(
        f"/api/v1/channels/{channel_id}", headers=admin, json={"credentials": fresh}
    )
    assert patched.json()["status"] == "active"
    assert sync.publish(sessions, channel_id).sent == 2


@pytest.mark.parametrize(
    ("kind", "said"),
    [("unregistered", "not registered with Merchant Center account 123"), ("forbidden", "403")],
)
def test_registration_and_permission_are_not_expiry(
    kind, said, sessions, sandbox, make_products, make_channel
):
    make_products(tee())
    channel_id = make_channel("google")
    fault(sandbox, kind)
    with pytest.raises(Conflict) as refused:
        sync.publish(sessions, channel_id)
    # Not a credentials problem: no re-authorisation asked for; the channel shows why.
    assert status_of(sessions, channel_id) == "active"
    message = refused.value.detail
    with sessions() as session:
        channel = session.get(Channel, channel_id)
        assert channel.failures == 1 and channel.last_error in message
    if kind == "unregistered":
        assert said in message and "registerGcp" in message
    else:
        assert "no permission on Merchant Center account 123" in message


def test_one_refused_insert_is_that_item_s_rejection(
    sessions, sandbox, make_products, make_channel, monkeypatch
):
    [product] = make_products(tee())
    bad_variant = product.variants[0].id
    to_api = mapping.to_api

    def old_body_for_one(row, target):
        body = to_api(row, target)
        if row["id"] == bad_variant:
            # The v1beta name of the attributes, which v1 no longer knows.
            body["attributes"] = body.pop("productAttributes")
        return body

    monkeypatch.setattr(mapping, "to_api", old_body_for_one)
    channel_id = make_channel("google")
    result = sync.publish(sessions, channel_id)
    assert result.sent == 2 and result.rejected == 1
    sync.read_back(sessions, channel_id)
    held = verdicts(sessions, channel_id)
    assert held[bad_variant].verdict == "rejected"
    assert "attributes" in held[bad_variant].issues[0]["message"]
    assert held[product.variants[1].id].verdict == "approved"


def test_pending_countries_only_is_not_approved_yet(sessions, sandbox, make_products, make_channel):
    make_products(tee(skus=("TEE-S",)))
    channel_id = make_channel("google")
    fault(sandbox, "in_review")
    sync.publish(sessions, channel_id)
    assert sync.read_back(sessions, channel_id).still_pending == 1
    assert sync.read_back(sessions, channel_id).confirmed == 1
    assert {x.verdict for x in verdicts(sessions, channel_id).values()} == {"approved"}


def test_verdict_reads_missing_lists_as_none():
    from mercato.channels.target import Target

    adapter = google_client.Client(
        Target("google", settings={"account_id": "1", "data_source_id": "d"}),
        {"client_id": "c", "client_secret": "s", "refresh_token": "r"},
        http=None,
    )
    assert adapter.verdict("x", {"offerId": "x", "productStatus": {}}).verdict == "approved"
    assert adapter.verdict("x", {"offerId": "x"}).verdict == "approved"
    warned = adapter.verdict(
        "x",
        {
            "productStatus": {
                "itemLevelIssues": [
                    {
                        "severity": "DISAPPROVED",
                        "description": "Bad",
                        "applicableCountries": ["DE"],
                    },
                    {
                        "severity": "DEMOTED",
                        "description": "Blurry image",
                        "attribute": "imageLink",
                    },
                ],
                "destinationStatuses": [{"approvedCountries": ["US"]}],
            }
        },
    )
    # A disapproval in another country does not reject the item in this channel's.
    assert warned.verdict == "warning" and [i["field"] for i in warned.issues] == ["imageLink"]


def test_listing_is_scoped_to_the_channel_s_data_source_and_feed_label(
    sessions, sandbox, make_products, make_channel
):
    make_products(tee())
    channel_id = make_channel("google")
    sync.publish(sessions, channel_id)
    others = {
        "en~US~from-a-feed": {"dataSource": "accounts/123/dataSources/feed9", "feedLabel": "US"},
        "en~CA~other-label": {"dataSource": "accounts/123/dataSources/ds1", "feedLabel": "CA"},
    }
    for name, where in others.items():
        sandbox.put(
            f"/google/_sandbox/items/{name}",
            json={"offerId": name.rsplit("~", 1)[1], "contentLanguage": "en", **where},
        )
    ghost = {"offerId": "ghost", "contentLanguage": "en", "feedLabel": "US"}
    sandbox.put(
        "/google/_sandbox/items/en~US~ghost",
        json={**ghost, "dataSource": "accounts/123/dataSources/ds1"},
    )
    result = sync.reconcile(sessions, channel_id)
    assert (result.missing, result.stale, result.extra) == (0, 0, 1)
    left = set(sandbox.get("/google/_sandbox/items").json()["items"])
    # Only our own extra item was deleted; other sources' and labels' products stay.
    assert set(others) <= left and "en~US~ghost" not in left


def test_a_feed_label_of_its_own_names_every_product(
    sessions, sandbox, make_products, make_channel, monkeypatch
):

    settings = {**helpers.SETTINGS["google"], "feed_label": "SHOP-US"}
    monkeypatch.setitem(helpers.SETTINGS, "google", settings)
    make_products(tee())
    channel_id = make_channel("google")
    sync.publish(sessions, channel_id)
    assert sync.read_back(sessions, channel_id).confirmed == 2
    held = sandbox.get("/google/_sandbox/items").json()["items"]
    assert all(name.startswith("en~SHOP-US~") for name in held)
    result = sync.reconcile(sessions, channel_id)
    assert (result.missing, result.stale, result.extra) == (0, 0, 0)
