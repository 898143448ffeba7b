"""The personal data of system tables (see ``mercato.personal``)."""

from mercato.personal import NotPersonal

TABLES = (
    NotPersonal(
        "idempotency_keys",
        "a POST's response sealed (encrypted) for its caller and deleted after 24 hours "
        "by system.prune_idempotency_keys",
        ("content_type", "body"),
    ),
    NotPersonal(
        "audit_log",
        "names what was touched by its id and who did it by token, never the data",
        ("subject", "detail"),
    ),
)
