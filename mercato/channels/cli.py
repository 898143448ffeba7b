"""`mercato channels ...` and `mercato feeds ...`: thin commands over the channel services."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from mercato.cli_support import console, err, table, unit_of_work

channels_app = typer.Typer(
    help="Channel connections: check, publish, status.", no_args_is_help=True
)
feeds_app = typer.Typer(help="Catalog feeds for the platforms.", no_args_is_help=True)


@contextmanager
def _sync_run():
    """Sessions for sync, which opens its own short transactions (none is held while a
    platform answers); Mercato errors are printed as unit_of_work prints them."""
    from mercato.channels import sync
    from mercato.db import create_db_engine, make_sessionmaker

    engine = create_db_engine()
    try:
        with unit_of_work():
            yield sync.Sessions.of(make_sessionmaker(engine))
    finally:
        engine.dispose()


@channels_app.command("add")
def add(
    kind: Annotated[str, typer.Argument(help="meta, google, tiktok, pinterest or snapchat")],
    name: Annotated[str, typer.Option("--name")],
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="API root (a simulator)")
    ] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option("--credential", help="KEY=VALUE, repeatable; stored encrypted"),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--setting", help="KEY=VALUE, repeatable (e.g. catalog_id=...)"),
    ] = None,
    country: str = "US",
    language: str = "en",
    currency: Annotated[str | None, typer.Option(help="Defaults to the store currency")] = None,
):
    """Connect a channel."""
    from pydantic import ValidationError

    from mercato.channels import service
    from mercato.channels.schemas import ChannelCreate

    with unit_of_work() as session:
        try:
            data = ChannelCreate(
                kind=kind,
                name=name,
                base_url=base_url,
                country=country,
                language=language,
                currency=currency,
                credentials=service.parse_pairs(credential or [], "credential"),
                settings=service.parse_pairs(setting or [], "setting"),
            )
        except ValidationError as exc:
            for error in exc.errors():
                err.print(f"[bold red]Error:[/] {'.'.join(map(str, error['loc']))}: {error['msg']}")
            raise typer.Exit(1) from None
        channel = service.create_channel(session, data)
    console.print(
        f"Connected {channel.kind} channel [bold]{channel.name}[/] ({channel.id}) "
        f"at {channel.base_url}."
    )


@channels_app.command("list")
def list_(json_out: Annotated[bool, typer.Option("--json")] = False):
    """Connected channels (never their credentials)."""
    from mercato.channels import service

    with unit_of_work() as session:
        channels = [service.to_public(c) for c in service.list_channels(session)]
    if json_out:
        console.print_json(json.dumps([c.model_dump(mode="json") for c in channels]))
        return
    rows = table("name", "kind", "country", "currency", "status", "base url", "id")
    for c in channels:
        rows.add_row(c.name, c.kind, c.country, c.currency, c.status, c.base_url, c.id)
    console.print(rows)


@channels_app.command("check")
def check(
    channel: Annotated[str, typer.Argument(help="Channel name or id, or a kind")],
    json_out: Annotated[bool, typer.Option("--json")] = False,
):
    """Dry run: every item the platform would reject or warn about, field by field, and why.
    Nothing is sent. Exits 1 when an item would be rejected."""
    from mercato.channels.check import check as run_check
    from mercato.channels.check import resolve_target

    with unit_of_work() as session:
        report = run_check(session, resolve_target(session, channel))
    rows = [
        {
            "sku": p.item["sku"],
            "variant_id": p.item["variant_id"],
            "item_id": p.item["id"],
            "product_status": p.item["status"],
            **issue,
        }
        for p in report.flagged
        for issue in p.issues
    ]
    if json_out:
        console.print_json(
            json.dumps(
                {
                    "kind": report.target.kind,
                    "checked": report.checked,
                    "valid": report.valid,
                    "rejected": report.errors,
                    "notes": report.notes,
                    "issues": rows,
                }
            )
        )
    else:
        shown = table("sku", "product", "field", "severity", "why")
        for row in rows:
            shown.add_row(
                row["sku"] or row["variant_id"],
                row["product_status"],
                row["field"],
                row["severity"],
                row["message"],
            )
        if rows:
            console.print(shown)
        for note in report.notes:
            console.print(f"[yellow]Note:[/] {note}")
        console.print(
            f"{report.checked} items checked for {report.target.kind}: "
            f"{report.valid} valid, {report.errors} would be rejected, "
            f"{len(report.flagged) - report.errors} with warnings only."
        )
    if report.errors:
        raise typer.Exit(1)


@channels_app.command("publish")
def publish(
    channel: Annotated[str, typer.Argument(help="Channel name or id")],
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
):
    """Send what changed, then read the platform's verdicts back."""
    from mercato.channels import service, sync

    with unit_of_work() as session:
        channel_id = service.find_channel(session, channel).id
    with _sync_run() as sessions:
        result = sync.publish(sessions, channel_id, dry_run=dry_run)
        if not dry_run and result.status == "active":
            sync.read_back(sessions, channel_id)
    if json_out:
        console.print_json(result.model_dump_json())
        return
    for message in result.messages:
        console.print(f"[yellow]{message}[/]")
    if dry_run:
        console.print(
            f"Would send {result.would_send} of {result.checked} items "
            f"({result.skipped_invalid} invalid ones held back)."
        )
    else:
        console.print(
            f"Sent {result.sent} items, deleted {result.deleted}; "
            f"{result.rejected} rejected, {result.skipped_invalid} invalid held back."
        )
    if result.status != "active":
        raise typer.Exit(1)


