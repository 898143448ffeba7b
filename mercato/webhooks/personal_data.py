"""The personal data of outbound webhooks (see ``mercato.personal``).

A delivery's body is its event's payload (scrubbed there); the receiver's answers are
kept here."""

from mercato.personal import NotPersonal, PersonalTable

KEPT = "the delivery history of the merchant's endpoints"

TABLES = (
    PersonalTable(
        "webhook_deliveries",
        find={"id": "webhook_delivery", "event_id": "event"},
        erase="pseudonymise",
        why_kept=KEPT,
    ),
    PersonalTable(
        "webhook_attempts",
        find={"delivery_id": "webhook_delivery", "event_id": "event"},
        erase="pseudonymise",
        payloads=("response_body", "error"),
        why_kept=KEPT,
    ),
    NotPersonal(
        "webhook_endpoints",
        "the merchant's endpoints and their secrets",
        ("event_types", "secret_encrypted", "previous_secret_encrypted", "disabled_reason"),
    ),
)
