"""The payment method types a market may offer, as Stripe documents them: the currencies
each takes, the buyers' countries it serves, and how it is paid (at once, by a redirect
to the bank, or later, by a voucher or code the buyer pays elsewhere). Sources in
docs/payments.md.

``payment_method_types`` on a PaymentIntent lists these names; the sandbox and the
stand-in of Stripe refuse a type the intent's currency does not take, as Stripe does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from mercato.errors import FieldError, ValidationFailed

# How the buyer pays: ``immediate`` (card and wallets: the answer comes at once, a 3-D
# Secure step aside), ``redirect`` (to the bank or provider and back to return_url, the
# answer known on return), ``delayed`` (a voucher or a code paid elsewhere: the intent
# waits in requires_action until a webhook says paid or failed).
IMMEDIATE, REDIRECT, DELAYED = "immediate", "redirect", "delayed"


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    flow: str
    # None: any currency Stripe charges in.
    currencies: frozenset[str] | None
    # Where its buyers are; None: anywhere.
    countries: frozenset[str] | None
    # How long a delayed method's voucher or code stays payable by default.
    payable_for: timedelta | None = None


KLARNA_COUNTRIES = frozenset(
    "AU AT BE CA CZ DK FI FR GR DE IE IT NL NZ NO PL PT RO ES SE CH GB US".split()
)
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        # Wallets (Apple Pay, Google Pay) are offered under the card type.
        Method("card", "Card", IMMEDIATE, None, None),
        Method("ideal", "iDEAL", REDIRECT, frozenset({"EUR"}), frozenset({"NL"})),
        Method("bancontact", "Bancontact", REDIRECT, frozenset({"EUR"}), frozenset({"BE"})),
        Method(
            "klarna",
            "Klarna",
            REDIRECT,
            frozenset("AUD CAD CHF CZK DKK EUR GBP NOK NZD PLN RON SEK USD".split()),
            KLARNA_COUNTRIES,
        ),
        Method(
            "pix",
            "Pix",
            DELAYED,
            frozenset({"BRL"}),
            frozenset({"BR"}),
            payable_for=timedelta(days=1),
        ),
        Method(
            "boleto",
            "Boleto",
            DELAYED,
            frozenset({"BRL"}),
            frozenset({"BR"}),
            payable_for=timedelta(days=3),
        ),
    )
}
DEFAULT = ("card",)
# Stripe's smallest charge per currency, in minor units [I: docs.stripe.com/currencies];
# a currency not listed here has no floor in the sandbox.
MINIMUM_CHARGE = {
    "EUR": 50,
    "USD": 50,
    "GBP": 30,
    "BRL": 50,
    "CHF": 50,
    "DKK": 250,
    "SEK": 300,
    "NOK": 300,
    "PLN": 200,
}
# How long after a delayed method's code lapses the provider may still report it paid.
NOTICE_GRACE = timedelta(hours=1)


def method(name: str) -> Method | None:
    return METHODS.get(name)


def flow_of(name: str | None) -> str:
    found = METHODS.get(name or "")
    return found.flow if found else IMMEDIATE


def check(
    names: Iterable[str], currency: str, countries: Iterable[str], field: str = "payment_methods"
) -> list[str]:
    """The method types a market in ``currency`` selling to ``countries`` may offer, in
    order, once each; refuses (naming ``field`` and the entry) an unknown type, one the
    currency does not take, or one serving none of the countries."""
    found, errors = [], []
    countries = {c.upper() for c in countries}
    currency = currency.upper()
    for index, raw in enumerate(names):
        name = (raw or "").strip().lower()
        known = METHODS.get(name)
        if known is None:
            errors.append(FieldError((field, index), f"{raw!r} is not one of {', '.join(METHODS)}"))
        elif known.currencies is not None and currency not in known.currencies:
            takes = ", ".join(sorted(known.currencies))
            errors.append(
                FieldError((field, index), f"{known.label} takes {takes}, not {currency}")
            )
        elif known.countries is not None and countries and not countries & known.countries:
            serves = ", ".join(sorted(known.countries))
            errors.append(
                FieldError((field, index), f"{known.label} serves buyers in {serves} only")
            )
        elif name not in found:
            found.append(name)
    if errors:
        raise ValidationFailed("Some payment methods cannot be offered in this market.", errors)
    if not found:
        raise ValidationFailed(
            "A market offers at least one payment method.",
            [FieldError((field,), "give at least one, e.g. card", "required")],
        )
    return found


def refusal(name: str, currency: str, amount: int) -> str | None:
    """Why Stripe refuses ``name`` for this currency and amount, or None."""
    known = METHODS.get(name)
    if known is None:
        return f"The payment method type {name!r} is invalid."
    if known.currencies is not None and currency.upper() not in known.currencies:
        takes = ", ".join(c.lower() for c in sorted(known.currencies))
        return (
            f"The currency provided ({currency.lower()}) is invalid. Payments with {name} "
            f"support the following currencies: {takes}."
        )
    floor = MINIMUM_CHARGE.get(currency.upper())
    if floor is not None and amount < floor:
        return f"Amount must be at least {floor} {currency.lower()} minor units."
    return None
