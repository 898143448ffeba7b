"""`mercato channels ...` and `mercato feeds ...`: thin commands over the channel services."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from mercato.channels.capabilities import capabilities, orders_note
from mercato.cli_support import console, parse, short_transactions, table, unit_of_work

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


def _pairs(pairs: list[str] | None, what: str) -> dict | None:
    from mercato.channels.service import parse_pairs

    return parse_pairs(pairs, what) if pairs else None


def _input(model, **fields):
    """A pydantic input model of the options given (exit 1 on a refusal)."""
    return parse(model, **{k: v for k, v in fields.items() if v is not None})


Credentials = Annotated[
    list[str] | None,
    typer.Option("--credential", help="KEY=VALUE, repeatable; stored encrypted"),
]
Settings = Annotated[
    list[str] | None,
    typer.Option("--setting", help="KEY=VALUE, repeatable (e.g. catalog_id=...)"),
]
NoVerify = Annotated[
    bool, typer.Option("--no-verify", help="Store without calling the platform first")
]


@channels_app.command("add")
def add(
    kind: Annotated[str, typer.Argument(help="meta, google, tiktok, pinterest or snapchat")],
    name: Annotated[str, typer.Option("--name")],
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="API root (a simulator)")
    ] = None,
    credential: Credentials = None,
    setting: Settings = None,
    country: str = "US",
    language: str = "en",
    currency: Annotated[str | None, typer.Option(help="Defaults to the store currency")] = None,
    no_verify: NoVerify = False,
):
    """Connect a channel: the platform's required settings are checked and the platform is
    called once with them; nothing is stored when either fails."""
    from mercato.channels import setup
    from mercato.channels.schemas import ChannelCreate

    with _sync_run() as sessions:
        data = _input(
            ChannelCreate,
            kind=kind,
            name=name,
            base_url=base_url,
            country=country,
            language=language,
            currency=currency,
            credentials=_pairs(credential, "credential") or {},
            settings=_pairs(setting, "setting") or {},
        )
        connected = setup.connect(sessions.write, data, check_with_platform=not no_verify)
    channel = connected.channel
    console.print(
        f"Connected {channel.kind} channel [bold]{channel.name}[/] ({channel.id}) "
        f"at {channel.base_url}."
    )
    if connected.verified:
        console.print(f"The platform answered: {connected.verified}.")


@channels_app.command("edit")
def edit(
    channel: Annotated[str, typer.Argument(help="Channel name or id")],
    name: Annotated[str | None, typer.Option("--name", help="A new name")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url")] = None,
    credential: Credentials = None,
    setting: Settings = None,
    country: str | None = None,
    language: str | None = None,
    currency: str | None = None,
    status: Annotated[str | None, typer.Option(help="active or paused")] = None,
    no_verify: NoVerify = False,
):
    """Change a channel. --credential and --setting add to (or overwrite keys of) the stored
    ones; a change the platform sees is checked with it before it is stored."""
    from mercato.channels import service, setup
    from mercato.channels.schemas import ChannelUpdate

    with _sync_run() as sessions:
        with sessions.read() as session:
            channel_id = service.find_channel(session, channel).id
        data = _input(
            ChannelUpdate,
            name=name,
            base_url=base_url,
            country=country,
            language=language,
            currency=currency,
            status=status,
            credentials=_pairs(credential, "credential"),
            settings=_pairs(setting, "setting"),
        )
        changed = setup.change(
            sessions.write, channel_id, data, merge=True, check_with_platform=not no_verify
        )
    console.print(f"Changed channel [bold]{changed.channel.name}[/] ({changed.channel.status}).")
    if changed.verified:
        console.print(f"The platform answered: {changed.verified}.")


@channels_app.command("remove")
def remove(
    channel: Annotated[str, typer.Argument(help="Channel name or id")],
    delete_items: Annotated[
        bool, typer.Option("--delete-items", help="First delete its items on the platform")
    ] = False,
):
    """Stop syncing a channel for good. Its orders and listings stay (history); its name is
    free again."""
    from mercato.channels import service, setup

    with _sync_run() as sessions:
        with sessions.read() as session:
            channel_id = service.find_channel(session, channel).id
        removed = setup.remove(sessions, channel_id, delete_items=delete_items)
    deleted = f"; {removed.deleted_items} items deleted on the platform" if delete_items else ""
    console.print(f"Removed channel {channel} ({channel_id}){deleted}. Its history stays.")


def _failing(c) -> str:
    return (
        f"failing, last at {c.last_error_at:%Y-%m-%d %H:%M} UTC "
        f"({c.failures} runs in a row): {c.last_error}"
    )


def _health(c) -> str:
    if c.removed_at:
        return "removed"
    if c.failing:
        return f"failing ×{c.failures}"
    return "ok"


@channels_app.command("list")
def list_(
    json_out: Annotated[bool, typer.Option("--json")] = False,
    removed: Annotated[bool, typer.Option("--removed", help="Removed channels too")] = False,
):
    """Connected channels (never their credentials), with failing ones and why."""
    from mercato.channels import service

    with unit_of_work() as session:
        channels = [service.to_public(c) for c in service.list_channels(session, removed=removed)]
    if json_out:
        console.print_json(json.dumps([c.model_dump(mode="json") for c in channels]))
        return
    rows = table("name", "kind", "country", "currency", "status", "sync", "base url", "id")
    for c in channels:
        rows.add_row(c.name, c.kind, c.country, c.currency, c.status, _health(c), c.base_url, c.id)
    console.print(rows)
    for c in channels:
        if c.failing and not c.removed_at:
            console.print(f"[red]{c.name}[/]: {_failing(c)}")


@channels_app.command("show")
def show(
    channel: Annotated[str, typer.Argument(help="Channel name or id")],
    json_out: Annotated[bool, typer.Option("--json")] = False,
):
    """One channel: settings, which credentials are set, health and verdict counts."""
    from mercato.channels import service

    with unit_of_work() as session:
        found = service.find_channel(session, channel)
        public = service.to_public(found)
        counts = service.verdict_counts(session, found.id)
    if json_out:
        console.print_json(json.dumps({**public.model_dump(mode="json"), "verdicts": counts}))
        return
    console.print(f"[bold]{public.name}[/] ({public.kind}, {public.id}) is {public.status}")
    console.print(f"  API root: {public.base_url}")
    console.print(f"  {public.country} · {public.language} · {public.currency}")
    console.print(f"  settings: {json.dumps(public.settings, sort_keys=True)}")
    console.print(f"  credentials set: {', '.join(public.credential_keys) or 'none'}")
    if public.checkout_url:
        console.print(f"  checkout URL to register on {public.kind}: {public.checkout_url}")
    if note := orders_note(public.kind):
        console.print(f"  {note}")
    synced = f"{public.last_synced_at:%Y-%m-%d %H:%M} UTC" if public.last_synced_at else "never"
    console.print(f"  last sync: {synced}")
    if public.failing:
        console.print(f"  [red]{_failing(public)}[/]")
    console.print(
        "  items: " + (", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "none yet")
    )


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


@channels_app.command("market")
def set_market(
    channel: Annotated[str, typer.Argument(help="Channel name or id")],
    market: Annotated[str | None, typer.Argument(help="Market code; omit with --none")] = None,
    none: Annotated[bool, typer.Option("--none", help="Sell in no market")] = False,
    localized: Annotated[
        bool | None,
        typer.Option(
            "--localized/--own-catalog",
            help="Meta: override the items another channel fills (localized catalog)",
        ),
    ] = None,
):
    """Sell through a channel in a market: its country, language and currency become the
    market's, its items the market's texts and prices."""
    from mercato.channels import markets

    if not market and not none:
        raise typer.BadParameter("name a market, or pass --none")
    with short_transactions() as sessions:
        found = markets.set_market_asking(sessions, channel, None if none else market, localized)
        console.print(
            f"{found.name} sells in {found.settings.get('market') or 'no market'}: "
            f"{found.country}, {found.settings.get('locale') or found.language}, {found.currency}"
            + (" (overrides of another channel's items)" if found.settings.get("localized") else "")
        )


@channels_app.command("markets")
def market_verdicts(
    market: Annotated[str | None, typer.Option(help="Only this market")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
):
    """Each market's channels, their items checked now by each platform's rules: the verdict
    per market. Exits 1 when a market has items its platform would reject."""
    from mercato.channels.check import verdicts

    with unit_of_work() as session:
        found = verdicts(session, market)
    if json_out:
        console.print_json(json.dumps([{**vars(v), "verdict": v.verdict} for v in found]))
    else:
        shown = table("market", "channel", "kind", "in", "checked", "valid", "errors", "verdict")
        for v in found:
            shown.add_row(
                v.market,
                v.channel + (" (localized)" if v.localized else ""),
                v.kind,
                f"{v.country} {v.language} {v.currency}",
                str(v.checked),
                str(v.valid),
                str(v.errors),
                v.verdict,
            )
        console.print(shown)
        for v in found:
            for issue, count in sorted(v.issues.items(), key=lambda kv: -kv[1])[:5]:
                console.print(f"  {v.market} {v.channel}: {issue} ({count})")
    if any(v.verdict == "errors" for v in found):
        raise typer.Exit(1)


@channels_app.command("publish")
def publish(
    channel: Annotated[str, typer.Argument(help="Channel name or id")],
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Compare every item with its listing, not only the changed ones"
        ),
    ] = False,
):
    """Send what changed, then read the platform's verdicts back."""
    from mercato.channels import service, sync

    with unit_of_work() as session:
        channel_id = service.find_channel(session, channel).id
    with _sync_run() as sessions:
        result = sync.publish(sessions, channel_id, dry_run=dry_run, full=full)
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
    if found.status == "active" and capabilities(found.kind).catalog_api:
        with _sync_run() as sessions:
            sync.read_back(sessions, found.id)
    with unit_of_work() as session:
        found = service.find_channel(session, channel)
        counts = service.verdict_counts(session, found.id)
        flagged = service.list_listings(
            session, found.id, service.ListingFilters(), None, service.MAX_PAGE_SIZE
        ).items
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
    override: Annotated[
        str | None,
        typer.Option(help="A localized channel's language (default) or country override feed"),
    ] = None,
):
    """Write the channel's catalog feed to a file (streamed; valid items only)."""
    from mercato.channels import feeds
    from mercato.channels.check import resolve_target

    with unit_of_work() as session, out.open("wb") as handle:
        stats = feeds.write_feed(
            session, resolve_target(session, channel), handle, format, override
        )
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
