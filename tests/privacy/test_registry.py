"""Every column that looks personal is declared, personal or not (mercato.personal)."""

from mercato.models import metadata
from mercato.personal import NotPersonal, PersonalTable
from mercato.privacy import registry


def test_every_personal_looking_column_is_declared():
    assert registry.problems(metadata) == []


def test_a_new_personal_column_is_caught():
    from sqlalchemy import Column, MetaData, String, Table

    extra = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(extra)
    Table("loyalty_cards", extra, Column("id", String, primary_key=True), Column("email", String))
    extra.tables["orders"].append_column(Column("buyer_ip", String))
    assert sorted(registry.problems(extra)) == [
        "loyalty_cards.email looks personal and is not declared",
        "orders.buyer_ip looks personal and is not declared",
    ]


def test_tables_kept_say_why_and_identifier_kinds_are_known():
    for declaration in registry.DECLARATIONS:
        assert isinstance(declaration, PersonalTable | NotPersonal)
        if isinstance(declaration, NotPersonal):
            assert declaration.why
    # Every table a person's rows are found in names how they are found.
    for table in registry.PERSONAL.values():
        assert table.find or table.search, table.table


def test_logs_name_no_email_or_phone(caplog):
    import logging

    from mercato.system import log_redaction

    log_redaction.install()
    caplog.set_level(logging.INFO)
    log = logging.getLogger("mercato.test")
    log.warning("mail to %s refused; WhatsApp %s, +14155550123", "zq@example.org", "14155550123")
    try:
        raise ValueError("no customer zq@example.org")
    except ValueError:
        log.exception("order 1042 failed")
    assert "example.org" not in caplog.text and "4155550123" not in caplog.text
    assert "mail to [personal] refused; WhatsApp [personal], [personal]" in caplog.text
    assert (
        "order 1042 failed" in caplog.text and "ValueError: no customer [personal]" in caplog.text
    )
