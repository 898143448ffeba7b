"""`mercato inventory ...`: thin commands over the inventory services."""

from __future__ import annotations

from typing import Annotated

import typer

from mercato.cli_support import console, err, parse, table, unit_of_work

app = typer.Typer(help="Stock levels, the ledger and reservations.", no_args_is_help=True)

ACTOR = "cli"


@app.command("set")
def set_stock(
    sku: str,
    quantity: Annotated[int, typer.Argument(min=0, help="Units counted on hand")],
    location: Annotated[str, typer.Option(help="Location code")] = "default",
    reason: Annotated[str | None, typer.Option(help="Why, for the ledger")] = None,
):
    """Set the units on hand of a SKU at a location (recorded as a correction); an
    untracked SKU is tracked from then on."""
    from mercato.catalog.service import get_variant_by_sku
    from mercato.inventory import availability, counts

    with unit_of_work() as session:
        variant = get_variant_by_sku(session, sku)
        changes, started = counts.count_and_track(
            session,
            {variant.id: quantity},
            location,
            reason=reason or "set from the command line",
            actor=ACTOR,
        )
    change = changes[0]
    if started:
        console.print(
            f"{sku} was not tracked (channels were sent {availability.UNLIMITED:,} units); "
            "its stock is tracked from now on."
        )
    moved = f" ({change.movement['on_hand_delta']:+d})" if change.movement else " (unchanged)"
    console.print(
        f"{sku} at {change.location}: {change.on_hand} on hand{moved}, {change.reserved} reserved."
    )


@app.command("show")
def show(sku: str):
    """Stock of a SKU per location, and what each channel may publish."""
    from mercato.inventory import reports

    with unit_of_work() as session:
        view = reports.inventory_by_sku(session, sku)
    policy = "untracked" if not view.tracked else f"policy {view.policy}"
    console.print(
        f"[bold]{view.sku}[/] ({view.variant_id}, {policy}): {view.on_hand} on "
        f"hand, {view.reserved} reserved, {view.available} available"
    )
    levels = table("location", "on hand", "reserved", "available")
    for level in view.locations:
        levels.add_row(
            level.location, str(level.on_hand), str(level.reserved), str(level.available)
        )
    console.print(levels)
    channels = table("channel", "buffer", "cap", "publishes")
    channels.add_row("(any other)", "0", "-", str(view.published))
    for rule in view.channels:
        channels.add_row(
            rule.channel,
            str(rule.buffer),
            "-" if rule.cap is None else str(rule.cap),
            str(rule.available),
        )
    console.print(channels)


@app.command("verify")
def verify():
    """Prove that every stock level equals what its ledger sums to; exit 1 if not."""
    from mercato.inventory import reports

    with unit_of_work() as session:
        mismatches = reports.verify(session)
    if mismatches:
        err.print(f"[bold red]The ledger does not balance at {len(mismatches)} stock level(s):[/]")
        for mismatch in mismatches:
            err.print(f"  - {mismatch}")
        raise typer.Exit(1)
    console.print(
        "The ledger balances: every stock level equals its movements and its held reservations."
    )


@app.command("sweep")
def sweep():
    """Expire lapsed reservations and record their expiry movements."""
    from mercato.inventory import reservations

    total = 0
    while True:
        with unit_of_work() as session:
            swept = reservations.sweep_expired(session)
        total += swept
        if swept < reservations.SWEEP_BATCH:
            break
    console.print(f"Expired {total} reservation(s).")


@app.command("location")
def location(
    code: str,
    name: Annotated[str, typer.Option(help="Display name")],
    kind: Annotated[str, typer.Option(help="warehouse or store")] = "warehouse",
    priority: Annotated[int, typer.Option(help="Lower ranks ship first")] = 0,
):
    """Create or update a location."""
    from mercato.inventory import locations
    from mercato.inventory.schemas import LocationInput

    data = parse(LocationInput, name=name, kind=kind, priority=priority)
    with unit_of_work() as session:
        saved = locations.save_location(session, code, data)
    console.print(f"Location {saved.code} ({saved.kind}, priority {saved.priority}).")


@app.command("channel")
def channel(
    key: Annotated[str, typer.Argument(help="Channel connection id or e.g. storefront")],
    buffer: Annotated[int, typer.Option(help="Units held back from the channel")] = 0,
    cap: Annotated[int | None, typer.Option(help="Publish at most this many units")] = None,
):
    """Set what a channel may publish: available units less a buffer, up to a cap."""
    from mercato.inventory import locations
    from mercato.inventory.schemas import ChannelRuleInput

    data = parse(ChannelRuleInput, buffer=buffer, cap=cap)
    with unit_of_work() as session:
        rule = locations.save_channel_rule(session, key, data)
    console.print(
        f"Channel {rule.channel}: buffer {rule.buffer}, cap "
        f"{'none' if rule.cap is None else rule.cap}."
    )
