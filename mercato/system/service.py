from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from mercato.system import migrations


def readiness(engine: Engine) -> dict:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current, heads = migrations.current_revisions(engine), migrations.head_revisions(engine)
    except SQLAlchemyError as exc:
        return {
            "status": "unavailable",
            "database": "unreachable",
            "detail": exc.__class__.__name__,
        }
    if not migrations.is_current(engine):
        return {
            "status": "unavailable",
            "database": "ok",
            "migrations": "pending",
            "current": sorted(current),
            "head": sorted(heads),
            "detail": "run `mercato init` to upgrade",
        }
    return {
        "status": "ready",
        "database": "ok",
        "migrations": "current",
        "revisions": sorted(current),
    }
