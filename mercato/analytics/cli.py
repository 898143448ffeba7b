"""`mercato analytics ...`: attribution over a journeys file (no database needed)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Annotated

import typer

from mercato.analytics.attribution import MODELS, Options, attribute_file
from mercato.analytics.result import Attribution
from mercato.analytics.result import as_json as _as_json
from mercato.analytics.rules import DIRECT
from mercato.errors import MercatoError

app = typer.Typer(help="Which channels led to the sales.", no_args_is_help=True)


@app.command()
def attribution(
    journeys: Annotated[
        Path | None,
        typer.Option(
            help="Journeys file: path;total_conversions;total_conversion_value;total_null. "
            "Without it: the touch ledger"
        ),
    ] = None,
    model: Annotated[str, typer.Option(help=f"{', '.join(MODELS)}, or all side by side")] = "all",
    format: Annotated[str, typer.Option(help="table, csv or json")] = "table",
    half_life: Annotated[float, typer.Option(help="Time decay's half-life in days")] = 7.0,
    direct: Annotated[
        list[str] | None, typer.Option(help="A channel name that counts as direct; repeatable")
    ] = None,
    lookback: Annotated[
        float | None, typer.Option(help="Leave out touches older than this many days")
    ] = None,
    drill_down: Annotated[
        str | None, typer.Option(help="List the journeys behind this channel's figure")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="Ledger: purchases from this day"),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Ledger: up to this day, inclusive"),
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Ledger: default the store's")] = None,
):
    """Credit conversions and value to channels, by one model or all of them."""
    from mercato.cli_support import console, err, table

    if format not in ("table", "csv", "json"):
        err.print("[bold red]Error:[/] --format: one of table, csv, json")
        raise typer.Exit(1)
    options = Options(half_life, tuple(direct) if direct else DIRECT, lookback)
    try:
        if journeys is not None:
            report = attribute_file(journeys, model, options)
        else:
            report = _attribute_ledger(model, options, since, until, currency)
    except MercatoError as exc:
        err.print(f"[bold red]Error:[/] {exc.detail}")
        for error in exc.errors:
            err.print(f"  - {error.message}")
        raise typer.Exit(1) from None
    for note in report.notes:
        err.print(f"Note: {note}")
    results = report.attributions

    if drill_down is not None:
        _print_drill_down(results, drill_down, format)
        return
    if format == "json":
        typer.echo(json.dumps(_as_json(results), indent=2))
    elif format == "csv":
        typer.echo(_as_csv(results), nl=False)
    elif len(results) == 1:
        rows = table("channel", "conversions", "value")
        for c in results[0].credits:
            rows.add_row(c.channel, f"{c.conversions:,.2f}", f"{c.value:,.2f}")
        console.print(rows)
    else:
        # Side by side: one table of conversions, one of value, a column per model.
        for title, index in (("Conversions credited", 0), ("Value credited", 1)):
            rows = table("channel", *(r.model for r in results))
            for channel in _channels(results):
                rows.add_row(channel, *(f"{_credit(r, channel)[index]:,.2f}" for r in results))
            console.print(title)
            console.print(rows)
    if format == "table":
        for r in results:
            if "removal_effects" in r.details:
                effects = ", ".join(
                    f"{c} {_exact(e)}" for c, e in r.details["removal_effects"].items()
                )
                console.print(f"Markov removal effects: {effects}")


@app.command()
def clv(
    transactions: Annotated[
        Path | None,
        typer.Option(help="Purchases file: customer_id,date,value. Without it: the ledger"),
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Ledger: default the store's")] = None,
    until: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="File: the last day observed (its last)"),
    ] = None,
    horizon_months: Annotated[int, typer.Option(help="Months of purchases valued")] = 12,
    discount: Annotated[float, typer.Option(help="Monthly discount rate")] = 0.01,
    holdout_days: Annotated[
        int | None, typer.Option(help="Days held out to check the fit (half the span, ≤180)")
    ] = None,
    top: Annotated[int, typer.Option(help="Customers listed")] = 10,
    format: Annotated[str, typer.Option(help="table or json")] = "table",
):
    """Predicted lifetime value (BG/NBD + Gamma-Gamma), checked on a holdout. Over the
    ledger the fit is kept (as the worker's daily fit is); over a file it is only shown."""
    from mercato.analytics import clv_runs
    from mercato.analytics.transactions_file import read_transactions
    from mercato.cli_support import err

    if format not in ("table", "json"):
        err.print("[bold red]Error:[/] --format: one of table, json")
        raise typer.Exit(1)
    options = clv_runs.Options(currency or "", horizon_months, discount, holdout_days)
    try:
        options = options.checked()
        if transactions is not None:
            purchases = read_transactions(transactions)
            last = _day(until) or max(p.day for p in purchases)
            found = clv_runs.analyse(purchases, last, options)
            shown = clv_runs.analysis_json(found, options, last, top)
        else:
            shown = _clv_ledger(options, top)
    except MercatoError as exc:
        err.print(f"[bold red]Error:[/] {exc.detail}")
        for error in exc.errors:
            err.print(f"  - {error.message}")
        raise typer.Exit(1) from None
    if format == "json":
        typer.echo(json.dumps(shown, indent=2, default=str))
    else:
        _print_clv(shown)


def _money(value, currency: str | None) -> str:
    from mercato.money import format_plain

    return format_plain(value, currency) if currency else f"{value:,.2f}"


def _clv_ledger(options, top: int) -> dict:
    from mercato.analytics import clv_runs
    from mercato.cli_support import short_transactions, unit_of_work
    from mercato.db import utcnow

    with short_transactions() as sessions:
        run = clv_runs.fit(sessions, options, utcnow())
    with unit_of_work() as session:
        return clv_runs.as_json(session, session.merge(run, load=False), top)


def _print_clv(shown: dict) -> None:
    from mercato.cli_support import console, err, table

    if shown["status"] != "fitted":
        err.print(f"No fit: {shown['detail']}")
        raise typer.Exit(1)
    console.print(
        f"{shown['customers']:,} customers, {shown['repeat_customers']:,} who bought again"
    )
    console.print(", ".join(f"{k} {v:.4g}" for k, v in shown["params"].items()))
    holdout = shown["holdout"]
    if "skipped" in holdout:
        console.print(f"No holdout check: {holdout['skipped']}")
    else:
        error = holdout["error"]
        console.print(
            f"Holdout, {holdout['days']} days after {holdout['calibration_until']}: "
            f"{holdout['actual']:,} repeat purchases, {holdout['predicted']:,.1f} predicted"
            + (f" ({error:+.1%})" if error is not None else "")
            + f", mean absolute error {holdout['mae']:.3f} per customer"
        )
        rows = table("bought before", "customers", "bought after", "predicted")
        for g in holdout["groups"]:
            rows.add_row(
                g["purchases"], f"{g['customers']:,}", f"{g['actual']:.3f}", f"{g['predicted']:.3f}"
            )
        console.print(rows)
    rows = table("customer", "repeat purchases", "P(alive)", "expected purchases", "value")
    for c in shown["top_customers"]:
        rows.add_row(
            c["customer_id"],
            str(c["frequency"]),
            f"{c['p_alive']:.3f}",
            f"{c['expected_purchases']:.2f}",
            _money(c["clv"], shown["currency"]),
        )
    console.print(f"Worth most over {shown['horizon_months']} months")
    console.print(rows)


def _attribute_ledger(model, options, since, until, currency):
    from mercato.analytics import attribution_ledger, kpis, reports
    from mercato.cli_support import unit_of_work

    period = kpis.asked(_day(since), _day(until))
    with unit_of_work() as session:
        return attribution_ledger.attribute_period(
            session, period, reports.currency(currency), model, options
        )


def _day(given: datetime | None) -> date | None:
    return given.date() if given else None


def _channels(results: list[Attribution]) -> list[str]:
    seen: dict[str, None] = {}
    for r in results:
        for c in r.credits:
            seen.setdefault(c.channel)
    return list(seen)


def _credit(result: Attribution, channel: str) -> tuple[float, float]:
    try:
        c = result.credit(channel)
    except KeyError:
        return 0.0, 0.0
    return c.conversions, c.value


def _num(x: float) -> float:
    return round(x, 6) + 0.0  # no "-0.0"


def _exact(x: Fraction) -> str:
    return str(x) if x.denominator < 10**6 else f"{float(x):.6f}"


def _as_csv(results: list[Attribution]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["channel", *(f"{r.model}_{k}" for r in results for k in ("conversions", "value"))]
    )
    for channel in _channels(results):
        cells = []
        for r in results:
            conv, value = _credit(r, channel)
            cells += [_num(conv), _num(value)]
        writer.writerow([channel, *cells])
    return buffer.getvalue()


def _print_drill_down(results: list[Attribution], channel: str, format: str) -> None:
    from mercato.cli_support import console, table

    found = {r.model: r.drill_down(channel) for r in results}
    if format == "json":
        typer.echo(
            json.dumps(
                {
                    model: [
                        {
                            "path": ">".join(c.journey.path),
                            "conversions": _num(c.conversions),
                            "value": _num(c.value),
                        }
                        for c in parts
                    ]
                    for model, parts in found.items()
                },
                indent=2,
            )
        )
        return
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["model", "path", "conversions", "value"])
        for model, parts in found.items():
            for c in parts:
                writer.writerow(
                    [model, ">".join(c.journey.path), _num(c.conversions), _num(c.value)]
                )
        typer.echo(buffer.getvalue(), nl=False)
        return
    for model, parts in found.items():
        rows = table("path", "conversions", "value")
        for c in parts:
            rows.add_row(">".join(c.journey.path), f"{c.conversions:,.4f}", f"{c.value:,.2f}")
        console.print(f"{model}: {channel}")
        console.print(rows)


