"""Imported figures: a platform's daily reach and clicks per post or ad, and ad spend
per campaign. A file with any bad row is refused whole, every bad row named by file,
row and column; a good one is written in the caller's one transaction."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, or_
from sqlalchemy.orm import Session

from mercato.analytics.ledger import record
from mercato.analytics.models import AdSpend, Touch
from mercato.analytics.reports import day_start
from mercato.errors import FieldError, ValidationFailed
from mercato.money import CURRENCIES

MAX_ERRORS = 50
# Columns of a touches file -> the aggregate touch kind each count becomes.
TOUCH_COUNTS = {
    "impressions": "impression",
    "clicks": "click",
    "reach": "reach",
    "interactions": "interaction",
}


@dataclass
class Imported:
    rows: int
    written: int


@dataclass(frozen=True)
class _Column:
    name: str
    parse: Callable[[str], Any]
    required: bool = True


class _Bad(ValueError):
    pass


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Bad(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _name(most: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not text:
            raise _Bad("empty")
        if len(text) > most:
            raise _Bad(f"longer than {most} characters")
        return text

    return parse


def _optional_name(most: int) -> Callable[[str], str | None]:
    required = _name(most)
    return lambda text: required(text) if text else None


def _whole(text: str) -> int | None:
    """A count or an amount in minor units: whole and not negative; empty is none."""
    if not text:
        return None
    if not text.isdigit():
        raise _Bad(f"{text!r} is not a whole number of 0 or more (amounts in minor units)")
    return int(text)


def _currency(text: str) -> str:
    if text.upper() not in CURRENCIES:
        raise _Bad(f"{text!r} is not an ISO 4217 currency code")
    return text.upper()


TOUCH_COLUMNS = (
    _Column("date", _day),
    _Column("channel", _name(100)),
    _Column("post", _name(255)),
    _Column("campaign", _optional_name(255), required=False),
    _Column("creator", _optional_name(255), required=False),
    *(_Column(name, _whole, required=False) for name in TOUCH_COUNTS),
)
SPEND_COLUMNS = (
    _Column("date", _day),
    _Column("channel", _name(100)),
    _Column("campaign", _name(255)),
    _Column("spend", _whole),
    _Column("currency", _currency),
)


def _read(file: Path, columns: tuple[_Column, ...]) -> list[dict[str, Any]]:
    """Every row parsed, or ValidationFailed listing each bad one (row, column)."""
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationFailed(
            f"{name}: cannot be read ({exc.strerror}).", [FieldError(("file",), str(exc))]
        ) from None
    except UnicodeDecodeError:
        raise ValidationFailed(
            f"{name}: not UTF-8 text.", [FieldError(("file",), "not UTF-8 text")]
        ) from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ValidationFailed(f"{name}: empty.", [FieldError(("file",), "no header row")])
    delimiter = ";" if ";" in lines[0] else ","
    reader = csv.reader(lines, delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    known = {c.name for c in columns}
    refusals = [
        _refusal(1, c.name, "this column is missing from the header")
        for c in columns
        if c.required and c.name not in header
    ] + [
        _refusal(1, h, f"unknown column (known: {', '.join(c.name for c in columns)})")
        for h in header
        if h not in known
    ]
    if refusals:
        raise ValidationFailed(f"{name}: the header is wrong.", refusals)
    rows = []
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            refusals.append(
                _refusal(line, "", f"{len(cells)} fields where the header has {len(header)}")
            )
            continue
        given = dict(zip(header, (cell.strip() for cell in cells), strict=True))
        row = {}
        for column in columns:
            try:
                row[column.name] = column.parse(given.get(column.name, ""))
            except _Bad as bad:
                refusals.append(_refusal(line, column.name, str(bad)))
        row["_line"] = line
        rows.append(row)
        if len(refusals) >= MAX_ERRORS:
            break
    if refusals:
        raise ValidationFailed(f"{name}: nothing was imported, the file has errors.", refusals)
    if not rows:
        raise ValidationFailed(f"{name}: no rows.", [FieldError(("file",), "no rows")])
    return rows


def _refusal(line: int, column: str, message: str) -> FieldError:
    where = f'row {line}, column "{column}"' if column else f"row {line}"
    return FieldError(("rows", line, column), f"{where}: {message}", "csv")


def import_touches(session: Session, file: Path, zone: ZoneInfo) -> Imported:
    """A platform's daily figures per post or ad: each count an aggregate touch at the
    start of that day in the store's time zone. Importing a day again replaces its
    figures (the platforms revise them for days afterwards)."""
    rows = _read(file, TOUCH_COLUMNS)
    refusals = [
        _refusal(row["_line"], "", f"no count given ({', '.join(TOUCH_COUNTS)})")
        for row in rows
        if all(row[column] is None for column in TOUCH_COUNTS)
    ]
    if refusals:
        raise ValidationFailed(f"{file}: nothing was imported, the file has errors.", refusals)
    touches = [
        aggregate(
            kind, row["date"], row["channel"], row["campaign"], row["post"], row[column], zone
        )
        | {"creator": row["creator"]}
        for row in rows
        for column, kind in TOUCH_COUNTS.items()
        if row[column] is not None
    ]
    return Imported(len(rows), replace_aggregates(session, touches))


def aggregate(
    kind: str,
    day: date,
    channel: str,
    campaign: str | None,
    post: str | None,
    count: int,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """A day's count as one touch at the start of that day in the store's zone; its event
    id is its key, so the same day imported again replaces it."""
    key = (kind, channel, campaign, post, day.isoformat())
    return {
        "event_id": "import:" + hashlib.sha256("\x1f".join(map(str, key)).encode()).hexdigest(),
        "kind": kind,
        "source": "import",
        "at": day_start(day, zone),
        "channel": channel,
        "campaign": campaign,
        "post": post,
        "count": count,
    }


def replace_aggregates(session: Session, touches: list[dict[str, Any]]) -> int:
    """Aggregate touches written over those with the same event id (the platforms revise
    a day's figures for days afterwards)."""
    by_id = {t["event_id"]: t for t in touches}
    ids = list(by_id)
    for start in range(0, len(ids), 500):
        session.execute(delete(Touch).where(Touch.event_id.in_(ids[start : start + 500])))
    return record(session, by_id.values())


def import_spend(session: Session, file: Path) -> Imported:
    """Ad spend per campaign per day, in minor units; a day imported again replaces it."""
    rows = _read(file, SPEND_COLUMNS)
    spend = {(r["date"], r["channel"], r["campaign"], r["currency"]): r["spend"] for r in rows}
    return Imported(len(rows), replace_spend(session, spend))


def replace_spend(session: Session, spend: dict[tuple[date, str, str, str], int]) -> int:
    """Spend per (day, channel, campaign, currency), in minor units, written over what
    was there for those keys."""
    keys = list(spend)
    for start in range(0, len(keys), 200):
        session.execute(
            delete(AdSpend).where(
                or_(
                    *(
                        and_(
                            AdSpend.day == day,
                            AdSpend.channel == channel,
                            AdSpend.campaign == campaign,
                            AdSpend.currency == currency,
                        )
                        for day, channel, campaign, currency in keys[start : start + 200]
                    )
                )
            )
        )
    session.add_all(
        AdSpend(day=day, channel=channel, campaign=campaign, currency=currency, amount=amount)
        for (day, channel, campaign, currency), amount in spend.items()
    )
    session.flush()
    return len(spend)
