"""The common journeys file, as ChannelAttribution and other tools read and write it:

    path;total_conversions;total_conversion_value;total_null
    facebook>email>direct;12;1340.50;310

One row per distinct path, channels joined by ``>``. ``path`` and ``total_conversions``
are required; ``total_conversion_value`` and ``total_null`` default to 0. An optional
``days_before`` column gives each touch's days before the conversion, joined by ``>``
like the path (``9>2>0``): only with it can time decay and a lookback window run.
Columns may come in any order; ``;`` or ``,`` separates them (as the header shows).

Any bad row refuses the whole file, naming the row (the file's line) and the column.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TextIO

from mercato.analytics.files import text_lines
from mercato.analytics.journeys import Journey
from mercato.errors import FieldError, ValidationFailed

PATH, CONVERSIONS, VALUE, NULLS, DAYS = (
    "path",
    "total_conversions",
    "total_conversion_value",
    "total_null",
    "days_before",
)
REQUIRED = (PATH, CONVERSIONS)
KNOWN = (PATH, CONVERSIONS, VALUE, NULLS, DAYS)
MAX_ERRORS = 50


class _Bad(Exception):
    def __init__(self, column: str, message: str):
        self.column = column
        self.message = message


def read_journeys(file: Path) -> list[Journey]:
    with text_lines(file) as lines:
        return parse_lines(lines, str(file))


def parse_journeys(text: str, name: str = "journeys") -> list[Journey]:
    return parse_lines(io.StringIO(text.removeprefix("\ufeff"), newline=""), name)


def parse_lines(lines: TextIO, name: str = "journeys") -> list[Journey]:
    """Streamed row by row, identical journeys merged as they come: memory follows the
    number of distinct journeys, not the file's size."""
    first = lines.readline()
    if not first.strip():
        raise ValidationFailed(f"{name}: empty.", [FieldError(("file",), "no header row")])
    delimiter = ";" if ";" in first else ","
    header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter))]
    refusals: list[FieldError] = []
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in KNOWN]
    for column in missing:
        refusals.append(_refusal(1, column, "this column is missing from the header"))
    for column in unknown:
        refusals.append(_refusal(1, column, f"unknown column (known: {', '.join(KNOWN)})"))
    if refusals:
        raise ValidationFailed(f"{name}: the header is not a journeys header.", refusals)

    at = {column: header.index(column) for column in header}
    width = len(header)
    names: dict[str, str] = {}  # one string per channel name, shared by every path
    merged: dict[tuple, list] = {}
    rows = csv.reader(lines, delimiter=delimiter)
    for row in rows:
        line = rows.line_num + 1
        if len(row) != width:
            if not any(cell.strip() for cell in row):
                continue
            refusals.append(_refusal(line, "", f"{len(row)} fields where the header has {width}"))
        else:
            try:
                key, counts = _journey(row, at, names)
            except _Bad as bad:
                refusals.append(_refusal(line, bad.column, bad.message))
            else:
                seen = merged.get(key)
                if seen is None:
                    merged[key] = counts
                else:
                    seen[0] += counts[0]
                    seen[1] += counts[1]
                    seen[2] += counts[2]
        if len(refusals) >= MAX_ERRORS:
            break
    if refusals:
        raise ValidationFailed(f"{name}: nothing was read, the file has errors.", refusals)
    if not merged:
        raise ValidationFailed(f"{name}: no journeys.", [FieldError(("file",), "no rows")])
    # Emptied as the journeys are made, so that both are never whole at once.
    journeys = []
    while merged:
        (path, days), (conversions, value, nulls) = merged.popitem()
        journeys.append(Journey(path, conversions, value, nulls, days))
    journeys.reverse()
    return journeys


def _refusal(line: int, column: str, message: str) -> FieldError:
    where = f'row {line}, column "{column}"' if column else f"row {line}"
    return FieldError(("rows", line, column), f"{where}: {message}", "csv")


def _journey(row: list[str], at: dict[str, int], names: dict[str, str]) -> tuple[tuple, list]:
    path = _path(row[at[PATH]], names)
    conversions = _count(row[at[CONVERSIONS]], CONVERSIONS)
    value = _value(row[at[VALUE]]) if VALUE in at else 0.0
    nulls = _count(row[at[NULLS]] or "0", NULLS) if NULLS in at else 0
    days = None
    if DAYS in at and row[at[DAYS]].strip():
        days = _days(row[at[DAYS]], len(path))
    return (path, days), [conversions, value, nulls]


def _path(text: str, names: dict[str, str]) -> tuple[str, ...]:
    if not text.strip():
        raise _Bad(PATH, "the path is empty")
    touches = [t.strip() for t in text.split(">")]
    if "" in touches:
        i = touches.index("") + 1
        raise _Bad(PATH, f"touch {i} of {text.strip()!r} has no channel name")
    return tuple([names.setdefault(t, t) for t in touches])


def _count(text: str, column: str) -> int:
    try:
        number = int(text)
    except ValueError:
        pass
    else:
        if number < 0:
            raise _Bad(column, f"{text.strip()} is negative")
        return number
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        raise _Bad(column, f"{text!r} is not a number" if text else "empty") from None
    if not math.isfinite(number) or number != int(number):
        raise _Bad(column, f"{text} is not a whole number of buyers")
    if number < 0:
        raise _Bad(column, f"{text} is negative")
    return int(number)


def _value(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(number) and number >= 0:
            return number
    text = text.strip()
    if not text:
        return 0.0
    try:
        number = float(text)
    except ValueError:
        raise _Bad(VALUE, f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise _Bad(VALUE, f"{text} is not a finite number")
    if number < 0:
        raise _Bad(VALUE, f"{text} is negative")
    return number


def _days(text: str, touches: int) -> tuple[float, ...]:
    parts = text.split(">")
    if len(parts) != touches:
        raise _Bad(DAYS, f"{len(parts)} times for a path of {touches} touches")
    days = []
    for part in parts:
        try:
            d = float(part)
        except ValueError:
            raise _Bad(DAYS, f"{part.strip()!r} is not a number of days") from None
        if not math.isfinite(d) or d < 0:
            raise _Bad(DAYS, f"{part.strip()} is not a number of days before the conversion")
        days.append(d)
    return tuple(days)