# ---------------------------------------------------------------- the ledger's imports


@app.command("import-touches")
def import_touches(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: date,channel,post[,campaign,creator],impressions,clicks,reach,interactions"
        ),
    ],
):
    """Import a platform's daily figures per post or ad (a day imported again replaces it)."""
    from mercato.analytics import imports, reports
    from mercato.cli_support import console, unit_of_work

    with unit_of_work() as session:
        done = imports.import_touches(session, file, reports.store_zone())
    console.print(f"{done.rows} rows imported: {done.written} figures in the ledger.")


@app.command("import-spend")
def import_spend(
    file: Annotated[
        Path, typer.Argument(help="CSV: date,channel,campaign,spend,currency (minor units)")
    ],
):
    """Import ad spend per campaign per day (a day imported again replaces it)."""
    from mercato.analytics import imports
    from mercato.cli_support import console, unit_of_work

    with unit_of_work() as session:
        done = imports.import_spend(session, file)
    console.print(f"{done.rows} rows imported: {done.written} campaign days of spend.")


# ---------------------------------------------------------------- KPIs

# What the table shows (csv and json have every KPI).
_TABLE_KPIS = (
    "sessions",
    "orders",
    "conversion_rate_sessions",
    "revenue_net",
    "aov",
    "spend",
    "roas",
    "cac",
    "engagement_rate",
    "repeat_rate",
    "clv_historical",
    "csat",
)


