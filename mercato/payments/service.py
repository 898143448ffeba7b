"""Which provider takes payments, its encrypted settings, and payment records."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mercato.config import get_settings
from mercato.db import utcnow
from mercato.errors import FieldError, ValidationFailed
from mercato.payments.models import Payment, ProviderAccount
from mercato.payments.providers import Intent, PaymentProvider, ProviderError
from mercato.payments.sandbox import SandboxProvider
from mercato.payments.stripe_provider import StripeProvider

PROVIDERS = ("sandbox", "stripe")
_CONTEXT = b"mercato/payment-providers/v1"
# One sandbox per process: its intents live in memory, like a provider's own ledger.
_sandbox = SandboxProvider()


def sandbox() -> SandboxProvider:
    return _sandbox


def _fernet() -> Fernet:
    secret = get_settings().resolved_secret_key().encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(_CONTEXT + b"\0" + secret).digest()))


def configure(
    session: Session,
    name: str,
    *,
    secret_key: str | None = None,
    webhook_secret: str | None = None,
    public_key: str | None = None,
    api_base: str | None = None,
    activate: bool = True,
) -> ProviderAccount:
    """Save a provider's settings (secrets encrypted) and make it the active one."""
    if name not in PROVIDERS:
        raise ValidationFailed(
            f"Unknown payment provider {name!r}.",
            [FieldError(("provider",), f"one of {', '.join(PROVIDERS)}")],
        )
    if name == "stripe" and not secret_key:
        raise ValidationFailed(
            "Stripe needs its secret key.", [FieldError(("secret_key",), "required for stripe")]
        )
    account = session.get(ProviderAccount, name) or ProviderAccount(name=name)
    session.add(account)
    secrets = {
        k: v for k, v in (("secret_key", secret_key), ("webhook_secret", webhook_secret)) if v
    }
    account.secrets_encrypted = (
        _fernet().encrypt(json.dumps(secrets).encode()).decode() if secrets else ""
    )
    account.public_key, account.api_base, account.updated_at = public_key, api_base, utcnow()
    if activate:
        session.execute(
            update(ProviderAccount).where(ProviderAccount.name != name).values(active=False)
        )
        account.active = True
    session.flush()
    return account


def _secrets(account: ProviderAccount) -> dict[str, str]:
    if not account.secrets_encrypted:
        return {}
    try:
        return json.loads(_fernet().decrypt(account.secrets_encrypted.encode()))
    except InvalidToken:
        raise ProviderError(
            "The payment provider's secrets cannot be decrypted: the secret "
            "key changed. Configure the provider again."
        ) from None


def provider(session: Session, name: str | None = None) -> PaymentProvider:
    """The named provider, else the active one; the sandbox when none is configured."""
    query = select(ProviderAccount).where(
        ProviderAccount.name == name if name else ProviderAccount.active
    )
    account = session.scalar(query)
    if account is None or account.name == "sandbox":
        if name not in (None, "sandbox"):
            raise ProviderError(f"The payment provider {name!r} is not configured.")
        return _sandbox
    secrets = _secrets(account)
    return StripeProvider(secrets["secret_key"], secrets.get("webhook_secret"), account.api_base)


def browser_key(session: Session) -> str | None:
    """The active provider's publishable key when buyers type card details into its own
    element on the page (Stripe); None for the sandbox's test cards."""
    account = session.scalar(select(ProviderAccount).where(ProviderAccount.active))
    if account is None or account.name == "sandbox":
        return None
    return account.public_key


def attempt(session: Session, checkout_id: str, attempt_key: str) -> Payment | None:
    return session.scalar(
        select(Payment).where(
            Payment.checkout_id == checkout_id, Payment.attempt_key == attempt_key
        )
    )


def by_intent(session: Session, intent_ref: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.intent_ref == intent_ref))


def record(
    session: Session,
    payment: Payment | None,
    *,
    checkout_id: str,
    attempt_key: str,
    provider_name: str,
    amount: int,
    currency: str,
    intent: Intent,
) -> Payment:
    """Write what the provider said about an attempt."""
    if payment is None:
        payment = Payment(checkout_id=checkout_id, attempt_key=attempt_key, provider=provider_name)
        session.add(payment)
    payment.intent_ref, payment.amount, payment.currency = intent.ref, amount, currency
    payment.status = (
        intent.status
        if intent.status in ("succeeded", "requires_action", "declined")
        else "processing"
    )
    payment.failure_code, payment.failure_message = intent.failure_code, intent.failure_message
    payment.updated_at = utcnow()
    session.flush()
    return payment
