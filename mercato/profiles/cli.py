"""`mercato customers ...` and `mercato customers segments ...`"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mercato.cli_support import console, parse, table, unit_of_work
from mercato.customers import consent, merges, profiles
from mercato.money import format_plain
from mercato.profiles import service
from mercato.profiles.schemas import ConsentCreate, ProfileUpdate
from mercato.segments import service as segments
from mercato.segments.schemas import SegmentCreate, SegmentFilters
from mercato.system import audit

app = typer.Typer(help="Customer profiles: one per person across channels.", no_args_is_help=True)
segments_app = typer.Typer(help="Saved filters over customer profiles.", no_args_is_help=True)
app.add_typer(segments_app, name="segments")
ACTOR = "cli"


def _summaries(items) -> None:
    rows = table("customer", "name", "email", "phone", "orders", "revenue", "last order", "tags")
    for p in items:
        rows.add_row(
            p.id,
            p.name or "-",
            p.email or "-",
            p.phone or "-",
            str(p.orders),
            f"{format_plain(p.revenue, p.currency)} {p.currency}",
            f"{p.last_order_at:%Y-%m-%d}" if p.last_order_at else "-",
            ", ".join(p.tags) or "-",
        )
    console.print(rows)


@app.command("list")
def list_customers(
    q: Annotated[str | None, typer.Option("--q", help="Name, email, phone or platform id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=250)] = 50,
):
    """Profiles, newest first."""
    with unit_of_work() as session:
        page = service.list_profiles(session, q, None, limit)
        _summaries(page.items)


@app.command("show")
def show(customer_id: str):
    """One profile: contact points, figures, channels, merges, suggestions, consent and
    the latest of its timeline."""
    with unit_of_work() as session:
        p = service.detail(session, customer_id)
        timeline = service.timeline(session, p.id, 20)
        audit.record(session, "cli", "viewed", p.id, "profile (CLI)")
    console.print(f"[bold]{p.name or p.id}[/] ({p.id}, {len(p.rows)} row(s))")
    if p.language:
        console.print(f"Language: {p.language}")
    if p.tags:
        console.print(f"Tags: {', '.join(p.tags)}")
    f = p.figures
    console.print(
        f"Orders: {f.orders} · revenue {format_plain(f.revenue, f.currency)} {f.currency} · "
        f"last order {f.last_order_at:%Y-%m-%d}"
        if f.last_order_at
        else f"Orders: {f.orders}"
    )
    contacts = table("kind", "value", "where", "verified", "first seen")
    for c in p.contact_points:
        contacts.add_row(c.kind, c.value, c.scope or "-", "yes" if c.verified else "no", c.source)
    console.print(contacts)
    if p.channels:
        console.print("Channels: " + ", ".join(f"{c.kind} ({'/'.join(c.via)})" for c in p.channels))
    for a in p.addresses:
        console.print(
            "Address: "
            + ", ".join(
                str(a[k])
                for k in ("name", "line1", "line2", "city", "postal_code", "country")
                if a.get(k)
            )
        )
    for c in p.consent:
        said = "agreed" if c.granted else "withdrew"
        console.print(
            f"Consent: {c.purpose} {c.channel} {said} {c.recorded_at:%Y-%m-%d} ({c.source})"
        )
    for m in p.merges:
        console.print(f"Merge {m.id} [{m.status}]: {m.merged_id} into {m.survivor_id}, {m.rule}")
    for s in p.suggestions:
        console.print(f"Suggested merge {s.id}: {s.customer_id} and {s.other_id}: {s.reason}")
    if p.notes:
        console.print(f"Notes: {p.notes}")
    rows = table("when", "what", "detail")
    for e in timeline:
        rows.add_row(f"{e.at:%Y-%m-%d %H:%M}", e.title, e.detail or "")
    console.print(rows)


@app.command("edit")
def edit(
    customer_id: str,
    name: Annotated[str | None, typer.Option()] = None,
    language: Annotated[str | None, typer.Option(help="BCP 47, e.g. pt-BR")] = None,
    notes: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[list[str] | None, typer.Option(help="The profile's tags (all of them)")] = None,
):
    """Change a profile's name, language, notes or tags."""
    fields = {k: v for k, v in (("name", name), ("language", language), ("notes", notes)) if v}
    data = parse(ProfileUpdate, **fields, tags=tag)
    with unit_of_work() as session:
        root = profiles.update(session, customer_id, fields=fields, tags=data.tags, actor="cli")
        console.print(f"Updated {root.id}.")


