"""The rules: each looks at an order's signals and, when it applies, gives its points and
says why in words a merchant reads. The score is the sum; the store's thresholds turn it
into a decision (``decide``). Pure functions: the counts they read are made by
``service``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from mercato.money import format_plain

# Rule name -> default points. Every rule is listed here and nowhere else.
RULES: dict[str, int] = {
    "velocity_email": 30,
    "velocity_phone": 30,
    "velocity_card": 40,
    "velocity_ip": 30,
    "velocity_device": 40,
    "country_mismatch": 20,
    "first_order_above": 25,
    "disposable_email": 30,
    "provider_risk_elevated": 30,
    "provider_risk_highest": 70,
    "platform_risk": 50,
}
# The keys counted for velocity: rule -> (signal, default orders allowed in the window).
VELOCITY: dict[str, tuple[str, int]] = {
    "velocity_email": ("email", 3),
    "velocity_phone": ("phone", 3),
    "velocity_card": ("card_fingerprint", 3),
    "velocity_ip": ("ip", 5),
    "velocity_device": ("device_id", 5),
}
KEY_WORDS = {
    "email": "email address",
    "phone": "phone number",
    "card_fingerprint": "card",
    "ip": "IP address",
    "device_id": "device",
}
DEFAULT_HOLD_AT = 50
DEFAULT_CANCEL_AT: int | None = None
DEFAULT_WINDOW_MINUTES = 60
# 250.00 in a two-decimal currency.
DEFAULT_FIRST_ORDER_AMOUNT = 25_000
MAX_POINTS = 1000


@dataclass(frozen=True)
class Signals:
    """What is known of an order when it is screened. Velocity keys are counted over the
    store's window; the rest is read as it is."""

    channel: str
    amount: int
    currency: str
    email: str | None = None
    phone: str | None = None
    card_fingerprint: str | None = None
    ip: str | None = None
    device_id: str | None = None
    billing_country: str | None = None
    shipping_country: str | None = None
    # Only from a trusted source: a configured header (e.g. CF-IPCountry) or the caller.
    ip_country: str | None = None
    # The buyer's earlier orders (same email or phone), not cancelled.
    earlier_orders: int = 0
    # The payment provider's own evaluation (Stripe: the Charge's outcome.risk_level,
    # normal / elevated / highest, and outcome.risk_score 0-100).
    provider_risk_level: str | None = None
    provider_risk_score: int | None = None
    # A platform's own risk flag, where the platform documents one (none does today).
    platform_risk: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Policy:
    enabled: bool
    hold_at: int
    cancel_at: int | None
    window_minutes: int
    limits: dict[str, int]
    weights: dict[str, int]
    first_order_amount: int
    # Per currency, where set (code -> minor units); else ``first_order_amount``.
    first_order_amounts: dict[str, int] = field(default_factory=dict)

    def first_order_above(self, currency: str) -> int:
        return self.first_order_amounts.get(currency.upper(), self.first_order_amount)


@dataclass
class Verdict:
    score: int
    decision: str
    reasons: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        if not self.reasons:
            return "no rule applied"
        return "; ".join(f"{r['reason']} (+{r['points']})" for r in self.reasons)


@cache
def disposable_domains() -> frozenset[str]:
    text = resources.files("mercato.fraud").joinpath("data/disposable_domains.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def is_disposable(email: str | None) -> bool:
    if not email or "@" not in email:
        return False
    domain = email.rsplit("@", 1)[1].lower().rstrip(".")
    found = disposable_domains()
    # A sub-domain of a listed domain is the same service.
    return any(".".join(domain.split(".")[i:]) in found for i in range(domain.count(".")))


def score(signals: Signals, counts: dict[str, int], policy: Policy) -> Verdict:
    """Every rule that applies, with its points and why; ``counts``: orders seen with each
    velocity key within the window, this one included."""
    reasons: list[dict] = []

    def add(rule: str, reason: str) -> None:
        points = policy.weights.get(rule, RULES[rule])
        if points:
            reasons.append({"rule": rule, "points": points, "reason": reason})

    window = _window_words(policy.window_minutes)
    for rule, (key, _) in VELOCITY.items():
        seen, allowed = counts.get(key, 0), policy.limits.get(rule, VELOCITY[rule][1])
        if getattr(signals, key) and seen > allowed:
            add(rule, f"{seen} orders from one {KEY_WORDS[key]} in {window} (over {allowed})")
    countries = {
        name: value.upper()
        for name, value in (
            ("billing", signals.billing_country),
            ("shipping", signals.shipping_country),
            ("IP", signals.ip_country),
        )
        if value
    }
    if len(set(countries.values())) > 1:
        add(
            "country_mismatch",
            "countries differ: " + ", ".join(f"{k} {v}" for k, v in countries.items()),
        )
    threshold = policy.first_order_above(signals.currency)
    if signals.earlier_orders == 0 and signals.amount > threshold:
        shown = format_plain(signals.amount, signals.currency)
        above = format_plain(threshold, signals.currency)
        add(
            "first_order_above",
            f"first order of this buyer, {shown} {signals.currency} (above {above})",
        )
    if is_disposable(signals.email):
        add("disposable_email", f"throw-away email domain ({signals.email.rsplit('@', 1)[1]})")
    level = (signals.provider_risk_level or "").lower()
    if level in ("elevated", "highest"):
        shown = f"risk level {level}" + (
            f", score {signals.provider_risk_score}"
            if signals.provider_risk_score is not None
            else ""
        )
        add(f"provider_risk_{level}", f"the payment provider rates it {shown}")
    if signals.platform_risk:
        add("platform_risk", f"the platform flags it: {signals.platform_risk}")
    points = sum(r["points"] for r in reasons)
    return Verdict(points, decide(points, policy), reasons)


def decide(points: int, policy: Policy) -> str:
    if policy.cancel_at is not None and points >= policy.cancel_at:
        return "cancel"
    return "hold" if points >= policy.hold_at else "approve"


def _window_words(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "a day" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "an hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"
