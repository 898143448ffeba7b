"""The built-in ``sandbox`` provider: the whole flow works with no account anywhere.

Test tokens (as Stripe's): ``tok_visa`` succeeds, ``tok_chargeDeclined`` is declined,
``tok_threeDSecureRequired`` needs the buyer to authenticate first; as Stripe's Radar
test tokens (https://docs.stripe.com/radar/testing), ``tok_riskLevelElevated`` and
``tok_riskLevelHighest`` succeed with that risk level on the charge. Every paid card
intent carries its card's fingerprint (one per token, as one per card number) and a
risk level (``normal`` unless the token says otherwise). Intents live in this
process's memory, keyed by idempotency key like a real provider's.

Local methods are confirmed by their type's name (``ideal``, ``bancontact``, ``klarna``,
``pix``, ``boleto``), as Stripe's: a redirect method sends the buyer to a stand-in of the
bank's page and back to ``return_url`` with ``payment_intent``,
``payment_intent_client_secret`` and ``redirect_status``; a delayed one waits in
requires_action (a voucher or code payable until ``pay_by``) until ``settle`` says it was
paid or lapsed, and a signed ``payment_intent.succeeded`` or
``payment_intent.payment_failed`` event tells the shop. Like Stripe, it refuses a type the
intent's ``payment_method_types`` leaves out, one its currency does not take, and an
amount below the currency's smallest charge.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from mercato.payments import methods
from mercato.payments.providers import (
    DECLINED,
    REQUIRES_ACTION,
    SUCCEEDED,
    Intent,
    PaymentRequest,
    ProviderError,
    RefundAnswer,
    WebhookEvent,
    WebhookRejected,
)

TEST_TOKENS = {
    "tok_visa": ("Visa", "4242", SUCCEEDED),
    "tok_mastercard": ("Mastercard", "4444", SUCCEEDED),
    "tok_chargeDeclined": ("Visa", "0002", DECLINED),
    "tok_threeDSecureRequired": ("Visa", "3155", REQUIRES_ACTION),
    "tok_riskLevelElevated": ("Visa", "9235", SUCCEEDED),
    "tok_riskLevelHighest": ("Visa", "4954", SUCCEEDED),
}
# Stripe Radar's outcome.risk_level (and a risk_score in its range) per test token.
RISK = {
    "tok_riskLevelElevated": ("elevated", 72),
    "tok_riskLevelHighest": ("highest", 91),
}
DECLINE_MESSAGE = "Your card was declined. Try another card or payment method."
SIGNATURE_HEADER = "mercato-sandbox-signature"


class SandboxProvider:
    name = "sandbox"

    def __init__(self, webhook_secret: str = "sandbox"):
        self._lock = threading.Lock()
        self._intents: dict[str, Intent] = {}
        self._by_key: dict[str, str] = {}
        self._saved: dict[str, str] = {}  # pm ref -> the test token it was saved from
        # idempotency key -> (refund ref, intent ref, amount)
        self._refunds: dict[str, tuple[str, str, int]] = {}
        self._types: dict[str, tuple[str, ...] | None] = {}  # intent -> payment_method_types
        self._return: dict[str, str] = {}  # intent -> where a redirect method comes back
        self._events = 0
        self.webhook_secret = webhook_secret
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # ------------------------------------------------------------ the interface

    def create_intent(self, request: PaymentRequest) -> Intent:
        _check_types(request)
        with self._lock:
            ref = self._by_key.get(request.idempotency_key)
            if ref is None:
                ref = "pi_sbx_" + _digest(request.idempotency_key)
                self._types[ref] = request.payment_method_types
                self._by_key[request.idempotency_key] = ref
                self._intents[ref] = Intent(
                    ref,
                    "requires_payment_method",
                    request.amount,
                    request.currency,
                    customer_ref=(
                        request.customer_ref
                        or ("cus_sbx_" + _digest(ref) if request.save_method else None)
                    ),
                    client_secret=f"{ref}_secret_{_digest(ref + ':secret')[:12]}",
                )
            return self._intents[ref]

    def update_intent(self, intent_ref: str, request: PaymentRequest) -> Intent:
        _check_types(request)
        with self._lock:
            intent = self._get(intent_ref)
            if intent.status in (SUCCEEDED, REQUIRES_ACTION):
                raise ProviderError(f"Intent {intent_ref} can no longer change.")
            if request.payment_method_types:
                self._types[intent_ref] = request.payment_method_types
            intent = replace(intent, amount=request.amount, currency=request.currency)
            self._intents[intent_ref] = intent
            return intent

    def confirm(
        self, intent_ref: str, payment_method: str, *, return_url: str, idempotency_key: str
    ) -> Intent:
        with self._lock:
            intent = self._get(intent_ref)
            if intent.status in (SUCCEEDED, REQUIRES_ACTION):
                return intent  # a replayed confirm changes nothing
            method_type = payment_method if payment_method in methods.METHODS else "card"
            allowed = self._types.get(intent_ref)
            if allowed and method_type not in allowed:
                raise ProviderError(
                    f"The payment method type {method_type!r} is not in this PaymentIntent's "
                    f"payment_method_types ({', '.join(allowed)})."
                )
            if method_type != "card":
                return self._confirm_local(intent, method_type, return_url)
            token = self._saved.get(payment_method, payment_method)
            if token not in TEST_TOKENS:
                raise ProviderError(
                    f"Unknown sandbox payment method {payment_method!r}; use "
                    f"one of {', '.join(TEST_TOKENS)}."
                )
            brand, last4, outcome = TEST_TOKENS[token]
            level, risk_score = RISK.get(token, ("normal", 12))
            pm_ref = (
                payment_method
                if payment_method in self._saved
                else ("pm_sbx_" + _digest(intent_ref + token))
            )
            intent = replace(
                intent,
                status=outcome,
                payment_method_ref=pm_ref,
                payment_method_label=f"{brand} •••• {last4}",
                card_fingerprint="fp_sbx_" + _digest(token)[:16],
                risk_level=level if outcome != DECLINED else None,
                risk_score=risk_score if outcome != DECLINED else None,
                failure_code="card_declined" if outcome == DECLINED else None,
                failure_message=DECLINE_MESSAGE if outcome == DECLINED else None,
                next_action_url=return_url + "?authenticate=1"
                if outcome == REQUIRES_ACTION
                else None,
                method_type="card",
            )
            if outcome != DECLINED:
                self._saved[pm_ref] = token
            self._intents[intent_ref] = intent
            return intent

    def _confirm_local(self, intent: Intent, method_type: str, return_url: str) -> Intent:
        """A local method: off to the bank's stand-in page (redirect), or a voucher or code
        payable until a deadline (delayed). Refused as Stripe refuses it."""
        refused = methods.refusal(method_type, intent.currency, intent.amount)
        if refused:
            raise ProviderError(refused)
        found = methods.METHODS[method_type]
        if found.flow == methods.REDIRECT:
            self._return[intent.ref] = return_url
            intent = replace(
                intent,
                status=REQUIRES_ACTION,
                method_type=method_type,
                payment_method_label=found.label,
                next_action_url=return_url + "?" + urlencode({"authorize": intent.ref}),
            )
        else:
            code = _digest(intent.ref + method_type)
            intent = replace(
                intent,
                status=REQUIRES_ACTION,
                method_type=method_type,
                payment_method_label=found.label,
                next_action_url=None,
                pay_by=self.clock() + found.payable_for,
                instructions=(
                    " ".join(str(int(code[i : i + 5], 16) % 100000).zfill(5) for i in (0, 5, 10))
                    if method_type == "boleto"
                    else "00020126580014br.gov.bcb.pix" + code
                ),
            )
        self._intents[intent.ref] = intent
        return intent

    def retrieve(self, intent_ref: str) -> Intent:
        with self._lock:
            return self._get(intent_ref)

    def capture(self, intent_ref: str, amount: int | None = None) -> Intent:
        # Sandbox intents capture on confirmation.
        return self.retrieve(intent_ref)

    def cancel(self, intent_ref: str) -> Intent:
        with self._lock:
            intent = self._get(intent_ref)
            if intent.status == SUCCEEDED:
                raise ProviderError(f"Intent {intent_ref} has been paid; refund it instead.")
            intent = replace(intent, status=DECLINED, failure_code="canceled", next_action_url=None)
            self._intents[intent_ref] = intent
            return intent

    def refund(self, intent_ref: str, amount: int, idempotency_key: str) -> RefundAnswer:
        with self._lock:
            intent = self._get(intent_ref)
            if intent.status != SUCCEEDED:
                raise ProviderError(f"Intent {intent_ref} has not been paid.")
            if idempotency_key in self._refunds:
                return RefundAnswer(self._refunds[idempotency_key][0], "succeeded")
            if amount > intent.amount - self._refunded(intent_ref):
                raise ProviderError(f"A refund of {amount} exceeds what {intent_ref} has left.")
            ref = "re_sbx_" + _digest(idempotency_key)
            self._refunds[idempotency_key] = (ref, intent_ref, amount)
            return RefundAnswer(ref, "succeeded")

    def refund_status(self, refund_ref: str) -> RefundAnswer:
        with self._lock:
            if all(ref != refund_ref for ref, _, _ in self._refunds.values()):
                raise ProviderError(f"No refund {refund_ref}.")
        return RefundAnswer(refund_ref, "succeeded")

    def refunded(self, intent_ref: str) -> int:
        """How much of an intent was given back."""
        with self._lock:
            return self._refunded(intent_ref)

    def _refunded(self, intent_ref: str) -> int:
        return sum(a for _, ref, a in self._refunds.values() if ref == intent_ref)

    def parse_webhook(self, payload: bytes, headers: dict[str, str]) -> WebhookEvent:
        expected = self.sign(payload)
        if not hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, "")):
            raise WebhookRejected("The webhook signature does not match.")
        try:
            body = json.loads(payload)
            return WebhookEvent(body["id"], body["type"], body.get("intent"), body.get("status"))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise WebhookRejected("The webhook's body is not a sandbox event.") from None

    # ------------------------------------------------------------ sandbox only

    def authenticate(self, intent_ref: str, approved: bool) -> Intent:
        """The buyer's answer on the sandbox's 3-D Secure page, or on its stand-in of a
        redirect method's bank page."""
        with self._lock:
            intent = self._get(intent_ref)
            if intent.status == REQUIRES_ACTION and intent.pay_by is None:
                intent = replace(
                    intent,
                    status=SUCCEEDED if approved else DECLINED,
                    next_action_url=None,
                    failure_code=None if approved else "authentication_failed",
                    failure_message=None
                    if approved
                    else "The card's authentication failed. Try another card."
                    if intent.method_type in (None, "card")
                    else f"The {intent.payment_method_label} payment was not authorised.",
                )
                self._intents[intent_ref] = intent
            return intent

    def returned_to(self, intent_ref: str) -> str | None:
        """Where the stand-in bank page sends the buyer back, as Stripe does: the
        confirmation's return_url with the intent, its client secret and how it went."""
        with self._lock:
            intent, back = self._get(intent_ref), self._return.get(intent_ref)
        if back is None:
            return None
        query = {
            "payment_intent": intent.ref,
            "payment_intent_client_secret": intent.client_secret or "",
            "redirect_status": "succeeded" if intent.status == SUCCEEDED else "failed",
        }
        return back + ("&" if "?" in back else "?") + urlencode(query)

    def settle(self, intent_ref: str, paid: bool) -> bytes:
        """A delayed method's outcome: the buyer paid the voucher or code, or it lapsed.
        Returns the event the provider sends (``sign`` it for the webhook's header)."""
        with self._lock:
            intent = self._get(intent_ref)
            if intent.status != REQUIRES_ACTION or intent.pay_by is None:
                raise ProviderError(f"Intent {intent_ref} is not waiting for a voucher or code.")
            intent = replace(
                intent,
                status=SUCCEEDED if paid else DECLINED,
                failure_code=None if paid else "payment_method_expired",
                failure_message=None
                if paid
                else f"The {intent.payment_method_label} was not paid in time.",
            )
            self._intents[intent_ref] = intent
            self._events += 1
            event = {
                "id": f"evt_sbx_{_digest(intent_ref)}_{self._events}",
                "type": "payment_intent.succeeded" if paid else "payment_intent.payment_failed",
                "intent": intent_ref,
                "status": intent.status,
            }
        return json.dumps(event).encode()

    def payment_method_types(self, intent_ref: str) -> tuple[str, ...] | None:
        """The types an intent was made to offer (tests: the market's)."""
        with self._lock:
            return self._types.get(intent_ref)

    def charges(self) -> int:
        """How many intents were paid (tests: one checkout, one charge)."""
        with self._lock:
            return sum(1 for i in self._intents.values() if i.status == SUCCEEDED)

    def sign(self, payload: bytes) -> str:
        return hmac.new(self.webhook_secret.encode(), payload, hashlib.sha256).hexdigest()

    def _get(self, intent_ref: str) -> Intent:
        intent = self._intents.get(intent_ref)
        if intent is None:
            raise ProviderError(f"No sandbox intent {intent_ref!r}.")
        return intent


def _check_types(request: PaymentRequest) -> None:
    """Stripe refuses an intent whose payment_method_types its currency does not take."""
    for name in request.payment_method_types or ():
        known = methods.METHODS.get(name)
        if known is None:
            raise ProviderError(f"The payment method type {name!r} is invalid.")
        if known.currencies is not None and request.currency.upper() not in known.currencies:
            raise ProviderError(methods.refusal(name, request.currency, request.amount))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:24]
