"""`mercato live ...`: live events from the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

app = typer.Typer(help="Live events and drops.", no_args_is_help=True)

ACTOR = "cli"


def _show(event) -> None:
    from mercato import cli_support as cli

    cli.console.print(
        f"{event.id}  {event.title}  [bold]{event.state}[/]"
        + (f"  pinned {event.pinned_variant_id}" if event.pinned_variant_id else "")
        + (f" at {event.live_price}" if event.live_price is not None else "")
    )


@app.command("create")
def create(
    title: str,
    product: Annotated[list[str], typer.Option("--product", help="SKU, in running order")] = None,
    platform: Annotated[
        list[str],
        typer.Option("--platform", help="CHANNEL or CHANNEL=URL (a connection id, storefront)"),
    ] = None,
    host: str | None = None,
    at: Annotated[datetime | None, typer.Option(help="When it starts (UTC)")] = None,
    per_buyer_limit: int = 2,
    auto_rebalance: bool = False,
):
    """Schedule a live event."""
    from mercato import cli_support as cli
    from mercato.live import service
    from mercato.live.schemas import LiveEventCreate

    data = cli.parse(
        LiveEventCreate,
        title=title,
        host=host,
        scheduled_at=at.replace(tzinfo=UTC) if at else None,
        per_buyer_limit=per_buyer_limit,
        auto_rebalance=auto_rebalance,
        products=[{"sku": sku} for sku in product or []],
        platforms=[
            {"channel": p.partition("=")[0], "url": p.partition("=")[2] or None}
            for p in platform or []
        ],
    )
    with cli.unit_of_work() as session:
        _show(service.create_event(session, data, actor=ACTOR))


@app.command("list")
def list_(state: str | None = None):
    """Live events, newest first."""
    from mercato import cli_support as cli
    from mercato.live import service

    with cli.unit_of_work() as session:
        table = cli.table("id", "title", "state", "pinned", "live price", "products")
        for e in service.list_events(session, state):
            table.add_row(
                e.id,
                e.title,
                e.state,
                e.pinned_variant_id or "-",
                "-" if e.live_price is None else str(e.live_price),
                str(len(e.products)),
            )
    cli.console.print(table)


@app.command("start")
def start(event_id: str):
    """Go live."""
    from mercato import cli_support as cli
    from mercato.live import service

    with cli.unit_of_work() as session:
        _show(service.start(session, event_id, actor=ACTOR))


@app.command("end")
def end(event_id: str):
    """End the event (unpins, lets its pools go)."""
    from mercato import cli_support as cli
    from mercato.live import service

    with cli.unit_of_work() as session:
        _show(service.end(session, event_id, actor=ACTOR))


@app.command("pin")
def pin(
    event_id: str,
    sku: str,
    price: Annotated[int | None, typer.Option(help="Live price, minor units")] = None,
):
    """Pin a product of the running order."""
    from mercato import cli_support as cli
    from mercato.live import service
    from mercato.live.schemas import PinInput

    data = cli.parse(PinInput, sku=sku, live_price=price)
    with cli.unit_of_work() as session:
        _show(service.pin(session, event_id, data, actor=ACTOR))


@app.command("unpin")
def unpin(event_id: str):
    from mercato import cli_support as cli
    from mercato.live import service

    with cli.unit_of_work() as session:
        _show(service.unpin(session, event_id, actor=ACTOR))


@app.command("pools")
def pools(
    event_id: str,
    sku: str,
    pool: Annotated[list[str], typer.Argument(help="CHANNEL=UNITS, e.g. storefront=50")],
):
    """Ring-fence a product's stock per channel; the rest is held back."""
    from mercato import cli_support as cli
    from mercato.live import service
    from mercato.live.schemas import PoolsInput

    plan = {}
    for item in pool:
        channel, _, units = item.partition("=")
        if not units.isdigit():
            cli.err.print(f"[bold red]Error:[/] {item!r}: write CHANNEL=UNITS")
            raise typer.Exit(1)
        plan[channel] = int(units)
    data = cli.parse(PoolsInput, sku=sku, pools=plan)
    with cli.unit_of_work() as session:
        view = service.allocate(session, event_id, data, actor=ACTOR)
    _print_stock([view])


@app.command("move")
def move(
    event_id: str,
    sku: str,
    units: int,
    from_: Annotated[str | None, typer.Option("--from", help="Pool (default: held back)")] = None,
    to: Annotated[str | None, typer.Option(help="Pool (default: hold back)")] = None,
):
    """Move unsold units between pools."""
    from mercato import cli_support as cli
    from mercato.live import service
    from mercato.live.schemas import MoveInput

    data = cli.parse(MoveInput, sku=sku, units=units, from_channel=from_, to_channel=to)
    with cli.unit_of_work() as session:
        view = service.move_units(session, event_id, data, actor=ACTOR)
    _print_stock([view])


@app.command("stock")
def stock(event_id: str):
    """Each product's pools, held-back units and sales per channel."""
    from mercato import cli_support as cli
    from mercato.live import service

    with cli.unit_of_work() as session:
        views = service.stock(session, event_id)
    _print_stock(views)


def _print_stock(views) -> None:
    from mercato import cli_support as cli

    table = cli.table("sku", "free", "held back", "channel", "unsold", "held", "sold")
    for view in views:
        if not view.pools:
            table.add_row(view.sku or view.variant_id, str(view.free), str(view.held_back), "-")
        for pool in view.pools:
            table.add_row(
                view.sku or view.variant_id,
                str(view.free),
                str(view.held_back),
                pool.channel,
                str(pool.units),
                str(pool.held),
                str(pool.sold),
            )
    cli.console.print(table)


@app.command("gate")
def open_gate(event_id: str, sku: str, units: int):
    """Put a product behind the drop's admission gate (Redis when MERCATO_REDIS_URL is set)."""
    from mercato import cli_support as cli
    from mercato.config import get_settings
    from mercato.live import gate, service
    from mercato.live.schemas import VariantRef

    redis_gate = None
    if url := get_settings().redis_url:
        import redis

        redis_gate = gate.RedisGate(redis.Redis.from_url(url))
    ref = cli.parse(VariantRef, sku=sku)
    with cli.unit_of_work() as session:
        service.open_gate(session, event_id, ref, units, redis_gate=redis_gate, actor=ACTOR)
    cli.console.print(f"{sku}: {units} unit(s) behind the gate of {event_id}.")


@app.command("reconcile")
def reconcile(event_id: str, sku: str):
    """After a drop on the Redis gate: copy what is left into the database and check that
    both count the same units and admissions (exit 1 when they do not)."""
    from mercato import cli_support as cli
    from mercato.config import get_settings
    from mercato.live import gate, service
    from mercato.live.schemas import VariantRef

    url = get_settings().redis_url
    if not url:
        cli.console.print("No MERCATO_REDIS_URL: the database is the gate, nothing to reconcile.")
        return
    import redis

    ref = cli.parse(VariantRef, sku=sku)
    with cli.short_transactions() as sessions:
        with sessions() as session:
            variant_id = service.variant_id_of(session, ref)
        report = gate.RedisGate(redis.Redis.from_url(url)).reconcile(sessions, event_id, variant_id)
    for name, value in report.items():
        cli.console.print(f"{name}: {value}")
    if not report["agree"]:
        raise typer.Exit(1)
