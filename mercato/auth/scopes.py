"""API scopes. ``<area>:write`` includes ``<area>:read``; ``admin`` includes everything."""

ADMIN = "admin"

AREAS = (
    "catalog",
    "inventory",
    "orders",
    "channels",
    "checkout",
    "customers",
    "events",
    "webhooks",
    "inbox",
    "analytics",
    # Recommendations: read the lists and versions; write trains and sets rules.
    "recommendations",
    # Live events and drops: pins, live prices, channel pools, the admission gate.
    "live",
    # Data subject requests: read lists them; write opens, exports and erases.
    "privacy",
    # Offers and their codes; a till redeems with pos:write only.
    "offers",
    "pos",
    # Creators and affiliates: their codes, commissions and payouts.
    "creators",
    # Markets, their price lists and exchange rates.
    "markets",
    # Fraud screening: read the review queue and settings; write decides held orders and
    # edits thresholds and weights.
    "fraud",
)

ALL_SCOPES = frozenset({ADMIN} | {f"{a}:{m}" for a in AREAS for m in ("read", "write")})


def grants(held: list[str] | set[str], required: str) -> bool:
    """Does a token holding ``held`` scopes satisfy ``required``?"""
    if ADMIN in held or required in held:
        return True
    area, _, mode = required.partition(":")
    return mode == "read" and f"{area}:write" in held
