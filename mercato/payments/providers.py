"""The payment provider interface: create intent, confirm, capture, refund, webhook.

A provider only talks to its service; the checkout decides what a result means.
Payment methods are the provider's tokens (``tok_...``, ``pm_...``): no card number
ever reaches Mercato.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mercato.errors import MercatoError

# What an intent can be after an attempt, in Mercato's words.
SUCCEEDED, REQUIRES_ACTION, DECLINED, PROCESSING = (
    "succeeded",
    "requires_action",
    "declined",
    "processing",
)
# Made, but no payment method confirmed on it yet: it has taken no money.
UNCONFIRMED = ("requires_payment_method", "requires_confirmation")


@dataclass(frozen=True)
class PaymentRequest:
    amount: int
    currency: str
    # Same key, same intent: a retried attempt never makes a second charge.
    idempotency_key: str
    description: str = ""
    customer_ref: str | None = None
    # Ask the provider to keep the method for the buyer's next purchase.
    save_method: bool = False
    metadata: dict[str, str] | None = None
    # The payment method types offered (Stripe's ``payment_method_types``: card, ideal,
    # boleto...); None leaves the choice to the provider's own settings.
    payment_method_types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Intent:
    ref: str
    status: str
    amount: int
    currency: str
    failure_code: str | None = None
    failure_message: str | None = None
    # Where the buyer must go to authenticate (3-D Secure), when status is requires_action.
    next_action_url: str | None = None
    payment_method_ref: str | None = None
    payment_method_label: str | None = None
    customer_ref: str | None = None
    # What the buyer's browser confirms the intent with (the provider's own element);
    # shown to that page only, never stored.
    client_secret: str | None = None
    # The type of the method it was confirmed with (card, ideal, boleto...).
    method_type: str | None = None
    # A delayed method's voucher or code (Boleto, Pix): payable until ``pay_by``, its
    # instructions at ``instructions_url`` (the provider's page) or as ``instructions``
    # (the number or code to pay).
    pay_by: datetime | None = None
    instructions_url: str | None = None
    instructions: str | None = None
    # For fraud screening: the provider's id of the card number (the same card, the same
    # fingerprint, whoever types it), the billing address's country, and the provider's
    # own risk evaluation of the charge (Stripe: outcome.risk_level normal / elevated /
    # highest, outcome.risk_score 0-100; None when not evaluated).
    card_fingerprint: str | None = None
    billing_country: str | None = None
    risk_level: str | None = None
    risk_score: int | None = None


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    intent_ref: str | None
    status: str | None
    # A refund's news: which one, and its status now (succeeded, pending or failed).
    refund: RefundAnswer | None = None


@dataclass(frozen=True)
class RefundAnswer:
    """What the provider says of a refund: given back (succeeded), still on its way
    (pending: its outcome comes later, by webhook), or failed (with the reason)."""

    ref: str
    status: str
    failure: str | None = None


class ProviderError(MercatoError):
    """The provider could not be reached or refused the request itself (not a decline)."""

    slug = "payment-provider-error"
    title = "Payment provider error"
    status = 502


class WebhookRejected(MercatoError):
    """A webhook that is not the provider's: unsigned, badly signed or malformed."""

    slug = "webhook-rejected"
    title = "Webhook rejected"
    status = 400


class ProviderUnreachable(ProviderError):
    """No answer (a lost connection, the provider's own error): whether the request took
    effect is unknown, so it is asked again later with the same idempotency key."""

    slug = "payment-provider-unreachable"
    title = "Payment provider unreachable"


class PaymentProvider(Protocol):
    name: str

    def create_intent(self, request: PaymentRequest) -> Intent: ...

    def update_intent(self, intent_ref: str, request: PaymentRequest) -> Intent:
        """Bring an intent not yet confirmed to a new amount (the buyer changed shipping or
        a code) or to saving the method."""
        ...

    def confirm(
        self, intent_ref: str, payment_method: str, *, return_url: str, idempotency_key: str
    ) -> Intent: ...

    def retrieve(self, intent_ref: str) -> Intent: ...

    def capture(self, intent_ref: str, amount: int | None = None) -> Intent: ...

    def cancel(self, intent_ref: str) -> Intent:
        """Give up an intent that has taken no money (never confirmed, or not captured)."""
        ...

    def refund(self, intent_ref: str, amount: int, idempotency_key: str) -> RefundAnswer:
        """Return ``amount`` of a paid intent; the same key refunds once."""
        ...

    def refund_status(self, refund_ref: str) -> RefundAnswer:
        """A refund's status now (one still pending, whose webhook may have been lost)."""
        ...

    def parse_webhook(self, payload: bytes, headers: dict[str, str]) -> WebhookEvent: ...
