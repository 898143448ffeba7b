"""A purchases file for the lifetime value models, so that a shop's history (or a data
set such as CDNOW) can be fitted without the ledger and compared with other tools:
CSV with a header ``customer_id,date,value`` (date as YYYY-MM-DD, value a decimal in the
currency's major unit)."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from mercato.analytics.clv import Purchase
from mercato.analytics.files import text_lines
from mercato.errors import FieldError, ValidationFailed

COLUMNS = ("customer_id", "date", "value")
MAX_ERRORS = 50


def read_transactions(file: Path) -> list[Purchase]:
    with text_lines(file) as lines:
        rows = csv.reader(lines)
        header = [h.strip().lower() for h in next(rows, [])]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise ValidationFailed(
                f"{file}: the header must name {', '.join(COLUMNS)}.",
                [_refusal(1, c, "this column is missing from the header") for c in missing],
            )
        at = {c: header.index(c) for c in COLUMNS}
        found, refusals = [], []
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            try:
                found.append(_purchase(row, at))
            except _Bad as bad:
                refusals.append(_refusal(rows.line_num, bad.column, bad.message))
            if len(refusals) >= MAX_ERRORS:
                break
    if refusals:
        raise ValidationFailed(f"{file}: nothing was read, the file has errors.", refusals)
    if not found:
        raise ValidationFailed(f"{file}: no purchases.", [FieldError(("file",), "no rows")])
    return found


class _Bad(Exception):
    def __init__(self, column: str, message: str) -> None:
        self.column, self.message = column, message


def _purchase(row: list[str], at: dict[str, int]) -> Purchase:
    if len(row) <= max(at.values()):
        raise _Bad("", f"{len(row)} fields; the header names {max(at.values()) + 1}")
    customer = row[at["customer_id"]].strip()
    if not customer:
        raise _Bad("customer_id", "empty")
    try:
        day = date.fromisoformat(row[at["date"]].strip())
    except ValueError:
        raise _Bad("date", f"{row[at['date']]!r} is not a date (YYYY-MM-DD)") from None
    try:
        value = Decimal(row[at["value"]].strip())
    except InvalidOperation:
        raise _Bad("value", f"{row[at['value']]!r} is not an amount") from None
    if not value.is_finite() or value < 0:
        raise _Bad("value", "an amount of 0 or more")
    return Purchase(customer, day, float(value))


def _refusal(line: int, column: str, message: str) -> FieldError:
    where = f'row {line}, column "{column}"' if column else f"row {line}"
    return FieldError(("rows", line, column), f"{where}: {message}", "csv")
