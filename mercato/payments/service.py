"""Which provider takes payments, its encrypted settings, and payment records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import InvalidToken
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mercato.config import get_settings
from mercato.crypto import fernet
from mercato.db import utcnow
from mercato.errors import FieldError, ValidationFailed
from mercato.outbound import require_safe_url
from mercato.payments.models import Payment, ProviderAccount
from mercato.payments.providers import UNCONFIRMED, Intent, PaymentProvider, ProviderError
from mercato.payments.sandbox import SandboxProvider
from mercato.payments.stripe_provider import StripeProvider

PROVIDERS = ("sandbox", "stripe")
_CONTEXT = b"mercato/payment-providers/v1"
# One sandbox per process: its intents live in memory, like a provider's own ledger.
_sandbox = SandboxProvider()


def sandbox() -> SandboxProvider:
    return _sandbox


# What each kind of Stripe key starts with; test and live keys never mix.
KEY_PREFIXES = {"secret_key": ("sk_", "rk_"), "public_key": ("pk_",), "webhook_secret": ("whsec_",)}


@dataclass
class ProviderSettings:
    """A provider's settings as shown to the merchant: secrets masked."""

    name: str
    active: bool
    publishable_key: str | None
    api_base: str | None
    secret_key: str | None
    webhook_secret: str | None
    webhook_url: str | None
    updated_at: datetime | None


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
    """Save a provider's settings (secrets encrypted) and make it the active one.

    Keys left out keep their stored values, so a secret need not be typed again to
    change another setting; ``api_base`` (a local stand-in's address) is always as given.
    """
    if name not in PROVIDERS:
        raise ValidationFailed(
            f"Unknown payment provider {name!r}.",
            [FieldError(("provider",), f"one of {', '.join(PROVIDERS)}")],
        )
    if api_base:
        require_safe_url(api_base, ("api_base",))
    account = session.get(ProviderAccount, name) or ProviderAccount(name=name)
    given = {"secret_key": secret_key, "webhook_secret": webhook_secret, "public_key": public_key}
    given = {k: v.strip() for k, v in given.items() if v and v.strip()}
    if name == "sandbox":
        if given:
            raise ValidationFailed(
                "The sandbox takes no keys.",
                [FieldError((k,), "not used by the sandbox") for k in sorted(given)],
            )
        secrets, public_key = {}, None
    else:
        try:
            stored = _secrets(account)
        except ProviderError:  # saved under another secret key: these replace them
            stored = {}
        secrets = {
            **stored,
            **{k: given[k] for k in ("secret_key", "webhook_secret") if k in given},
        }
        public_key = given.get("public_key", account.public_key)
        _check_keys({**secrets, "public_key": public_key})
    session.add(account)
    account.secrets_encrypted = (
        fernet(_CONTEXT).encrypt(json.dumps(secrets).encode()).decode() if secrets else ""
    )
    account.public_key, account.api_base, account.updated_at = public_key, api_base, utcnow()
    if activate:
        session.execute(
            update(ProviderAccount).where(ProviderAccount.name != name).values(active=False)
        )
        account.active = True
    session.flush()
    return account


def _check_keys(keys: dict[str, str | None]) -> None:
    errors = []
    if not keys.get("secret_key"):
        errors.append(FieldError(("secret_key",), "required for stripe", "required"))
    for field, value in keys.items():
        if value and not value.startswith(KEY_PREFIXES[field]):
            errors.append(
                FieldError((field,), f"a Stripe key starts with {' or '.join(KEY_PREFIXES[field])}")
            )
    modes = {
        field: "live" if "_live_" in value else "test"
        for field, value in keys.items()
        if value and field != "webhook_secret"
    }
    if len(set(modes.values())) > 1:
        errors.append(
            FieldError(
                ("public_key",),
                f"is a {modes['public_key']} key; the secret key is a {modes['secret_key']} key",
            )
        )
    if errors:
        raise ValidationFailed("The Stripe settings are not valid.", errors)


UNREADABLE = "(cannot be decrypted: the secret key changed; configure again)"


def mask(secret: str | None) -> str | None:
    """Enough of a secret to tell which one it is: its kind and mode, and its end."""
    if not secret or secret == UNREADABLE:
        return secret
    kind = next(
        (
            p
            for p in ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "whsec_")
            if secret.startswith(p)
        ),
        "",
    )
    return f"{kind}…{secret[-4:]}" if len(secret) > len(kind) + 8 else f"{kind}…"


def settings(session: Session) -> list[ProviderSettings]:
    """Every configured provider, secrets masked; the sandbox (active) when none is."""
    accounts = list(session.scalars(select(ProviderAccount).order_by(ProviderAccount.name)))
    if not any(a.active for a in accounts):
        accounts.insert(0, ProviderAccount(name="sandbox", active=True))
    base = get_settings().base_url.rstrip("/")
    shown = []
    for account in accounts:
        try:
            secrets = _secrets(account)
        except ProviderError:
            secrets = {"secret_key": UNREADABLE, "webhook_secret": UNREADABLE}
        shown.append(
            ProviderSettings(
                account.name,
                bool(account.active),
                account.public_key,
                account.api_base,
                mask(secrets.get("secret_key")),
                mask(secrets.get("webhook_secret")),
                f"{base}/api/v1/payments/webhooks/{account.name}"
                if account.name != "sandbox"
                else None,
                account.updated_at,
            )
        )
    return shown


def active_settings(session: Session) -> ProviderSettings:
    return next(s for s in settings(session) if s.active)


def _secrets(account: ProviderAccount) -> dict[str, str]:
    if not account.secrets_encrypted:
        return {}
    try:
        return json.loads(fernet(_CONTEXT).decrypt(account.secrets_encrypted.encode()))
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


# The active provider's name, for a query that reads it along with what it is for.
ACTIVE_PROVIDER = (
    select(ProviderAccount.name).where(ProviderAccount.active).limit(1).scalar_subquery()
)


def provider_named(session: Session, name: str | None) -> PaymentProvider:
    """``provider`` when the active one's name was read already (``ACTIVE_PROVIDER``):
    the sandbox needs nothing more from the database."""
    if name in (None, "sandbox"):
        return _sandbox
    return provider(session, name)


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


def record(session: Session, payment: Payment, intent: Intent, *, flush: bool = True) -> Payment:
    """Write what the provider said about a payment (a decline may name no amount);
    ``flush=False`` leaves the write to the transaction's next flush."""
    payment.intent_ref = intent.ref
    if intent.method_type:
        payment.method = intent.method_type
    if intent.currency:
        payment.amount, payment.currency = intent.amount, intent.currency.upper()
    payment.status = (
        intent.status
        if intent.status in ("succeeded", "requires_action", "declined")
        else "pending"
        if intent.status in UNCONFIRMED
        else "processing"
    )
    payment.failure_code, payment.failure_message = intent.failure_code, intent.failure_message
    payment.updated_at = utcnow()
    if flush:
        session.flush()
    return payment