@app.command()
def kpis(
    by: Annotated[
        str | None, typer.Option(help="channel, campaign, post, creator or country")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First day")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, inclusive")
    ] = None,
    bucket: Annotated[str | None, typer.Option(help="day, week or month")] = None,
    currency: Annotated[str | None, typer.Option(help="Default: the store's")] = None,
    format: Annotated[str, typer.Option(help="table, csv or json")] = "table",
):
    """KPIs over the ledger (days in the store's time zone), each with its formula."""
    from mercato.analytics import kpis as kpi_service
    from mercato.analytics import reports
    from mercato.cli_support import console, err, table, unit_of_work

    if format not in ("table", "csv", "json"):
        err.print("[bold red]Error:[/] --format: one of table, csv, json")
        raise typer.Exit(1)
    period = kpi_service.asked(_day(since), _day(until))
    with unit_of_work() as session:
        report = kpi_service.kpis(session, period, reports.currency(currency), by, bucket)
    found = kpi_service.as_json(report)
    for note in report.notes:
        err.print(f"Note: {note}")
    if format == "json":
        typer.echo(json.dumps(found, indent=2))
        return
    rows = [*found["rows"], found["total"] | {"group": "total"}]
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        keys = list(found["total"])
        writer.writerow(keys)
        for r in rows:
            writer.writerow(["" if r[k] is None else r[k] for k in keys])
        typer.echo(buffer.getvalue(), nl=False)
        return
    shown = table("period", by or "group", *_TABLE_KPIS)
    for r in rows:
        shown.add_row(r["period"] or "", r["group"] or "", *(_cell(r[k]) for k in _TABLE_KPIS))
    console.print(f"{found['from']} to {found['to']} ({found['time_zone']}), {found['currency']}")
    console.print(shown)
    for name in _TABLE_KPIS:
        console.print(f"  {name} = {found['formulas'][name]}")


