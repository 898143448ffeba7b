"""`mercato events ...`."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="The event log.", no_args_is_help=True)


@app.command("list")
def list_(
    type: Annotated[
        list[str] | None, typer.Option("--type", help='Event type or "<resource>.*"; repeatable')
    ] = None,
    key: Annotated[str | None, typer.Option(help="Only events about this resource")] = None,
    limit: int = 50,
):
    """Recent events, newest first."""
    from mercato import cli_support as cli
    from mercato.events import service

    with cli.unit_of_work() as session:
        filters = service.EventFilters(
            types=service.check_type_patterns(type, ("type",)) if type else None, key=key
        )
        page = service.list_events(session, filters, limit=limit)
    table = cli.table("seq", "id", "type", "key", "at")
    for e in page.items:
        table.add_row(str(e.seq), e.id, e.type, e.key, f"{e.created_at:%Y-%m-%d %H:%M:%S}")
    cli.console.print(table)
