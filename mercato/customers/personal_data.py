"""The personal data of customers (see ``mercato.personal``)."""

from mercato.personal import PersonalTable

TABLES = (
    PersonalTable(
        "customers",
        find={
            "id": "customer",
            "profile_id": "customer",
            "merged_into_id": "customer",
            "email": "email",
            "phone": "phone",
        },
        erase="delete",
        personal={
            "notes": "clear",
            "email": "clear",
            "email_hash": "clear",
            "phone": "clear",
            "phone_hash": "clear",
            "name": "clear",
            "search_terms": "clear",
            "address": "clear",
            "payment_customer_ref": "clear",
            "payment_method_ref": "clear",
            "payment_method_label": "clear",
        },
    ),
    PersonalTable(
        "customer_login_links",
        find={"customer_id": "customer", "checkout_id": "checkout"},
        erase="delete",
    ),
    PersonalTable(
        "customer_identities",
        find={"customer_id": "customer", "value": ("email", "phone", "platform_user", "visitor")},
        erase="delete",
        personal={"value": "clear", "value_hash": "clear"},
    ),
    PersonalTable(
        "customer_merges",
        find={"survivor_id": "customer", "merged_id": "customer"},
        erase="delete",
        payloads=("reason", "evidence"),
        search=("evidence",),
        not_personal={"merged_rows": "ids of the customer rows merged"},
    ),
    PersonalTable(
        "customer_merge_suggestions",
        find={"customer_id": "customer", "other_id": "customer"},
        erase="delete",
        payloads=("reason", "evidence"),
        search=("evidence",),
    ),
    PersonalTable("customer_tags", find={"customer_id": "customer"}, erase="delete"),
    PersonalTable(
        "customer_consents",
        find={"customer_id": "customer"},
        erase="delete",
        not_personal={"wording": "the shop's own words shown to the person"},
    ),
)
