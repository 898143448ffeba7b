"""Alembic, driven from code: `mercato init` upgrades, /readyz compares revisions.

Domains may add migrations on branches of their own; "current" means every head applied.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py uses this engine's connection instead of building its own.
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "heads")


def head_revisions(engine: Engine) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def is_current(engine: Engine) -> bool:
    """Every head applied. A revision another one ``depends_on`` stops being listed as
    current once its dependant is applied, so heads are checked against everything
    applied (the current revisions and all they rest on)."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    current = current_revisions(engine)
    applied = (
        {rev.revision for rev in script.iterate_revisions(tuple(current), "base")}
        if current
        else set()
    )
    return head_revisions(engine) <= applied
