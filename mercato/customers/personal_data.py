"""The personal data of customers (see ``mercato.personal``)."""

from mercato.personal import PersonalTable

TABLES = (
    PersonalTable(
        "customers",
        find={"id": "customer", "email": "email", "phone": "phone"},
        erase="delete",
        personal={
            "email": "clear",
            "phone": "clear",
            "name": "clear",
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
)
