from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from mercato.models import metadata
from mercato.system.migrations import alembic_config
from tests.channels.test_meta_graph_version import fresh_engine  # noqa: F401


def test_models_and_migrations_agree(engine):
    """Autogenerate finds nothing to do: every model change has its migration."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_upgrading_keeps_the_rows_that_point_at_a_rebuilt_table(fresh_engine):  # noqa: F811
    """SQLite rebuilds a table to change it (0070 rebuilds customers and orders): the rows
    pointing at it (a customer's login link, an order's lines) survive the upgrade."""
    config = alembic_config(fresh_engine)
    command.upgrade(config, "0020")
    with fresh_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customers (id, email, created_at, updated_at)"
                " VALUES ('c1', 'ada@example.com', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO customer_login_links (id, customer_id, expires_at, created_at)"
                " VALUES ('l1', 'c1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    command.upgrade(config, "heads")
    with fresh_engine.connect() as connection:
        assert connection.execute(text("SELECT customer_id FROM customer_login_links")).all() == [
            ("c1",)
        ]
        if connection.dialect.name == "sqlite":  # and foreign keys are enforced again
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
