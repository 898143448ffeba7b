"""The personal data of inventory: none (see ``mercato.personal``)."""

from mercato.personal import NotPersonal

TABLES = (
    NotPersonal("inventory_locations", "the merchant's warehouses and shops", ("name",)),
    NotPersonal(
        "inventory_movements", "stock moves, explained by the merchant or by Mercato", ("reason",)
    ),
)
