"""Payouts sent as Stripe Connect transfers (against the local Stripe stand-in): written
before Stripe is asked, paid with Stripe's transfer id, refused with Stripe's words, a
lost answer retried under the same idempotency key (one transfer made); without Stripe
configured, CSV only."""

from __future__ import annotations

from sqlalchemy import select

from mercato.creators.models import Transfer
from mercato.db import transaction
from mercato.payments import service as payments
from tests.checkout.helpers import make_shop
from tests.offers.helpers import this_period
from tests.offers.test_creators import _buy, _creator, _settle


def _connect(sessions, stand_in) -> None:
    """Stripe configured for Connect; payments still taken by the sandbox."""
    with transaction(sessions) as session:
        payments.configure(
            session, "stripe", secret_key="sk_test_123", api_base=stand_in.url, activate=False
        )


def _pay(client, admin, creator_id) -> dict:
    made = client.post(f"/api/v1/creators/{creator_id}/payouts", headers=admin, json=this_period())
    assert made.status_code == 201, made.text
    return made.json()


def _sell(client, sessions, drain, handle: str) -> None:
    _buy(client, (("HOODIE-M", 2),), attribution={"creator": handle})  # 10% of 50.00
    _settle(drain, sessions)


def test_a_payout_goes_to_the_connected_account_once(client, admin, sessions, drain, stand_in):
    make_shop(sessions, on_hand=20)
    _connect(sessions, stand_in)
    creator = _creator(client, admin, stripe_account="acct_1Creator")
    _sell(client, sessions, drain, "ada")

    # The transfer is on record, pending with its key, when Stripe is asked.
    seen = []

    def on_request(method, path):
        if path == "/v1/transfers":
            with sessions() as session:
                seen.append(
                    [(t.status, t.idempotency_key) for t in session.scalars(select(Transfer))]
                )

    stand_in.on_request = on_request
    payout = _pay(client, admin, creator["id"])
    sent = payout["transfer"]
    assert seen == [[("pending", sent["idempotency_key"])]]
    assert (sent["status"], sent["amount"], sent["destination"]) == ("paid", 500, "acct_1Creator")
    [made] = stand_in.transfers
    assert sent["transfer_ref"] == made["id"] and made["amount"] == payout["amount"] == 500
    assert made["currency"] == "usd" and made["destination"] == "acct_1Creator"
    assert made["transfer_group"] == payout["id"]
    assert made["metadata"] == {"payout_id": payout["id"]}
    [(_, _, _, headers)] = [r for r in stand_in.requests if r[1] == "/v1/transfers"]
    assert headers["Idempotency-Key"] == sent["idempotency_key"]
    assert stand_in.balance["usd"] == 10_000_000 - 500

    # Sending it again changes nothing: it is paid.
    again = client.post(f"/api/v1/creators/payouts/{payout['id']}/transfer", headers=admin)
    assert again.json()["status"] == "paid" and len(stand_in.transfers) == 1
    listed = client.get(f"/api/v1/creators/{creator['id']}/payouts", headers=admin).json()
    assert listed[0]["transfer"]["transfer_ref"] == made["id"]


def test_a_lost_answer_stays_pending_and_the_retry_reuses_its_key(
    client, admin, sessions, drain, stand_in
):
    make_shop(sessions, on_hand=20)
    _connect(sessions, stand_in)
    creator = _creator(client, admin, stripe_account="acct_1Creator")
    _sell(client, sessions, drain, "ada")
    stand_in.lose_answers = 3  # Stripe made it; no answer came back (SDK retries too)
    payout = _pay(client, admin, creator["id"])
    sent = payout["transfer"]
    assert sent["status"] == "pending" and sent["transfer_ref"] is None and sent["error"]
    assert len(stand_in.transfers) == 1

    retried = client.post(f"/api/v1/creators/payouts/{payout['id']}/transfer", headers=admin)
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert body["status"] == "paid" and body["idempotency_key"] == sent["idempotency_key"]
    assert body["transfer_ref"] == stand_in.transfers[0]["id"]
    assert len(stand_in.transfers) == 1 and stand_in.balance["usd"] == 10_000_000 - 500
    keys = {r[3]["Idempotency-Key"] for r in stand_in.requests if r[1] == "/v1/transfers"}
    assert keys == {sent["idempotency_key"]}


def test_a_refusal_is_kept_with_stripes_words_and_sent_again_once_fixed(
    client, admin, sessions, drain, stand_in
):
    make_shop(sessions, on_hand=20)
    _connect(sessions, stand_in)
    creator = _creator(client, admin, stripe_account="acct_Gone")
    _sell(client, sessions, drain, "ada")
    payout = _pay(client, admin, creator["id"])
    refused = payout["transfer"]
    assert refused["status"] == "refused" and "No such destination" in refused["error"]
    assert stand_in.transfers == []

    # The balance too low: Stripe's refusal, kept; nothing moved.
    fixed = client.patch(
        f"/api/v1/creators/{creator['id']}", headers=admin, json={"stripe_account": "acct_1Creator"}
    )
    assert fixed.status_code == 200 and fixed.json()["stripe_account"] == "acct_1Creator"
    stand_in.balance["usd"] = 100
    short = client.post(f"/api/v1/creators/payouts/{payout['id']}/transfer", headers=admin).json()
    assert short["status"] == "refused" and "Insufficient funds" in short["error"]
    assert stand_in.transfers == []

    stand_in.balance["usd"] = 10_000
    paid = client.post(f"/api/v1/creators/payouts/{payout['id']}/transfer", headers=admin).json()
    assert (paid["status"], paid["destination"], paid["attempts"]) == ("paid", "acct_1Creator", 3)
    assert paid["idempotency_key"] not in (refused["idempotency_key"], short["idempotency_key"])
    assert [t["amount"] for t in stand_in.transfers] == [500]


def test_without_stripe_or_an_account_the_payout_is_the_csv_only(
    client, admin, sessions, drain, stand_in
):
    make_shop(sessions, on_hand=20)
    creator = _creator(client, admin, stripe_account="acct_1Creator")
    _sell(client, sessions, drain, "ada")
    payout = _pay(client, admin, creator["id"])  # Stripe not configured
    assert payout["amount"] == 500 and payout["transfer"] is None
    refused = client.post(f"/api/v1/creators/payouts/{payout['id']}/transfer", headers=admin)
    assert refused.status_code == 409
    bad = client.patch(
        f"/api/v1/creators/{creator['id']}", headers=admin, json={"stripe_account": "ada@bank"}
    )
    assert bad.status_code == 422
    assert stand_in.requests == []


def test_the_stand_in_refuses_what_stripe_refuses(stand_in):
    from mercato.payments.providers import ProviderError
    from mercato.payments.stripe_provider import StripeProvider

    stripe = StripeProvider("sk_test_123", None, stand_in.url)
    for amount, destination, words in (
        (0, "acct_1Creator", "Invalid positive integer"),
        (500, "", "Missing required param: destination"),
    ):
        try:
            stripe.transfer(amount, "usd", destination, f"k-{amount}-{destination}")
        except ProviderError as exc:
            assert words in str(exc)
        else:
            raise AssertionError("Stripe would refuse this transfer")
    assert stand_in.transfers == []
