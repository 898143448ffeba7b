"""The personal data of recommendations (see ``mercato.personal``)."""

from mercato.personal import NotPersonal, PersonalTable

TABLES = (
    PersonalTable(
        "recommendations",
        # A personal list's subject is the profile it was made for; other lists name a
        # product or a channel, never a person.
        find={"subject": "customer"},
        erase="delete",
        not_personal={"reason": "why a product is listed, in the shop's words, no names"},
    ),
    NotPersonal(
        "recommendation_versions",
        "training runs: counts, parameters and scores over all buyers",
        ("params", "evaluation", "error"),
    ),
    NotPersonal("recommendation_rules", "the merchant's rules over products"),
    NotPersonal(
        "recommendation_product_sets",
        "a segment's products on an ads platform: product and catalog item ids, no person",
        ("name", "product_ids", "item_ids", "last_error"),
    ),
)
