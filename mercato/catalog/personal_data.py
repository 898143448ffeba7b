"""The personal data of the catalog: none (see ``mercato.personal``)."""

from mercato.personal import NotPersonal

CATALOG = "the merchant's catalog"

TABLES = (
    NotPersonal(
        "products",
        CATALOG,
        (
            "description_html",
            "description_text",
            "tags",
            "options",
            "seo_description",
            "attributes",
        ),
    ),
    NotPersonal("product_translations", CATALOG, ("description_html", "options", "option_values")),
    NotPersonal("variants", CATALOG, ("attributes",)),
    NotPersonal("media_files", "product images the merchant uploaded", ("content", "content_type")),
    NotPersonal("collections", CATALOG, ("description_html", "rules")),
)
