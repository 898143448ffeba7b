"""The personal data of creators (see ``mercato.personal``): none of buyers."""

from mercato.personal import NotPersonal

TABLES = (
    NotPersonal(
        "creators",
        "the merchant's partners, named by the merchant; no buyer's data",
        ("handle", "name", "product_commissions"),
    ),
    NotPersonal(
        "creator_commissions",
        "a creator's earnings per order: amounts and the code, nothing of the buyer",
        ("code", "reference"),
    ),
    NotPersonal("creator_payouts", "amounts paid to a creator per period"),
)
