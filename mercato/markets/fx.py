"""Exchange rates imported from a file: CSV (``currency,rate,date``, optionally ``base``),
JSON (``{"base": "EUR", "date": "2026-12-04", "rates": {"USD": "1.05", ...}}``, the shape
most providers' daily rates take), or the ECB's euro reference rates XML
(``eurofxref-daily.xml``: ``<Cube time="..."><Cube currency="USD" rate="1.05"/>``); or
read by the worker from a provider's URL (``MERCATO_FX_URL``) in any of these shapes.

A rate is how many units of the currency one unit of the base buys. Rates quoted
against another base (the ECB quotes against the euro) are rebased on the store's base
currency. The imported rates are written to ``<data dir>/fx_rates.json`` and override
``[currencies.rates]`` of the rates file (``mercato.checkout.rates``); each checkout
records the rate it used and its date.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import httpx
from lxml import etree
from sqlalchemy.orm import Session, sessionmaker

from mercato.config import get_settings
from mercato.db import transaction
from mercato.errors import FieldError, ValidationFailed
from mercato.events import service as events
from mercato.money import check_currency
from mercato.outbound import check_url, checked_transport

FILE_NAME = "fx_rates.json"
RATES_CHANGED = "fx_rates.changed"
# Significant digits kept of a rebased rate (the ECB publishes 5 or 6).
DIGITS = 10
# The ECB quotes every rate against the euro; its file does not say so.
ECB_BASE = "EUR"
# A provider's file is a few KiB; anything much larger is not one.
MAX_FETCHED = 1 << 20
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class FxRate:
    currency: str
    rate: Decimal
    as_of: date


def parse(text: str, base_currency: str, *, name: str = "") -> dict[str, FxRate]:
    """The rates in ``text`` (JSON when it starts with ``{``, else CSV), against
    ``base_currency``; every mistake is reported by where it is, nothing half-read."""
    text = text.lstrip("\ufeff")
    start = text.lstrip()[:1]
    rows = (
        _json_rows(text) if start == "{" else _xml_rows(text) if start == "<" else _csv_rows(text)
    )
    errors: list[FieldError] = []
    found: dict[str, FxRate] = {}
    bases: dict[str, tuple[str, Decimal, date]] = {}
    for where, base, code, rate, as_of in rows:
        try:
            code = check_currency(code)
            base = check_currency(base or base_currency)
            value = Decimal(str(rate).strip())
            if not value.is_finite() or value <= 0:
                raise ValueError(f"{rate!r} is not a positive rate")
            day = date.fromisoformat(str(as_of).strip())
        except (ValueError, InvalidOperation, TypeError) as exc:
            errors.append(FieldError(where, str(exc) or "needs currency, rate and date"))
            continue
        bases[code] = (base, value, day)
    if errors:
        raise ValidationFailed(f"The exchange rates {name or 'file'} has mistakes.", errors)
    for code, (base, value, day) in bases.items():
        if base == base_currency:
            found[code] = FxRate(code, value, day)
            continue
        # Quoted against another base: X per base_currency = (X per B) / (store per B).
        if base_currency not in bases or bases[base_currency][0] != base:
            errors.append(
                FieldError(
                    (code,),
                    f"quoted against {base}, and the file has no {base_currency} rate against "
                    f"{base} to rebase it on",
                )
            )
            continue
        store = bases[base_currency][1]
        rebased = value if code != base else Decimal(1)
        found[code] = FxRate(code, _significant(rebased / store), min(day, bases[base_currency][2]))
    if errors:
        raise ValidationFailed(f"The exchange rates {name or 'file'} has mistakes.", errors)
    if bases and base_currency in bases and bases[base_currency][0] != base_currency:
        base, _, day = bases[base_currency]
        found[base] = FxRate(base, _significant(1 / bases[base_currency][1]), day)
    found.pop(base_currency, None)
    if not found:
        raise ValidationFailed(
            "The exchange rates file holds no rate.", [FieldError(("rates",), "is empty")]
        )
    return found


def _significant(value: Decimal) -> Decimal:
    return Decimal(f"{value:.{DIGITS}g}")


def _json_rows(text: str):
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ValidationFailed(
            "The exchange rates file is not JSON.", [FieldError(("file",), str(exc))]
        ) from None
    rates = raw.get("rates") if isinstance(raw, dict) else None
    if not isinstance(rates, dict):
        raise ValidationFailed(
            "The exchange rates file has no rates.",
            [FieldError(("rates",), 'needs {"rates": {"EUR": "0.92", ...}}')],
        )
    base, day = raw.get("base"), raw.get("date")
    for code, rate in rates.items():
        if isinstance(rate, float):  # a JSON number: read it as written, never as a float
            rate = repr(rate)
        yield ("rates", code), base, code, rate, day


def _xml_rows(text: str):
    """The ECB's reference rates: its latest day's ``Cube`` (a history file holds many)."""
    try:
        root = etree.fromstring(text.encode("utf-8"), _XML)
    except etree.XMLSyntaxError as exc:
        raise ValidationFailed(
            "The exchange rates file is not XML.", [FieldError(("file",), str(exc))]
        ) from None
    days = [cube for cube in root.iter("{*}Cube") if cube.get("time")]
    if not days:
        raise ValidationFailed(
            "The exchange rates file has no rates.",
            [FieldError(("Cube",), "needs <Cube time=...> holding <Cube currency=... rate=...>")],
        )
    latest = max(days, key=lambda cube: cube.get("time"))
    day = latest.get("time")
    for cube in latest.iter("{*}Cube"):
        code = cube.get("currency")
        if code is not None:
            yield ("Cube", day, code), ECB_BASE, code, cube.get("rate"), day


def _csv_rows(text: str):
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = {f.strip().lower() for f in reader.fieldnames or ()}
        if not {"currency", "rate", "date"} <= fields:
            raise ValidationFailed(
                "The exchange rates file needs the columns currency, rate, date (and base).",
                [FieldError(("header",), f"has {sorted(fields)}")],
            )
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            yield ("row", line), row.get("base"), row["currency"], row["rate"], row["date"]
    except csv.Error as exc:
        raise ValidationFailed(
            "The exchange rates file is not CSV.",
            [FieldError(("row", reader.line_num), str(exc))],
        ) from None


def dump(rates: dict[str, FxRate], base_currency: str, source: str) -> str:
    """The normalised file ``rates.load`` reads."""
    return json.dumps(
        {
            "base": base_currency,
            "source": source,
            "rates": {
                c: {"rate": str(r.rate), "date": r.as_of.isoformat()}
                for c, r in sorted(rates.items())
            },
        },
        indent=2,
    )


def load_normalised(text: str) -> tuple[str, str, dict[str, FxRate]]:
    """(base, source, rates) of a file ``dump`` wrote."""
    raw = json.loads(text)
    return (
        raw["base"],
        raw.get("source", ""),
        {
            c: FxRate(c, Decimal(v["rate"]), date.fromisoformat(v["date"]))
            for c, v in raw["rates"].items()
        },
    )


def changed_currencies(before: dict[str, FxRate], after: dict[str, FxRate]) -> list[str]:
    """Currencies whose conversion rate differs (new, gone, or another value)."""
    return sorted(
        c
        for c in before.keys() | after.keys()
        if c not in before or c not in after or before[c].rate != after[c].rate
    )


def import_rates(session: Session, text: str, *, source: str) -> dict[str, FxRate]:
    """Check the rates in ``text`` and make them the ones checkouts convert with (written
    whole, then swapped in: a checkout reads the old rates or the new, never half). The
    currencies whose rate changed are recorded in the caller's transaction, before the
    file is swapped in: a publish reading the change log then reads the new rates."""
    settings = get_settings()
    rates = parse(text, settings.currency, name=source)
    changed = changed_currencies(current(), rates)
    if changed:
        events.record(session, RATES_CHANGED, {"currencies": changed}, key="fx_rates")
        session.flush()
    path = settings.ensure_data_dir() / FILE_NAME
    partial = path.with_suffix(".partial")
    partial.write_text(dump(rates, settings.currency, source), encoding="utf-8")
    os.replace(partial, path)
    return rates


def fetch(url: str) -> str:
    """The provider's file, read over https from a public address (``outbound``)."""
    check_url(url)
    body = bytearray()
    with (
        httpx.Client(transport=checked_transport(), timeout=30.0) as http,
        http.stream("GET", url) as response,
    ):
        response.raise_for_status()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_FETCHED:
                raise ValidationFailed(
                    "The exchange rates provider sent more than 1 MiB.",
                    [FieldError(("MERCATO_FX_URL",), f"{url} is not a rates file")],
                )
        return body.decode(response.encoding or "utf-8")


def refresh(sessions: sessionmaker[Session], url: str | None = None) -> dict[str, FxRate]:
    """Read the provider's rates again (``url``, else ``MERCATO_FX_URL``) and import them
    as a file would be. A refused file changes nothing; no URL set reads nothing."""
    url = url or get_settings().fx_url
    if not url:
        return {}
    text = fetch(url)
    with transaction(sessions) as session:
        return import_rates(session, text, source=url)


def current() -> dict[str, FxRate]:
    """The imported rates checkouts convert with (none imported: empty)."""
    settings = get_settings()
    path = settings.data_dir / FILE_NAME
    if not path.exists():
        return {}
    base, _, rates = load_normalised(path.read_text(encoding="utf-8"))
    return rates if base == settings.currency else {}
