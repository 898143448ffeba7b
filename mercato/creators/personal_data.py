"""The personal data of creators (see ``mercato.personal``): none of buyers."""

from mercato.personal import NotPersonal

TABLES = (
    NotPersonal(
        "creators",
        "the merchant's partners, named by the merchant; no buyer's data",
        (
            "handle",
            "name",
            "product_commissions",
            "collection_commissions",
            "tiers",
            "stripe_account",
        ),
    ),
    NotPersonal(
        "creator_commissions",
        "a creator's earnings per order: amounts and the code, nothing of the buyer",
        ("code", "reference"),
    ),
    NotPersonal("creator_payouts", "amounts paid to a creator per period"),
    NotPersonal(
        "creator_transfers",
        "a payout sent to the creator's connected Stripe account: Stripe's ids and answer",
        ("destination", "idempotency_key", "transfer_ref", "error"),
    ),
    NotPersonal(
        "creator_posts",
        "a creator's or the shop's published post: its id, link and title; no buyer's data",
        ("reference", "channel", "url", "title"),
    ),
    NotPersonal("creator_post_products", "which products a post shows"),
)
