"""`mercato payments ...`: which provider takes payments, and its keys."""

from __future__ import annotations

from typing import Annotated

import typer

from mercato.cli_support import console, table, unit_of_work

app = typer.Typer(help="Payment providers: the sandbox or Stripe.", no_args_is_help=True)


@app.command("configure")
def configure(
    provider: Annotated[str, typer.Argument(help="sandbox or stripe")],
    secret_key: Annotated[
        str | None,
        typer.Option(
            "--secret-key",
            envvar="MERCATO_STRIPE_SECRET_KEY",
            help="Stripe secret key, sk_... (or $MERCATO_STRIPE_SECRET_KEY, out of the shell's "
            "history); left out: the stored one is kept",
        ),
    ] = None,
    publishable_key: Annotated[
        str | None,
        typer.Option(
            "--publishable-key",
            help="Stripe publishable key, pk_... (the checkout page's card element)",
        ),
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            "--webhook-secret",
            envvar="MERCATO_STRIPE_WEBHOOK_SECRET",
            help="Signing secret of the Stripe webhook endpoint, whsec_...",
        ),
    ] = None,
    api_base: Annotated[
        str | None,
        typer.Option("--api-base", help="Another address for Stripe's API (a local stand-in)"),
    ] = None,
):
    """Make a provider the one taking payments; secrets are stored encrypted."""
    from mercato.payments import service

    with unit_of_work() as session:
        service.configure(
            session,
            provider,
            secret_key=secret_key,
            public_key=publishable_key,
            webhook_secret=webhook_secret,
            api_base=api_base,
        )
        active = service.active_settings(session)
    console.print(f"Payments now go through [bold]{active.name}[/].")
    if active.webhook_url:
        console.print(f"Point its webhooks at {active.webhook_url}")


@app.command("show")
def show():
    """The configured providers, secrets masked."""
    from mercato.payments import service

    with unit_of_work() as session:
        shown = service.settings(session)
    rows = table(
        "provider",
        "active",
        "publishable key",
        "secret key",
        "webhook secret",
        "webhook url",
        "api base",
    )
    for s in shown:
        rows.add_row(
            s.name,
            "yes" if s.active else "",
            s.publishable_key or "-",
            s.secret_key or "-",
            s.webhook_secret or "-",
            s.webhook_url or "-",
            s.api_base or "-",
        )
    console.print(rows)