@app.command("merge")
def merge(
    customer_id: str,
    other_id: str,
    reason: Annotated[str, typer.Option(help="Why they are one person")],
):
    """Merge OTHER_ID's profile into CUSTOMER_ID's."""
    with unit_of_work() as session:
        record = merges.merge(
            session, customer_id, other_id, rule="manual", reason=reason, actor=ACTOR
        )
        console.print(f"Merged {record.merged_id} into {record.survivor_id} (merge {record.id}).")


@app.command("unmerge")
def unmerge(merge_id: str):
    """Undo a merge: both profiles get back what each had."""
    with unit_of_work() as session:
        record = merges.unmerge(session, merge_id, ACTOR)
        console.print(f"{record.merged_id} is its own profile again.")


@app.command("suggestions")
def suggestions():
    """Suggested merges waiting for a decision."""
    with unit_of_work() as session:
        rows = table("suggestion", "customer", "other", "rule", "reason")
        for s in merges.suggestions(session):
            rows.add_row(s.id, s.customer_id, s.other_id, s.rule, s.reason)
        console.print(rows)


@app.command("accept")
def accept(suggestion_id: str):
    """Accept a suggested merge."""
    with unit_of_work() as session:
        record = merges.accept(session, suggestion_id, ACTOR)
        console.print(f"Merged {record.merged_id} into {record.survivor_id} (merge {record.id}).")


@app.command("dismiss")
def dismiss(suggestion_id: str):
    """Dismiss a suggested merge (never suggested again)."""
    with unit_of_work() as session:
        merges.dismiss(session, suggestion_id, ACTOR)
        console.print("Dismissed.")


@app.command("consent")
def record_consent(
    customer_id: str,
    purpose: Annotated[str, typer.Option(help="marketing, analytics or personalisation")],
    wording: Annotated[str, typer.Option(help="The exact words the person was shown")],
    channel: Annotated[str, typer.Option(help="Marketing: email, whatsapp, messenger, sms")] = "",
    withdraw: Annotated[bool, typer.Option(help="Record a withdrawal (in force at once)")] = False,
    source: Annotated[str, typer.Option(help="import, inbox, ...")] = "import",
):
    """Record a person's agreement or withdrawal."""
    data = parse(
        ConsentCreate,
        purpose=purpose,
        channel=channel,
        granted=not withdraw,
        wording=wording,
        source=source,
    )
    with unit_of_work() as session:
        root = service.find(session, customer_id)
        consent.record(
            session,
            root.id,
            consent.check(data.purpose, data.channel),
            data.granted,
            source=data.source,
            wording=data.wording,
            reference=ACTOR,
        )
        console.print(f"Recorded: {'withdrew' if withdraw else 'agreed to'} {purpose} {channel}")


@segments_app.command("list")
def list_segments():
    with unit_of_work() as session:
        rows = table("segment", "name", "filters")
        for s in segments.list_segments(session):
            rows.add_row(s.id, s.name, json.dumps(s.filters))
        console.print(rows)


@segments_app.command("create")
def create_segment(
    name: str,
    filters: Annotated[
        str, typer.Option(help='JSON, e.g. {"tags": ["vip"], "min_orders": 2}')
    ] = "{}",
    description: Annotated[str | None, typer.Option()] = None,
):
    """Save a segment."""
    try:
        given = json.loads(filters)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--filters is not JSON: {exc}") from None
    data = parse(
        SegmentCreate,
        name=name,
        description=description,
        filters=parse(SegmentFilters, **given) if isinstance(given, dict) else given,
    )
    with unit_of_work() as session:
        segment = segments.create(session, data)
        console.print(f"Saved {segment.name} ({segment.id}).")


@segments_app.command("members")
def segment_members(segment_id: str, limit: Annotated[int, typer.Option(min=1, max=250)] = 50):
    """The profiles a segment holds for now."""
    with unit_of_work() as session:
        page = segments.members(session, segment_id, None, limit)
        _summaries(service.summaries(session, page.items))
