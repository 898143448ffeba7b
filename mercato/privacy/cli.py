"""`mercato privacy ...`: data subject requests: open, list, export, erase."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mercato import cli_support as cli

app = typer.Typer(help="Data subject requests (GDPR, CCPA, LGPD).", no_args_is_help=True)
ACTOR = "cli"


@app.command("request")
def open_request(
    kind: Annotated[str, typer.Argument(help="access or erasure")],
    regime: Annotated[str, typer.Option(help="gdpr (30 days), ccpa (45) or lgpd (15)")] = "gdpr",
    email: str | None = None,
    phone: Annotated[str | None, typer.Option(help="International form, +...")] = None,
    customer_id: str | None = None,
    platform_user_id: str | None = None,
):
    """Log a person's request; prints its id and deadline."""
    from mercato.privacy import service
    from mercato.privacy.schemas import PrivacyRequestCreate

    data = cli.parse(
        PrivacyRequestCreate,
        kind=kind,
        regime=regime,
        email=email,
        phone=phone,
        customer_id=customer_id,
        platform_user_id=platform_user_id,
    )
    with cli.unit_of_work() as session:
        request = service.open_request(session, data, ACTOR)
        cli.console.print(f"Request {request.id} ({request.kind}), due {request.due_at:%Y-%m-%d}")


@app.command("list")
def list_(status: str | None = None):
    """Requests, the soonest due first."""
    from mercato.privacy import service

    table = cli.table("id", "kind", "regime", "status", "due", "outcome")
    with cli.unit_of_work() as session:
        for r in service.list_requests(session, status):
            outcome = ", ".join(
                f"{t} {n}" for v in (r.outcome or {}).values() for t, n in v.items()
            )
            table.add_row(r.id, r.kind, r.regime, r.status, f"{r.due_at:%Y-%m-%d}", outcome)
    cli.console.print(table)


@app.command("export")
def export(
    request_id: str,
    out: Annotated[Path, typer.Option(help="Where to write the zip archive")],
):
    """Everything held about the person of an access request, as one zip archive."""
    from mercato.privacy import service

    with cli.unit_of_work() as session:
        archive = service.export_request(session, request_id, ACTOR)
    out.write_bytes(archive)
    cli.console.print(f"Wrote {out} ({len(archive)} bytes)")


@app.command("erase")
def erase(
    request_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
):
    """Erase everything held about the person of an erasure request (cannot be undone)."""
    from mercato.privacy import service

    if not yes:
        typer.confirm(f"Erase the person of {request_id}? This cannot be undone", abort=True)
    with cli.unit_of_work() as session:
        request = service.erase_request(session, request_id, ACTOR)
        erased = request.outcome["erased"]
    cli.console.print(
        "Erased: " + (", ".join(f"{t} {n}" for t, n in erased.items()) or "nothing was held")
    )


@app.command("audit")
def audit_log(
    subject: Annotated[
        str | None, typer.Option(help="A customer, order, conversation or request id")
    ] = None,
    limit: int = 100,
):
    """Who viewed, exported, changed or erased personal data, the latest first."""
    from mercato.system import audit

    table = cli.table("at", "actor", "action", "subject", "detail")
    with cli.unit_of_work() as session:
        for e in audit.entries(session, subject, limit):
            table.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action, e.subject, e.detail or "")
    cli.console.print(table)


@app.command("keys")
def keys_status():
    """Personal data at rest: how many values each master key holds, per column."""
    from mercato.crypto import current_key_id
    from mercato.privacy import keys

    table = cli.table("column", "values by master key id")
    with cli.unit_of_work() as session:
        for name, by in keys.counts_by_key(session).items():
            table.add_row(name, ", ".join(f"{k} {n}" for k, n in sorted(by.items())) or "-")
    cli.console.print(f"Current master key: {current_key_id()}")
    cli.console.print(table)


@app.command("rotate-keys")
def rotate_keys():
    """Re-encrypt every personal value not under the current master key (the first of
    MERCATO_PII_KEYS); keep the older keys configured until this has run."""
    from mercato.crypto import current_key_id
    from mercato.privacy import keys

    moved = 0
    with cli.short_transactions() as sessions:
        for target, count in keys.rotate(sessions):
            moved += count
            cli.console.print(f"{target.table}.{target.column}: {count} re-encrypted")
    cli.console.print(f"Done: {moved} value(s) now under master key {current_key_id()}.")
