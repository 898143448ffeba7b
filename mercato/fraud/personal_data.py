"""The personal data of fraud screening (see ``mercato.personal``)."""

from mercato.personal import NotPersonal, PersonalTable

TABLES = (
    NotPersonal(
        "fraud_settings",
        "the merchant's thresholds and rule weights",
        ("limits", "weights", "first_order_amounts", "updated_by"),
    ),
    PersonalTable(
        "fraud_assessments",
        find={"order_id": "order", "email": "email", "phone": "phone"},
        erase="pseudonymise",
        personal={
            "email": "clear",
            "phone": "clear",
            "ip": "clear",
            "device_id": "clear",
            "card_fingerprint": "clear",
        },
        payloads=("signals", "reasons"),
        search=("signals",),
        why_kept="the decision on an order and why it was taken (disputes, chargebacks)",
    ),
    NotPersonal(
        "fraud_decisions",
        "the log of decisions: the rules' reasons (counts, countries, an email's domain) "
        "or the reviewer's note, and who decided (the rules or the merchant's staff)",
        ("why", "actor"),
    ),
)
