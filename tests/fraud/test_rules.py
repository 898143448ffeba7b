"""The rules as pure functions, and what the payment providers give them."""

from __future__ import annotations

from mercato.fraud import rules
from mercato.fraud.rules import Policy, Signals
from mercato.payments.stripe_provider import StripeProvider


def _policy(**changes) -> Policy:
    base = dict(
        enabled=True,
        hold_at=50,
        cancel_at=90,
        window_minutes=60,
        limits={r: a for r, (_, a) in rules.VELOCITY.items()},
        weights=dict(rules.RULES),
        first_order_amount=25_000,
    )
    return Policy(**{**base, **changes})


def test_each_reason_says_why_and_the_score_decides():
    signals = Signals(
        channel="storefront",
        amount=30_000,
        currency="EUR",
        email="a@sub.yopmail.com",
        billing_country="NL",
        shipping_country="US",
        ip_country="BR",
        provider_risk_level="highest",
        provider_risk_score=91,
    )
    verdict = rules.score(signals, {}, _policy())
    assert [(r["rule"], r["points"]) for r in verdict.reasons] == [
        ("country_mismatch", 20),
        ("first_order_above", 25),
        ("disposable_email", 30),
        ("provider_risk_highest", 70),
    ]
    assert verdict.reasons[0]["reason"] == "countries differ: billing NL, shipping US, IP BR"
    assert verdict.reasons[1]["reason"] == ("first order of this buyer, 300.00 EUR (above 250.00)")
    assert verdict.score == 145 and verdict.decision == "cancel"
    assert rules.score(signals, {}, _policy(cancel_at=None)).decision == "hold"


def test_a_weight_of_zero_turns_a_rule_off_and_a_known_buyer_is_not_first():
    signals = Signals(
        channel="tiktok", amount=90_000, currency="USD", email="a@b.com", earlier_orders=2
    )
    assert rules.score(signals, {"email": 9}, _policy(weights={"velocity_email": 0})).reasons == []
    assert rules.score(signals, {}, _policy()).decision == "approve"


def test_the_stripe_charge_outcome_and_card_fingerprint_are_read():
    class Found:
        def to_dict(self):
            return {
                "id": "pi_1",
                "status": "succeeded",
                "amount": 500,
                "currency": "eur",
                "payment_method": {
                    "id": "pm_1",
                    "card": {"brand": "visa", "last4": "9235", "fingerprint": "Xt5EWLLDS7FJjR1c"},
                    "billing_details": {"address": {"country": "NL"}},
                },
                "latest_charge": {
                    "id": "ch_1",
                    "outcome": {"risk_level": "elevated", "risk_score": 65, "type": "authorized"},
                },
            }

    intent = StripeProvider._intent(Found())
    assert (intent.card_fingerprint, intent.billing_country) == ("Xt5EWLLDS7FJjR1c", "NL")
    assert (intent.risk_level, intent.risk_score) == ("elevated", 65)


def test_not_assessed_is_no_evaluation():
    class Found:
        def to_dict(self):
            return {
                "id": "pi_2",
                "status": "succeeded",
                "amount": 500,
                "currency": "eur",
                "payment_method": "pm_2",
                "latest_charge": {"outcome": {"risk_level": "not_assessed"}},
            }

    intent = StripeProvider._intent(Found())
    assert (intent.risk_level, intent.risk_score, intent.card_fingerprint) == (None, None, None)
