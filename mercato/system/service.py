from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from mercato.system import migrations


def readiness(engine: Engine) -> dict:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current, head = migrations.current_revision(engine), migrations.head_revision(engine)
    except SQLAlchemyError as exc:
        return {"status": "unavailable", "database": "unreachable",
                "detail": str(exc.__class__.__name__)}
    if current != head:
        return {"status": "unavailable", "database": "ok", "migrations": "pending",
                "current": current, "head": head, "detail": "run `mercato init` to upgrade"}
    return {"status": "ready", "database": "ok", "migrations": "current", "revision": current}
