"""Access and portability: everything found about a person in one zip archive, as JSON
(``data.json``: every table's rows, whole) and as one CSV per table."""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mercato.privacy.finding import Found


def archive(found: Found, about: dict[str, Any]) -> bytes:
    tables = {
        name: [_plain_row(row) for _, row in sorted(rows.items(), key=lambda kv: str(kv[0]))]
        for name, rows in sorted(found.rows.items())
        if rows
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        document = {"request": about, "tables": tables}
        zipped.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2))
        for name, rows in tables.items():
            zipped.writestr(f"{name}.csv", _csv(rows))
    return buffer.getvalue()


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in row.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode()
    return value


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for k, v in row.items()
            }
        )
    return out.getvalue()