def _cell(value) -> str:
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4f}"


@app.command("export-touches")
def export_touches(
    output: Annotated[Path, typer.Argument(help="CSV file to write")],
    since: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First day")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, inclusive")
    ] = None,
):
    """Write the ledger's touches of a period (days in the store's zone) as CSV, one row
    per touch, times in UTC."""
    from mercato.analytics import kpis as kpi_service
    from mercato.analytics import ledger
    from mercato.cli_support import console, unit_of_work

    period = kpi_service.asked(_day(since), _day(until))
    written = 0
    with unit_of_work() as session, output.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(ledger.EXPORT_COLUMNS)
        for row in ledger.rows_between(session, period.since, period.until):
            writer.writerow(
                [
                    v.isoformat() if isinstance(v, datetime) else ("" if v is None else v)
                    for v in row
                ]
            )
            written += 1
    console.print(f"{written} touches written to {output}.")


_PERIOD_FROM = typer.Option("--from", formats=["%Y-%m-%d"], help="First day")
_PERIOD_TO = typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, inclusive")
_JOURNEY_CURRENCY = typer.Option(help="Journeys' values in it; default: the store's")


@app.command("export-parquet")
def export_parquet(
    directory: Annotated[Path, typer.Argument(help="Folder to write the files in")],
    since: Annotated[datetime | None, _PERIOD_FROM] = None,
    until: Annotated[datetime | None, _PERIOD_TO] = None,
    currency: Annotated[str | None, _JOURNEY_CURRENCY] = None,
):
    """Write the period's touches, ad spend and journeys as Parquet files
    (touches.parquet, ad_spend.parquet, journeys.parquet; docs/analytics/warehouse.md)."""
    from mercato.analytics import kpis as kpi_service
    from mercato.analytics import reports, warehouse
    from mercato.cli_support import console, unit_of_work

    period = kpi_service.asked(_day(since), _day(until))
    with unit_of_work() as session:
        written = warehouse.write(session, period, reports.currency(currency), directory)
    for name, rows in written.items():
        console.print(f"{rows} rows written to {directory / (name + '.parquet')}.")


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="One SQL statement (DuckDB's dialect)")],
    since: Annotated[datetime | None, _PERIOD_FROM] = None,
    until: Annotated[datetime | None, _PERIOD_TO] = None,
    currency: Annotated[str | None, _JOURNEY_CURRENCY] = None,
    format: Annotated[str, typer.Option(help="table, csv or json")] = "table",
):
    """Run SQL over the period's ledger in DuckDB: tables touches, ad_spend, journeys and
    views purchases, channel_days (docs/analytics/warehouse.md)."""
    from mercato.analytics import kpis as kpi_service
    from mercato.analytics import reports, warehouse
    from mercato.cli_support import console, err, table, unit_of_work

    if format not in ("table", "csv", "json"):
        err.print("[bold red]Error:[/] --format: one of table, csv, json")
        raise typer.Exit(1)
    period = kpi_service.asked(_day(since), _day(until))
    with unit_of_work() as session:
        found = warehouse.query(session, period, reports.currency(currency), query)
    if format == "json":
        rows = [dict(zip(found.columns, r, strict=True)) for r in found.rows]
        typer.echo(json.dumps(rows, indent=2, default=str))
    elif format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(found.columns)
        writer.writerows(["" if v is None else v for v in r] for r in found.rows)
        typer.echo(buffer.getvalue(), nl=False)
    else:
        shown = table(*found.columns)
        for r in found.rows:
            shown.add_row(*("" if v is None else str(v) for v in r))
        console.print(shown)


