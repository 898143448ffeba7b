"""The personal data of checkouts (see ``mercato.personal``)."""

from mercato.personal import PersonalTable

TABLES = (
    PersonalTable(
        "checkouts",
        find={
            "id": "checkout",
            "email": "email",
            "phone": "phone",
            "customer_id": "customer",
            "order_id": "order",
        },
        erase="pseudonymise",
        personal={
            "email": "clear",
            "email_hash": "clear",
            "phone": "clear",
            "phone_hash": "clear",
            "shipping_address": "clear",
            "customer_id": "clear",
            "visitor": "clear",
            "tax_id": "clear",
        },
        payloads=("attribution",),
        not_personal={
            "tax_reason": "which tax rule applied (oss, reverse-charge, ...)",
            "discount_codes": "the shop's discount codes entered and their amounts",
        },
        why_kept="its payments and stock holds hang on it: totals and reservations stay",
    ),
    PersonalTable(
        "checkout_lines", find={"checkout_id": "checkout"}, erase="pseudonymise", why_kept="totals"
    ),
)
