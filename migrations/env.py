"""Alembic environment. Run through `mercato init` (or `alembic` with MERCATO_DATABASE_URL)."""

from alembic import context

from mercato.db import create_db_engine
from mercato.models import metadata

config = context.config


def run_migrations() -> None:
    engine = config.attributes.get("engine") or create_db_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
