"""`mercato webhooks ...`: endpoints, secrets, deliveries, redelivery."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from mercato import cli_support as cli

app = typer.Typer(help="Outbound webhooks (Standard Webhooks signatures).", no_args_is_help=True)


@app.command("create")
def create(
    url: str,
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event", help='Event type, "<resource>.*" or "*"; repeatable (default: all)'
        ),
    ] = None,
    description: str = "",
):
    """Subscribe a URL; prints the signing secret."""
    from mercato.webhooks import service
    from mercato.webhooks.schemas import EndpointCreate

    data = cli.parse(EndpointCreate, url=url, description=description, event_types=event or ["*"])
    with cli.unit_of_work() as session:
        new = service.create_endpoint(session, data)
    cli.console.print(
        f"Endpoint {new.endpoint.id} → {new.endpoint.url} ({', '.join(new.endpoint.event_types)})"
    )
    cli.console.print(f"Signing secret: [bold green]{new.secret}[/]")


@app.command("list")
def list_():
    """Endpoints and their state."""
    from mercato.webhooks import service

    with cli.unit_of_work() as session:
        endpoints = service.list_endpoints(session)
    table = cli.table("id", "url", "events", "state")
    for e in endpoints:
        table.add_row(
            e.id,
            e.url,
            " ".join(e.event_types),
            "enabled" if e.enabled else f"disabled: {e.disabled_reason}",
        )
    cli.console.print(table)


def _set_enabled(endpoint_id: str, enabled: bool) -> None:
    from mercato.webhooks import service
    from mercato.webhooks.schemas import EndpointUpdate

    with cli.unit_of_work() as session:
        service.update_endpoint(session, endpoint_id, EndpointUpdate(enabled=enabled))
    cli.console.print(f"{endpoint_id} {'enabled' if enabled else 'disabled'}.")


@app.command("enable")
def enable(endpoint_id: str):
    """Enable an endpoint; its pending deliveries go out again."""
    _set_enabled(endpoint_id, True)


@app.command("disable")
def disable(endpoint_id: str):
    """Stop sending to an endpoint (deliveries wait)."""
    _set_enabled(endpoint_id, False)


@app.command("delete")
def delete(endpoint_id: str):
    """Delete an endpoint with its deliveries."""
    from mercato.webhooks import service

    with cli.unit_of_work() as session:
        service.delete_endpoint(session, endpoint_id)
    cli.console.print(f"Deleted {endpoint_id}.")


@app.command("secret")
def secret(endpoint_id: str):
    """Print the current signing secret."""
    from mercato.webhooks import service

    with cli.unit_of_work() as session:
        cli.console.print(service.get_secret(session, endpoint_id))


@app.command("rotate-secret")
def rotate_secret(
    endpoint_id: str,
    overlap: Annotated[int, typer.Option(help="Seconds the old secret keeps signing")] = 86400,
):
    """Sign with a new secret (and the old one during the overlap); prints the new one."""
    from mercato.webhooks import service
    from mercato.webhooks.schemas import SecretRotate

    with cli.unit_of_work() as session:
        new = service.rotate_secret(session, endpoint_id, SecretRotate(overlap_seconds=overlap))
    cli.console.print(f"New signing secret: [bold green]{new.secret}[/]")


@app.command("redeliver")
def redeliver(
    endpoint_id: str,
    event: Annotated[str | None, typer.Option(help="One event id")] = None,
    since: Annotated[datetime | None, typer.Option(help="Every event from (UTC)")] = None,
    until: Annotated[datetime | None, typer.Option(help="... until (UTC, exclusive)")] = None,
):
    """Send one event again, or every subscribed event of a time range."""
    from datetime import UTC

    from mercato.webhooks import service
    from mercato.webhooks.schemas import Redeliver

    def aware(value: datetime | None) -> datetime | None:
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)

    try:
        data = Redeliver(event_id=event, since=aware(since), until=aware(until))
    except ValueError as exc:
        cli.err.print(f"[bold red]Error:[/] {exc}")
        raise typer.Exit(1) from None
    with cli.unit_of_work() as session:
        count, endpoint = service.redeliver(session, endpoint_id, data)
    note = "" if endpoint.enabled else " (the endpoint is disabled: they wait for `enable`)"
    cli.console.print(f"Queued {count} deliveries to {endpoint.url}{note}.")


@app.command("deliveries")
def deliveries(
    endpoint: Annotated[str | None, typer.Option(help="Endpoint id")] = None,
    state: Annotated[str | None, typer.Option(help="pending, succeeded or failed")] = None,
    limit: int = 50,
):
    """Deliveries, newest first."""
    from mercato.webhooks import service

    with cli.unit_of_work() as session:
        items = service.list_deliveries(
            session, service.DeliveryFilters(endpoint_id=endpoint, state=state), limit=limit
        ).items
    table = cli.table("id", "event", "type", "state", "attempts", "last status", "next try")
    for d in items:
        table.add_row(
            d.id,
            d.event_id,
            d.event_type,
            d.state,
            str(d.attempts),
            str(d.last_status or "-"),
            f"{d.next_attempt_at:%Y-%m-%d %H:%M:%S}" if d.state == "pending" else "-",
        )
    cli.console.print(table)


@app.command("attempts")
def attempts(delivery_id: str):
    """Every attempt of a delivery: time, duration, status, start of the answer."""
    from mercato.webhooks import service

    with cli.unit_of_work() as session:
        detail = service.get_delivery_detail(session, delivery_id)
    table = cli.table("at", "ms", "status", "error", "response")
    for a in detail.attempt_log:
        table.add_row(
            f"{a.attempted_at:%Y-%m-%d %H:%M:%S}",
            str(a.duration_ms),
            str(a.status_code or "-"),
            a.error or "",
            (a.response_body or "")[:80],
        )
    cli.console.print(table)
