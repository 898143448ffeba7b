"""The ledger in DuckDB: Parquet files, and SQL over documented views.

A period's touches, ad spend and journeys are streamed out of the database through CSV
spool files (one row in memory at a time) into DuckDB, which reads them with the ledger's
column types, writes Parquet and answers SQL. The tables and views are documented in
docs/analytics/warehouse.md; ``VIEWS`` below is their definition.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.analytics import ledger, ledger_journeys
from mercato.analytics.kpis import Period
from mercato.analytics.models import AdSpend
from mercato.errors import FieldError, ValidationFailed

if TYPE_CHECKING:
    import duckdb

# DuckDB types of the ledger's columns (the spool is text; these make it typed again).
_TOUCH_TYPES = {
    "event_id": "VARCHAR",
    "kind": "VARCHAR",
    "source": "VARCHAR",
    "at": "TIMESTAMPTZ",
    "channel": "VARCHAR",
    "campaign": "VARCHAR",
    "post": "VARCHAR",
    "creator": "VARCHAR",
    "conversation_id": "VARCHAR",
    "utm_source": "VARCHAR",
    "utm_medium": "VARCHAR",
    "utm_campaign": "VARCHAR",
    "utm_content": "VARCHAR",
    "utm_term": "VARCHAR",
    "visitor_id": "VARCHAR",
    "customer_id": "VARCHAR",
    "order_id": "VARCHAR",
    "product_id": "VARCHAR",
    "value": "BIGINT",
    "currency": "VARCHAR",
    "country": "VARCHAR",
    "count": "INTEGER",
    "experiment": "VARCHAR",
    "recorded_at": "TIMESTAMPTZ",
}
_SPEND_COLUMNS = ("day", "channel", "campaign", "amount", "currency")
_SPEND_TYPES = {
    "day": "DATE",
    "channel": "VARCHAR",
    "campaign": "VARCHAR",
    "amount": "BIGINT",
    "currency": "VARCHAR",
}
_JOURNEY_TYPES = {
    "path": "VARCHAR",
    "conversions": "BIGINT",
    "value": "DECIMAL(38, 6)",
    "nulls": "BIGINT",
}
assert tuple(_TOUCH_TYPES) == ledger.EXPORT_COLUMNS, "a ledger column has no DuckDB type"

# The views over the three tables: days in the store's zone (``{zone}``), money in
# integer minor units of the report's currency (``{currency}``; other currencies count
# as sessions, never in a sum of money, as in the KPIs). ``at`` is a keyword of DuckDB's:
# quoted.
VIEWS = {
    "purchases": """
        SELECT order_id, kind, "at", CAST(timezone('{zone}', "at") AS DATE) AS day, channel,
               campaign, post, creator, country, customer_id, value, currency
        FROM touches WHERE kind IN ('purchase', 'refund')""",
    "channel_days": """
        WITH days AS (
            SELECT CAST(timezone('{zone}', "at") AS DATE) AS day,
                   coalesce(channel, '(none)') AS channel,
                   sum(count) FILTER (WHERE kind = 'visit') AS sessions,
                   count(*) FILTER (WHERE kind = 'purchase' AND currency = '{currency}')
                       AS orders,
                   sum(value) FILTER (WHERE kind = 'purchase' AND currency = '{currency}')
                       AS revenue_gross,
                   sum(value) FILTER (WHERE kind = 'refund' AND currency = '{currency}')
                       AS refunds
            FROM touches GROUP BY ALL),
        spend AS (
            SELECT day, channel, sum(amount) AS spend FROM ad_spend
            WHERE currency = '{currency}' GROUP BY ALL)
        SELECT day, channel, '{currency}' AS currency, coalesce(sessions, 0) AS sessions,
               coalesce(orders, 0) AS orders, coalesce(revenue_gross, 0) AS revenue_gross,
               coalesce(refunds, 0) AS refunds,
               coalesce(revenue_gross, 0) + coalesce(refunds, 0) AS revenue_net,
               coalesce(spend.spend, 0) AS spend
        FROM days FULL JOIN spend USING (day, channel)""",
}


TABLES = ("touches", "ad_spend", "journeys")


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple]


@dataclass
class _Source:
    name: str
    rows: Callable[[], Iterable[Iterable]]  # called when spooled: one cursor open at a time
    types: dict[str, str]


def _sources(session: Session, period: Period, currency: str) -> list[_Source]:
    def touches():
        return ledger.rows_between(session, period.since, period.until)

    def spend():
        return session.execute(
            select(*(getattr(AdSpend, c) for c in _SPEND_COLUMNS))
            .where(AdSpend.day >= period.start, AdSpend.day <= period.end)
            .order_by(AdSpend.day, AdSpend.id)
            .execution_options(yield_per=1000)
        )

    def journeys():
        for j in ledger_journeys.from_ledger(session, period.since, period.until, currency):
            yield ">".join(j.path), j.conversions, j.value, j.nulls

    return [
        _Source("touches", touches, _TOUCH_TYPES),
        _Source("ad_spend", spend, _SPEND_TYPES),
        _Source("journeys", journeys, _JOURNEY_TYPES),
    ]


def _spooled(directory: Path, source: _Source) -> tuple[str, int]:
    """The source written to a CSV file, as a DuckDB expression that reads it back typed,
    and its row count."""
    path, written = directory / f"{source.name}.csv", 0
    with path.open("w", encoding="utf-8") as file:
        for row in source.rows():
            file.write(",".join(_field(v) for v in row) + "\n")
            written += 1
    columns = ", ".join(f"'{k}': '{v}'" for k, v in source.types.items())
    return (
        f"read_csv('{_quoted(path)}', auto_detect = false, header = false, delim = ',', "
        f"quote = '\"', escape = '\"', nullstr = '', allow_quoted_nulls = false, "
        f"columns = {{{columns}}})"
    ), written


def _field(value) -> str:
    """A CSV field: every value quoted, NULL left empty (so an empty string stays one)."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime | date) else str(value)
    return '"' + text.replace('"', '""') + '"'


