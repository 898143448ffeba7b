"""The `mercato` command: thin commands over the domain services."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from mercato.analytics import cli as analytics_cli
from mercato.auth import service as auth_service
from mercato.catalog import cli as collections_cli
from mercato.catalog import service, shopify_csv, translations_cli
from mercato.catalog.service import store_currency
from mercato.channels import cli as channels_cli
from mercato.cli_support import console, err, table, unit_of_work
from mercato.config import get_settings
from mercato.creators import cli as creators_cli
from mercato.db import create_db_engine
from mercato.demo import cli as demo_cli
from mercato.events import cli as events_cli
from mercato.fraud import cli as fraud_cli
from mercato.inbox import cli as inbox_cli
from mercato.inventory import cli as inventory_cli
from mercato.jobs import cli as jobs_cli
from mercato.live import cli as live_cli
from mercato.markets import cli as markets_cli
from mercato.money import format_plain
from mercato.offers import cli as offers_cli
from mercato.orders import cli as orders_cli
from mercato.payments import cli as payments_cli
from mercato.privacy import cli as privacy_cli
from mercato.profiles import cli as customers_cli
from mercato.recommendations import cli as recommendations_cli
from mercato.sandbox import cli as sandbox_cli
from mercato.system import log_redaction, migrations
from mercato.webhooks import cli as webhooks_cli

app = typer.Typer(
    help="Mercato: one catalog, one stock, every social channel.", no_args_is_help=True
)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
import_app = typer.Typer(help="Import a catalog.", no_args_is_help=True)
export_app = typer.Typer(help="Export the catalog.", no_args_is_help=True)
products_app = typer.Typer(help="Look at the catalog.", no_args_is_help=True)
# Every command's logs (the worker's above all) name no buyer.
log_redaction.install()
app.add_typer(tokens_app, name="tokens")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(products_app, name="products")
app.add_typer(collections_cli.app, name="collections")
app.add_typer(translations_cli.translations_app, name="translations")
app.add_typer(events_cli.app, name="events")
app.add_typer(jobs_cli.app, name="jobs")
app.add_typer(webhooks_cli.app, name="webhooks")
app.command("worker")(jobs_cli.worker)
app.add_typer(inventory_cli.app, name="inventory")
app.add_typer(orders_cli.app, name="orders")
app.add_typer(payments_cli.app, name="payments")
app.add_typer(inbox_cli.app, name="inbox")
app.add_typer(customers_cli.app, name="customers")
app.add_typer(analytics_cli.app, name="analytics")
app.add_typer(privacy_cli.app, name="privacy")
app.add_typer(recommendations_cli.app, name="recommendations")
# ROI reads offers and creators together: registered here, above both.
offers_cli.app.command("roi")(creators_cli.roi_command)
app.add_typer(offers_cli.app, name="offers")
app.add_typer(creators_cli.app, name="creators")
app.add_typer(markets_cli.app, name="markets")
app.add_typer(fraud_cli.app, name="fraud")
app.add_typer(live_cli.app, name="live")
app.command("demo")(demo_cli.demo_command)


@app.command()
def init():
    """Create or upgrade the database; print a first admin token once."""

    settings = get_settings()
    settings.resolved_secret_key()
    engine = create_db_engine(settings)
    migrations.upgrade(engine)
    engine.dispose()
    console.print(f"Database ready: [bold]{_safe_url(settings.sqlalchemy_url)}[/]")
    with unit_of_work() as session:
        if any(t.active and "admin" in t.scopes for t in auth_service.list_tokens(session)):
            console.print("An admin token exists already (`mercato tokens create` makes more).")
            return
        new = auth_service.create_token(session, "admin", ["admin"])
    console.print("Admin API token (shown once, keep it safe):")
    console.print(f"  [bold green]{new.secret}[/]")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="API processes")] = 1,
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="Run the job worker in the API process (default: on with SQLite)",
        ),
    ] = None,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="A line per request on stderr (off behind a proxy that logs them)",
        ),
    ] = True,
):
    """Serve the REST API (and, on the embedded SQLite setup, the job worker)."""
    import uvicorn

    from mercato.app import serve_app  # the web app is loaded by `serve` only

    embedded = get_settings().is_sqlite if worker is None else worker
    if embedded and workers == 1:
        uvicorn.run(serve_app(run_worker=True), host=host, port=port, access_log=access_log)
        return
    if embedded:
        console.print(
            "The in-process worker runs with one API process only: "
            "run `mercato worker` beside them."
        )
    uvicorn.run(
        "mercato.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
    )


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option("--name", help="What the token is for")],
    scope: Annotated[list[str], typer.Option("--scope", help="Repeat for several scopes")],
):
    """Create a token; it is printed once and only its hash is kept."""

    with unit_of_work() as session:
        new = auth_service.create_token(session, name, scope)
    console.print(f"Token {new.token.id} ({', '.join(new.token.scopes)}):")
    console.print(f"  [bold green]{new.secret}[/]")


@tokens_app.command("revoke")
def tokens_revoke(token: Annotated[str, typer.Argument(help="Token id or its prefix")]):
    """Revoke a token; running API processes refuse it within a second."""

    with unit_of_work() as session:
        revoked = auth_service.revoke_token(session, token)
    console.print(f"Revoked {revoked.id} ({revoked.name}).")


@tokens_app.command("list")
def tokens_list():
    """Tokens with their scopes (never the secrets)."""

    with unit_of_work() as session:
        tokens = auth_service.list_tokens(session)
    rows = table("id", "name", "prefix", "scopes", "created", "last used", "status")
    for t in tokens:
        rows.add_row(
            t.id,
            t.name,
            t.prefix + "…",
            " ".join(t.scopes),
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
            "active" if t.active else "revoked",
        )
    console.print(rows)


@import_app.command("shopify")
def import_shopify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid products, report the rest")
    ] = False,
    currency: Annotated[str | None, typer.Option(help="Currency of the prices")] = None,
):
    """Import a Shopify product CSV (all or nothing unless --skip-invalid)."""

    currency = currency or store_currency()
    size = file.stat().st_size
    progress = Progress(
        TextColumn("Importing {task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress, file.open("rb") as raw, unit_of_work() as session:
        stream, counter = shopify_csv.open_text(raw)
        task = progress.add_task(file.name, total=size, rows=0)
        report = shopify_csv.import_csv(
            session,
            stream,
            currency,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            on_progress=lambda rows: progress.update(task, completed=counter.bytes_read, rows=rows),
        )
    for warning in report.warnings:
        err.print(f"[yellow]Warning:[/] {warning}")
    verb = "Would import" if dry_run else "Imported"
    console.print(
        f"{verb} {report.products} products ({report.created} new, {report.updated} "
        f"updated, {report.unchanged} unchanged) with {report.variants} variants "
        f"from {report.rows} rows."
    )
    if report.error_count:
        console.print(f"[yellow]Skipped {report.skipped} invalid product(s):[/]")
        for error in report.errors:
            console.print(f"  - {error}")
        raise typer.Exit(1)


@export_app.command("shopify")
def export_shopify(file: Annotated[Path, typer.Argument(dir_okay=False)]):
    """Export the catalog as a Shopify product CSV ("-" for standard output)."""

    with unit_of_work() as session:
        if str(file) == "-":
            count = shopify_csv.export_csv(session, sys.stdout)
        else:
            with file.open("w", encoding="utf-8", newline="") as out:
                count = shopify_csv.export_csv(session, out)
    if str(file) != "-":
        console.print(f"Exported {count} products to {file}.")


@products_app.command("list")
def products_list(
    status: Annotated[str | None, typer.Option(help="draft, active or archived")] = None,
    q: Annotated[str | None, typer.Option(help="Search titles, handles and SKUs")] = None,
    limit: int = 50,
):
    """Products with their variant counts and price ranges."""

    with unit_of_work() as session:
        page = service.list_products(
            session, service.ProductFilters(status=status, q=q), limit=limit
        )
        rows = table("handle", "title", "status", "variants", "price", "id")
        for p in page.items:
            prices = sorted(v.price for v in p.variants)
            currency = p.variants[0].currency if p.variants else ""
            shown = (
                format_plain(prices[0], currency)
                if prices[0] == prices[-1]
                else f"{format_plain(prices[0], currency)}–{format_plain(prices[-1], currency)}"
            )
            rows.add_row(
                p.handle, p.title, p.status, str(len(p.variants)), f"{shown} {currency}", p.id
            )
    console.print(rows)
    if page.next_cursor:
        console.print(f"(more: raise --limit, max {service.MAX_PAGE_SIZE})")


@products_app.command("show")
def products_show(handle_or_sku: str):
    """One product (by handle, id or SKU) with its variants."""

    with unit_of_work() as session:
        product = service.find_product(session, handle_or_sku)
        console.print(
            f"[bold]{product.title}[/]  ({product.handle}, {product.status}, {product.id})"
        )
        if product.google_category_path:
            console.print(
                f"Google category: {product.google_category_id} {product.google_category_path}"
            )
        rows = table(
            "sku", *(product.options or ["variant"]), "price", "compare at", "barcode", "id"
        )
        for v in product.variants:
            rows.add_row(
                v.sku or "-",
                *(v.option_values or ["default"]),
                format_plain(v.price, v.currency) + f" {v.currency}",
                format_plain(v.compare_at_price, v.currency)
                if v.compare_at_price is not None
                else "-",
                v.barcode or "-",
                v.id,
            )
    console.print(rows)


app.add_typer(channels_cli.channels_app, name="channels")
app.add_typer(channels_cli.feeds_app, name="feeds")
app.add_typer(sandbox_cli.sandbox_app, name="sandbox")


if __name__ == "__main__":
    app()