# Options every platform connection shares.
_TOKEN = typer.Option(help="The platform's token (stored encrypted)", prompt=True, hide_input=True)
_CONSENT = typer.Option(
    help="Buyers agreed to ad measurement before checkout (your site's consent banner)"
)
_BASE = typer.Option(help="The platform's API root (a simulator, for testing)")


# ---------------------------------------------------------------- ad reports


@app.command("connect-ads")
def connect_ads(
    platform: Annotated[str, typer.Argument(help="meta or pinterest")],
    account_id: Annotated[str, typer.Option(help="The ad account's number (Meta: without act_)")],
    access_token: Annotated[str, _TOKEN],
    base_url: Annotated[str | None, _BASE] = None,
):
    """Read an ad account's daily spend, impressions and clicks per campaign into the
    ledger (every day, and with `pull-ads`)."""
    from mercato.analytics import ad_reports
    from mercato.cli_support import console, unit_of_work

    with unit_of_work() as session:
        source = ad_reports.connect(session, platform, account_id, access_token, base_url)
    console.print(f"Connected {source.id}: {platform} ad account {source.account_id}.")


@app.command("ad-accounts")
def ad_accounts():
    """The ad accounts whose reports are read, and how the last read went."""
    from mercato.analytics import ad_reports
    from mercato.cli_support import console, table, unit_of_work

    shown = table("id", "platform", "account", "read at", "last error")
    with unit_of_work() as session:
        for s in ad_reports.list_sources(session):
            read = s.pulled_at.isoformat(timespec="minutes") if s.pulled_at else "never"
            shown.add_row(s.id, s.platform, s.account_id, read, s.last_error or "")
    console.print(shown)


@app.command("pull-ads")
def pull_ads(
    account: Annotated[str | None, typer.Argument(help="An ad account's id; default: all")] = None,
    since: Annotated[datetime | None, _PERIOD_FROM] = None,
    until: Annotated[datetime | None, _PERIOD_TO] = None,
):
    """Read the ad accounts' reports for a period (default: the last few days) now."""
    from mercato.analytics import ad_reports
    from mercato.cli_support import console, err, short_transactions, unit_of_work
    from mercato.db import utcnow
    from mercato.errors import PlatformRefused

    with unit_of_work() as session:
        first, last = ad_reports.period(_day(since), _day(until), utcnow())
        ids = (
            [account] if account else [s.id for s in ad_reports.list_sources(session) if s.enabled]
        )
        for source_id in ids:
            ad_reports.get_source(session, source_id)
    failed = False
    with short_transactions() as sessions:
        for source_id in ids:
            try:
                pulled = ad_reports.pull(sessions, source_id, first, last)
            except PlatformRefused as exc:
                err.print(f"[bold red]{source_id}:[/] {exc.detail}")
                failed = True
                continue
            console.print(
                f"{source_id}: {pulled.days} campaign days read, {pulled.spend_rows} spend rows "
                f"and {pulled.touches} impression and click totals written ({first} to {last})."
            )
    if failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------- conversions sent back


