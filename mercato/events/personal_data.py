"""The personal data of events (see ``mercato.personal``)."""

from mercato.personal import PersonalTable

TABLES = (
    PersonalTable(
        "events",
        find={"id": "event", "key": ("order", "checkout", "conversation", "customer")},
        erase="pseudonymise",
        payloads=("payload",),
        search=("payload",),
        why_kept="the event stream's order (sequence numbers, webhook history)",
    ),
)
