"""The personal data of offers (see ``mercato.personal``)."""

from mercato.personal import NotPersonal, PersonalTable

TABLES = (
    NotPersonal(
        "offers",
        "the merchant's offers and their scope (products, collections, markets, segments), "
        "naming no one",
        (
            "name",
            "note",
            "tiers",
            "bundle",
            "product_ids",
            "variant_ids",
            "collection_ids",
            "channels",
            "markets",
            "segment_id",
            "per_customer",
        ),
    ),
    NotPersonal("offer_codes", "codes the merchant made, given to no one in particular"),
    PersonalTable(
        "offer_redemptions",
        find={"customer_id": "customer", "order_id": "order", "checkout_id": "checkout"},
        erase="pseudonymise",
        personal={"customer_id": "clear", "customer_key": "clear"},
        why_kept="an offer's caps and its return count every use",
    ),
    PersonalTable(
        "offer_customer_uses",
        find={"customer_id": "customer"},
        erase="delete",
        personal={"customer_key": "clear"},
    ),
)