def _connect(platform: str, source_id: str, token: str, test_code, consent_implied, base_url):
    from mercato.analytics import conversions
    from mercato.analytics.conversion_schemas import DestinationCreate
    from mercato.cli_support import console, err, parse, unit_of_work

    data = parse(
        DestinationCreate,
        platform=platform,
        source_id=source_id,
        access_token=token,
        test_code=test_code,
        consent_implied=consent_implied,
        base_url=base_url,
    )
    values = data.model_dump()
    values["base_url"] = str(data.base_url) if data.base_url else None
    with unit_of_work() as session:
        destination = conversions.connect(session, conversions.DestinationInput(**values))
    console.print(
        f"Connected {destination.id}: purchases go to {platform} {destination.source_id}"
        + (f" (test code {destination.test_code})" if destination.test_code else "")
    )
    if not destination.consent_implied:
        err.print(
            "Note: nothing is sent until buyers' consent is implied "
            "(--consent-implied, when your site asks for it before checkout)."
        )


@app.command("connect-meta")
def connect_meta(
    pixel_id: Annotated[str, typer.Option(help="The Meta pixel (dataset) id")],
    access_token: Annotated[str, _TOKEN],
    test_event_code: Annotated[str | None, typer.Option(help="Events Manager test code")] = None,
    consent_implied: Annotated[bool, _CONSENT] = False,
    base_url: Annotated[str | None, _BASE] = None,
):
    """Send paid purchases to Meta's Conversions API."""
    _connect("meta", pixel_id, access_token, test_event_code, consent_implied, base_url)


@app.command("connect-tiktok")
def connect_tiktok(
    pixel_code: Annotated[str, typer.Option(help="The TikTok pixel code")],
    access_token: Annotated[str, _TOKEN],
    test_event_code: Annotated[str | None, typer.Option(help="Events Manager test code")] = None,
    consent_implied: Annotated[bool, _CONSENT] = False,
    base_url: Annotated[str | None, _BASE] = None,
):
    """Send paid purchases to TikTok's Events API."""
    _connect("tiktok", pixel_code, access_token, test_event_code, consent_implied, base_url)


@app.command("connect-pinterest")
def connect_pinterest(
    ad_account_id: Annotated[str, typer.Option(help="The Pinterest ad account id")],
    access_token: Annotated[str, _TOKEN],
    test: Annotated[
        bool, typer.Option(help="Validate only (?test=true): nothing recorded")
    ] = False,
    consent_implied: Annotated[bool, _CONSENT] = False,
    base_url: Annotated[str | None, _BASE] = None,
):
    """Send paid purchases to Pinterest's Conversions API."""
    _connect(
        "pinterest",
        ad_account_id,
        access_token,
        "test" if test else None,
        consent_implied,
        base_url,
    )


@app.command("destinations")
def destinations():
    """Where purchases are sent."""
    from mercato.analytics import conversions
    from mercato.cli_support import console, table, unit_of_work

    with unit_of_work() as session:
        found = conversions.list_destinations(session)
        rows = [
            (d.id, d.platform, d.source_id, d.test_code or "", d.consent_implied, d.enabled)
            for d in found
        ]
    shown = table("id", "platform", "source", "test code", "consent implied", "enabled")
    for row in rows:
        shown.add_row(*(str(value) for value in row))
    console.print(shown)


@app.command("deliveries")
def deliveries(
    status: Annotated[str | None, typer.Option(help="queued, sent or failed")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
):
    """The delivery log: every purchase sent back, its attempts and the platform's answer."""
    from mercato.analytics import conversions
    from mercato.cli_support import console, err, table, unit_of_work

    if status not in (None, "queued", "sent", "failed"):
        err.print("[bold red]Error:[/] --status: one of queued, sent, failed")
        raise typer.Exit(1)
    with unit_of_work() as session:
        rows = [
            (
                d.id,
                d.destination_id,
                d.event_id,
                d.status,
                str(d.attempts),
                d.last_error or conversions.shown(d),
            )
            for d in conversions.list_deliveries(session, status, limit)
        ]
    shown = table("id", "destination", "event id", "status", "attempts", "answer")
    for row in rows:
        shown.add_row(*row)
    console.print(shown)
