"""The personal data of payments (see ``mercato.personal``)."""

from mercato.personal import NotPersonal, PersonalTable

TABLES = (
    PersonalTable(
        "payments",
        find={"checkout_id": "checkout", "order_id": "order"},
        erase="pseudonymise",
        payloads=("failure_message",),
        why_kept="the money taken and given back",
    ),
    NotPersonal(
        "payment_providers", "the merchant's provider settings", ("name", "secrets_encrypted")
    ),
)
