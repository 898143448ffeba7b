"""The personal data of live events (see ``mercato.personal``)."""

from mercato.personal import NotPersonal, PersonalTable

TABLES = (
    NotPersonal("live_events", "the merchant's streams", ()),
    PersonalTable(
        "live_admissions",
        find={"buyer": ("customer", "visitor")},
        erase="delete",
    ),
)
