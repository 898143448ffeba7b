"""The personal data of inventory: none (see ``mercato.personal``)."""

from mercato.personal import NotPersonal

TABLES = (
    NotPersonal("inventory_locations", "the merchant's warehouses and shops", ("name",)),
    NotPersonal(
        "inventory_movements", "stock moves, explained by the merchant or by Mercato", ("reason",)
    ),
    NotPersonal(
        "inventory_pool_moves",
        "units moved between channel pools, explained by the merchant or by Mercato",
        ("reason", "from_channel", "to_channel"),
    ),
)
