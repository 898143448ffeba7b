"""The personal data of live events (see ``mercato.personal``)."""

from mercato.personal import NotPersonal, PersonalTable

TABLES = (
    NotPersonal(
        "live_events", "the merchant's streams; a limit, not a buyer", ("per_buyer_limit",)
    ),
    PersonalTable(
        "live_admissions",
        find={"buyer": ("customer", "visitor")},
        erase="delete",
    ),
    PersonalTable("live_gate_buyers", find={"buyer": ("customer", "visitor")}, erase="delete"),
)
