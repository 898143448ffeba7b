from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from mercato.models import metadata


def test_models_and_migrations_agree(engine):
    """Autogenerate finds nothing to do: every model change has its migration."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []
