"""Alembic environment. Run through `mercato init` (or `alembic` with MERCATO_DATABASE_URL)."""

from alembic import context

from mercato.db import create_db_engine
from mercato.models import metadata

config = context.config


def run_migrations() -> None:
    engine = config.attributes.get("engine") or create_db_engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw = connection.connection.dbapi_connection
        if sqlite:
            # SQLite changes a table by rebuilding it: with foreign keys on, dropping the
            # old table cascades to every row pointing at it (an order's lines, a
            # customer's login links). SQLite's own procedure: off, outside a transaction,
            # for the changes; checked before they are committed; on again.
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


run_migrations()