@channels_app.command("status")
def status(
    channel: Annotated[str, typer.Argument(help="Channel name or id")],
    json_out: Annotated[bool, typer.Option("--json")] = False,
):
    """The platform's verdicts (after reading back pending ones) with their reasons."""
    from mercato.channels import service, sync

    with unit_of_work() as session:
        found = service.find_channel(session, channel)
    if found.status == "active" and found.kind != "snapchat":
        with _sync_run() as sessions:
            sync.read_back(sessions, found.id)
    with unit_of_work() as session:
        found = service.find_channel(session, channel)
        counts = service.verdict_counts(session, found.id)
        flagged, _ = service.list_listings(
            session, found.id, service.ListingFilters(), None, service.MAX_PAGE_SIZE
        )
        issues = [
            {"item_id": x.item_id, "variant_id": x.variant_id, "verdict": x.verdict, **i}
            for x in flagged
            for i in x.issues
        ]
    if json_out:
        console.print_json(
            json.dumps(
                {
                    "channel": found.name,
                    "status": found.status,
                    "verdicts": counts,
                    "issues": issues,
                }
            )
        )
        return
    console.print(
        f"[bold]{found.name}[/] ({found.kind}) is {found.status}: "
        + ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items()))
    )
    if issues:
        rows = table("item", "verdict", "field", "severity", "source", "why")
        for i in issues:
            rows.add_row(
                i["item_id"], i["verdict"], i["field"], i["severity"], i["source"], i["message"]
            )
        console.print(rows)


@channels_app.command("reconcile")
def reconcile(channel: Annotated[str, typer.Argument(help="Channel name or id")]):
    """Compare the platform with the catalog and repair missing, stale and extra items."""
    from mercato.channels import service, sync

    with unit_of_work() as session:
        channel_id = service.find_channel(session, channel).id
    with _sync_run() as sessions:
        result = sync.reconcile(sessions, channel_id)
    for message in result.messages:
        console.print(f"[yellow]{message}[/]")
    console.print(
        f"Missing {result.missing}, stale {result.stale}, extra {result.extra}; "
        f"sent {result.publish.sent if result.publish else 0}."
    )


@feeds_app.command("build")
def build(
    channel: Annotated[str, typer.Argument(help="Channel name or id, or a kind")],
    out: Annotated[Path, typer.Option("--out", dir_okay=False)],
    format: Annotated[str | None, typer.Option(help="csv, xml or tsv (per platform)")] = None,
):
    """Write the channel's catalog feed to a file (streamed; valid items only)."""
    from mercato.channels import feeds
    from mercato.channels.check import resolve_target

    with unit_of_work() as session, out.open("wb") as handle:
        stats = feeds.write_feed(session, resolve_target(session, channel), handle, format)
    console.print(
        f"Wrote {stats.written} items to {out} ({stats.left_out} invalid left out; "
        f"`mercato channels check {channel}` says why)."
    )


@feeds_app.command("token")
def token(channel: Annotated[str, typer.Argument(help="Channel name or id")]):
    """A new secret pull URL for the channel's feed (shown once)."""
    from mercato.channels import service

    with unit_of_work() as session:
        _, url = service.rotate_feed_token(session, service.find_channel(session, channel).id)
    console.print(f"Feed URL (shown once): [bold green]{url}[/]")
