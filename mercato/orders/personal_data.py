"""The personal data of orders (see ``mercato.personal``)."""

from mercato.personal import PersonalTable

KEPT = "kept for tax law: amounts, lines and dates stay, the buyer's details go"

TABLES = (
    PersonalTable(
        "orders",
        find={
            "id": "order",
            "customer_id": "customer",
            "external_id": "order_ref",
            "customer_email": "email",
            "customer_phone": "phone",
        },
        erase="pseudonymise",
        personal={
            "customer_name": "clear",
            "customer_email": "clear",
            "customer_email_hash": "clear",
            "customer_phone": "clear",
            "customer_phone_hash": "clear",
            "search_terms": "clear",
            "shipping_address": "clear",
            "billing_address": "clear",
            "note": "clear",
        },
        payloads=("attribution",),
        not_personal={
            "attention_reason": "why the merchant must look at it (stock, payment), by Mercato",
            "content_id": "the post or ad the sale came from",
            "discount_codes": "the shop's discount codes applied and their amounts",
        },
        why_kept=KEPT,
    ),
    PersonalTable("order_lines", find={"order_id": "order"}, erase="pseudonymise", why_kept=KEPT),
    PersonalTable(
        "order_activities",
        find={"order_id": "order"},
        erase="pseudonymise",
        payloads=("message", "data"),
        why_kept="the order's history",
    ),
    PersonalTable(
        "fulfillments",
        find={"order_id": "order"},
        erase="pseudonymise",
        not_personal={"lines": "order line ids and quantities"},
        why_kept=KEPT,
    ),
    PersonalTable(
        "refunds",
        find={"order_id": "order"},
        erase="pseudonymise",
        payloads=("reason", "failure_message"),
        not_personal={"lines": "order line ids and quantities"},
        why_kept=KEPT,
    ),
    PersonalTable(
        "order_returns",
        find={"order_id": "order"},
        erase="pseudonymise",
        payloads=("reason",),
        not_personal={"lines": "order line ids and quantities"},
        why_kept=KEPT,
    ),
    PersonalTable(
        "inbound_events",
        find={},
        erase="pseudonymise",
        payloads=("body", "error"),
        search=("body",),
        why_kept="its event id keeps a redelivered webhook from being applied twice",
    ),
)
