"""The personal data of analytics (see ``mercato.personal``)."""

from mercato.personal import NotPersonal, PersonalTable

TABLES = (
    PersonalTable(
        "analytics_touches",
        find={
            "visitor_id": "visitor",
            "customer_id": "customer",
            "order_id": "order",
            "conversation_id": "conversation",
        },
        erase="pseudonymise",
        # One pseudonym for all of the person's touches: their journey, and they as one
        # customer (new, repeat, lifetime value), still count.
        personal={
            "visitor_id": "pseudonym",
            "customer_id": "pseudonym",
            "conversation_id": "clear",
        },
        not_personal={"utm_content": "the tag of the merchant's link or ad"},
        why_kept="purchases and refunds are revenue; attribution keeps crediting them",
    ),
    PersonalTable(
        "conversion_deliveries",
        find={"order_id": "order"},
        erase="pseudonymise",
        payloads=("answer", "last_error"),
        not_personal={"event_name": "Purchase, the event's name on the platform"},
        why_kept="a purchase is sent once: the log keeps it from being sent again",
    ),
    # A customer's predicted value is about them, and worth nothing once they are gone.
    PersonalTable("analytics_clv_scores", find={"customer_id": "customer"}, erase="delete"),
    NotPersonal(
        "analytics_clv_runs",
        "fits of the lifetime value models: parameters and holdout figures, no customer",
        ("detail", "params", "holdout"),
    ),
    NotPersonal(
        "conversion_destinations", "the merchant's pixels and tokens", ("access_token_encrypted",)
    ),
    NotPersonal(
        "analytics_ad_accounts",
        "the merchant's ad accounts read for spend, and the platform's last refusal",
        ("access_token_encrypted", "last_error"),
    ),
    NotPersonal(
        "analytics_experiments",
        "the merchant's A/B experiments: a name and the two ways the row is filled",
        ("name",),
    ),
)
