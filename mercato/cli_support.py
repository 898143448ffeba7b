"""What every `mercato` command shares: consoles, tables, the unit of work and the one
way a refusal is printed (a line per field, exit 1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from mercato.db import create_db_engine, make_sessionmaker, transaction
from mercato.errors import MercatoError, dotted

M = TypeVar("M", bound=BaseModel)
console = Console()
err = Console(stderr=True)


def table(*headers: str) -> Table:
    # Fold rather than cut: ids and SKUs must stay whole on narrow terminals.
    rows = Table()
    for header in headers:
        rows.add_column(header, overflow="fold")
    return rows


def parse(model: type[M], **fields) -> M:
    """A command's options as a pydantic input model; its refusals are printed one a
    line and the command exits 1."""
    try:
        return model(**fields)
    except ValidationError as exc:
        for error in exc.errors():
            err.print(f"[bold red]Error:[/] {'.'.join(map(str, error['loc']))}: {error['msg']}")
        raise typer.Exit(1) from None


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction; a Mercato error is printed with its details and exits 1."""
    with short_transactions() as sessions, transaction(sessions) as session:
        yield session


@contextmanager
def short_transactions() -> Iterator[sessionmaker[Session]]:
    """Sessions for work that opens its own transactions (none held while a payment
    provider answers); a Mercato error is printed with its details and exits 1."""
    engine = create_db_engine()
    try:
        yield make_sessionmaker(engine)
    except MercatoError as exc:
        err.print(f"[bold red]Error:[/] {exc.detail}")
        for error in exc.errors:
            where = dotted(error.loc)
            err.print(
                f"  - {error.message}" if error.code == "csv" else f"  - {where}: {error.message}"
            )
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
