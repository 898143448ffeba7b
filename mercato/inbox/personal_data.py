"""The personal data of the inbox (see ``mercato.personal``)."""

from mercato.personal import NotPersonal, PersonalTable

TEAM = "a member of the merchant's team (or the automation), not a buyer"

TABLES = (
    PersonalTable(
        "inbox_conversations",
        find={
            "id": "conversation",
            "contact_id": "platform_user",
            "phone": "phone",
            "customer_id": "customer",
        },
        erase="delete",
        personal={
            "contact_id": "clear",
            "contact_id_hash": "clear",
            "contact_name": "clear",
            "phone": "clear",
            "phone_hash": "clear",
            "search_terms": "clear",
        },
        not_personal={"assignee": TEAM, "csat_agent": TEAM},
    ),
    PersonalTable(
        "inbox_messages",
        find={"conversation_id": "conversation"},
        erase="delete",
        personal={"text": "clear"},
        payloads=("content", "error"),
        not_personal={
            "platform_message_id": "the platform's id of the message",
            "reply_to_id": "the id of the message answered",
            "author": TEAM,
        },
    ),
    PersonalTable(
        "inbox_conversation_labels", find={"conversation_id": "conversation"}, erase="delete"
    ),
    NotPersonal(
        "inbox_accounts",
        "the merchant's own messaging accounts",
        ("name", "human_agent", "credentials_encrypted", "automation"),
    ),
    NotPersonal("inbox_templates", "the merchant's message templates", ("name", "components")),
    NotPersonal("inbox_canned_replies", "the merchant's saved answers", ("name", "text")),
)