def _quoted(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


@contextmanager
def _duckdb() -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    # Imported here: loading DuckDB takes half a second and 26 MB, which every API and
    # worker process would pay at start for a report few of them ever run.
    import duckdb

    with tempfile.TemporaryDirectory(prefix="mercato-warehouse-") as spool:
        con = duckdb.connect(config={"threads": 2, "memory_limit": "512MB"})
        try:
            yield con, Path(spool)
        finally:
            con.close()


@contextmanager
def opened(session: Session, period: Period, currency: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB database in memory holding the period's ledger, and its journeys and views
    in ``currency``. External access is switched off before it is handed over: SQL run on
    it reads and writes no file."""
    if not re.fullmatch("[A-Z]{3}", currency):
        raise ValidationFailed(
            "Unknown currency.", [FieldError(("currency",), "three capital letters")]
        )
    with _duckdb() as (con, spool):
        for source in _sources(session, period, currency):
            reader, _ = _spooled(spool, source)
            con.execute(f"CREATE TABLE {source.name} AS SELECT * FROM {reader}")
        zone = period.zone.key.replace("'", "")
        for name, body in VIEWS.items():
            con.execute(f"CREATE VIEW {name} AS {body.format(zone=zone, currency=currency)}")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        yield con


def query(session: Session, period: Period, currency: str, sql: str) -> Result:
    """One statement of SQL over the period's tables and views."""
    import duckdb  # loaded by ``opened`` already (see ``_duckdb``)

    with opened(session, period, currency) as con:
        try:
            cursor = con.execute(sql)
            if cursor.description is None:
                return Result([], [])
            return Result([d[0] for d in cursor.description], cursor.fetchall())
        except duckdb.Error as exc:
            reason = FieldError(("sql",), str(exc).splitlines()[0])
            raise ValidationFailed("The query was refused.", [reason]) from None


FORMATS = {"parquet": "(FORMAT parquet)", "csv": "(FORMAT csv, HEADER)"}


def write(
    session: Session,
    period: Period,
    currency: str,
    directory: Path,
    fmt: str = "parquet",
    tables: tuple[str, ...] = TABLES,
) -> dict[str, int]:
    """The period's ``tables`` (journeys in ``currency``) as ``<table>.<fmt>`` files in
    ``directory``; the rows written per table."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    with _duckdb() as (con, spool):
        for source in _sources(session, period, currency):
            if source.name not in tables:
                continue
            reader, written[source.name] = _spooled(spool, source)
            target = _quoted(directory / f"{source.name}.{fmt}")
            con.execute(f"COPY (SELECT * FROM {reader}) TO '{target}' {FORMATS[fmt]}")
    return written
