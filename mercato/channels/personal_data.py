"""The personal data of channel connections: none (see ``mercato.personal``)."""

from mercato.personal import NotPersonal

TABLES = (
    NotPersonal(
        "channels",
        "the merchant's platform connections",
        ("name", "credentials_encrypted", "settings", "last_error", "feed_rules"),
    ),
    NotPersonal("channel_listings", "what was pushed of the catalog", ("pushed_summary", "issues")),
    NotPersonal("channel_image_uploads", "catalog images on a platform", ("source_url", "url")),
)
