"""The personal data of mails to buyers (see ``mercato.personal``)."""

from mercato.personal import PersonalTable

TABLES = (
    PersonalTable(
        "mails",
        find={"id": "mail", "order_id": "order", "to_address": "email"},
        erase="delete",
        personal={"to_address": "clear", "to_address_hash": "clear", "subject": "clear"},
        payloads=("last_error",),
    ),
    PersonalTable("mail_attempts", find={"mail_id": "mail"}, erase="delete", payloads=("detail",)),
)
