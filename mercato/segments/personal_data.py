"""The personal data of segments (see ``mercato.personal``): none."""

from mercato.personal import NotPersonal

TABLES = (
    NotPersonal(
        "customer_segments",
        "the merchant's saved filters over profiles, naming no one",
        ("name", "description", "filters"),
    ),
)
