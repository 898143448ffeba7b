"""Shopify product CSV: import (streaming, all-or-nothing by default) and export.

The format is Shopify's: one row per variant, the product's own fields on its first
row, extra rows for images beyond the variants, "Title / Default Title" for products
without options, and per-market price columns ("Price / United States").

Why one module of ~950 lines: import and export read and write the same column table
(``FIELD_COLUMNS``, market columns, the neutralised formula cells), which is the format.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import IO, Any

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mercato.auth.scopes import grants
from mercato.catalog import service
from mercato.catalog.models import Product, Variant
from mercato.catalog.schemas import ProductCreate
from mercato.errors import FieldError, Forbidden, ValidationFailed
from mercato.inventory import counts as inventory
from mercato.inventory.availability import InsufficientStock
from mercato.money import MoneyError, check_currency, format_plain, to_minor

COLUMNS = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Fulfillment Service",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Requires Shipping",
    "Variant Taxable",
    "Variant Barcode",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "Gift Card",
    "SEO Title",
    "SEO Description",
    "Google Shopping / Google Product Category",
    "Google Shopping / Gender",
    "Google Shopping / Age Group",
    "Google Shopping / MPN",
    "Google Shopping / Condition",
    "Google Shopping / Custom Product",
    "Variant Image",
    "Variant Weight Unit",
    "Variant Tax Code",
    "Cost per item",
]
# Per-market columns: "<prefix> / <market name>".
MARKET_INCLUDED, MARKET_PRICE, MARKET_COMPARE_AT = "Included", "Price", "Compare At Price"
MARKET_PREFIXES = (MARKET_INCLUDED, MARKET_PRICE, MARKET_COMPARE_AT)
STATUS_COLUMN = "Status"
VARIANT_COLUMNS = (
    "Option1 Value",
    "Option2 Value",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Barcode",
    "Variant Inventory Qty",
)
DEFAULT_OPTION = ("Title", "Default Title")
GRAMS_PER_UNIT = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "oz": Decimal("28.349523125"),
    "lb": Decimal("453.59237"),
}
BATCH_PRODUCTS = 200
MAX_REPORTED_ERRORS = 1000
STOCK_REASON, STOCK_ACTOR = "Shopify CSV import", "import:shopify"
STOCK_COLUMN = "Variant Inventory Qty"
# Stock is the inventory area's: a token that may only edit products must not change it.
STOCK_SCOPE = "inventory:write"
# Stock a variant may be given in one row: the API's bound for a count.
MAX_QUANTITY = 1_000_000_000
# Shopify's product descriptions reach hundreds of kilobytes; the csv module's default
# limit (128 kB per field) refuses real exports.
MAX_FIELD_CHARS = 16 * 1024 * 1024
csv.field_size_limit(MAX_FIELD_CHARS)
# The bytes looked at to tell UTF-8 from Windows-1252 (what Excel saves as "CSV").
SNIFF_BYTES = 64 * 1024
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV
# injection"): export prefixes it with an apostrophe, import takes that apostrophe off.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}

# Where a service error about a field of the product or its variants points in the file.
FIELD_COLUMNS = {
    "handle": "Handle",
    "title": "Title",
    "description_html": "Body (HTML)",
    "vendor": "Vendor",
    "product_type": "Type",
    "tags": "Tags",
    "status": STATUS_COLUMN,
    "google_category": "Google Shopping / Google Product Category",
    "options": "Option1 Name",
    "seo_title": "SEO Title",
    "seo_description": "SEO Description",
    "gender": "Google Shopping / Gender",
    "age_group": "Google Shopping / Age Group",
    "media": "Image Src",
    "sku": "Variant SKU",
    "option_values": "Option1 Value",
    "price": "Variant Price",
    "compare_at_price": "Variant Compare At Price",
    "cost": "Cost per item",
    "barcode": "Variant Barcode",
    "mpn": "Google Shopping / MPN",
    "weight": "Variant Grams",
    "weight_unit": "Variant Weight Unit",
    "condition": "Google Shopping / Condition",
    "inventory_policy": "Variant Inventory Policy",
    "image_url": "Variant Image",
    "currency": "Variant Price",
    "variants": "Variant SKU",
}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f', column "{self.column}"' if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    variants: int = 0
    skipped: int = 0
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    @property
    def products(self) -> int:
        return self.created + self.updated + self.unchanged

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def as_failure(self) -> ValidationFailed:
        more = self.error_count - len(self.errors)
        detail = f"The file has {self.error_count} error(s); nothing was imported." + (
            f" The first {len(self.errors)} are listed." if more else ""
        )
        errors = sorted(self.errors, key=lambda e: e.row)
        return ValidationFailed(
            detail,
            [FieldError(("rows", e.row, e.column or ""), str(e), "csv") for e in errors],
            extra={"warnings": self.warnings},
        )


# ---------------------------------------------------------------- import


def import_csv(
    session: Session,
    stream: IO[str],
    currency: str,
    dry_run: bool = False,
    skip_invalid: bool = False,
    on_progress: Callable[[int], None] | None = None,
    scopes: list[str] | None = None,
) -> ImportReport:
    """Import a Shopify product CSV in the caller's transaction.

    All or nothing by default: any error raises ``ValidationFailed`` listing every bad
    row and column, and the caller's transaction must roll back. ``skip_invalid``
    imports the valid products and reports the rest. ``dry_run`` checks everything
    against the database and writes nothing.

    ``scopes`` are those of the API token behind the request (None: the operator, who
    may do everything). Without ``inventory:write``, a file with any non-empty
    "Variant Inventory Qty" is refused with ``Forbidden`` naming its rows, and nothing
    is written (dry run or not): the column is never silently ignored.
    """
    try:
        currency = check_currency(currency)
    except MoneyError as exc:
        raise ValidationFailed(
            "The import's currency is unknown.", [FieldError(("currency",), str(exc))]
        ) from None
    report = ImportReport(dry_run=dry_run)
    reader = _records(csv.reader(stream))
    header = next(reader, None)
    if header is None:
        raise ValidationFailed("The file is empty.", [FieldError(("file",), "no header row")])
    columns = _read_header(header, report)
    # Rows that would set stock, collected only when the caller may not set it.
    stock_rows: list[int] | None = None if scopes is None or grants(scopes, STOCK_SCOPE) else []

    savepoint = session.begin_nested()
    # Batches are saved in this thread. A writer thread saving each batch while this one
    # parsed the next was measured on PostgreSQL: the importing process's CPU per variant
    # rose by ~20% (GIL hand-overs at every wait on the server) and the import was not
    # faster at 20k and 100k variants (2-core machine at load average 5 to 10); on SQLite
    # it was slower. The server's work overlaps the next rows in ``insert_rows`` instead.
    statistics = _Statistics(session)
    batch: list[_ParsedProduct] = []
    with _older_objects_frozen():
        for parsed in _group_products(reader, columns, currency, report, on_progress, stock_rows):
            if stock_rows:
                # Refused: read on only to name such rows (up to a report's worth).
                batch = []
                if len(stock_rows) >= MAX_REPORTED_ERRORS:
                    break
                continue
            if parsed.errors:
                for error in parsed.errors:
                    report.add_error(error)
                report.skipped += 1
                continue
            batch.append(parsed)
            if len(batch) >= BATCH_PRODUCTS:
                _save_batch(session, batch, report, skip_invalid)
                statistics.written(report.variants)
                batch = []
        if batch and not stock_rows:
            _save_batch(session, batch, report, skip_invalid)

    if stock_rows:
        savepoint.rollback()
        raise _stock_refused(stock_rows)
    if report.error_count and not skip_invalid:
        savepoint.rollback()
        raise report.as_failure()
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return report


def _stock_refused(rows: list[int]) -> Forbidden:
    listed = rows[:MAX_REPORTED_ERRORS]
    count = f"at least {len(listed)}" if len(rows) >= MAX_REPORTED_ERRORS else str(len(rows))
    shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
    return Forbidden(
        f"This token lacks the '{STOCK_SCOPE}' scope, which setting stock needs: "
        f'"{STOCK_COLUMN}" is filled in {count} row(s) ({shown}); nothing was '
        f"imported. Leave that column empty, or use a token that also has '{STOCK_SCOPE}'.",
        [
            FieldError(
                ("rows", row, STOCK_COLUMN),
                f'row {row}, column "{STOCK_COLUMN}": setting stock needs the '
                f"'{STOCK_SCOPE}' scope",
                "missing_scope",
            )
            for row in listed
        ],
        extra={"required_scope": STOCK_SCOPE},
    )


@contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """Leave the objects that existed before the import out of the garbage collector's
    full passes while it runs (``gc.freeze``), and give them back after.

    An import allocates millions of short-lived objects, so the collector runs its full
    pass again and again, each time over every object of the process (the ORM's mappings,
    the schemas, ~125k objects before the first row): at 20k variants on PostgreSQL 6
    full passes took 0.54 s of 3.9 s of the importing process's CPU, 0.05 s with them
    frozen (2-core machine, load average ~3); on SQLite 7 full passes took 1.17 s of 4.2 s,
    0.08 s frozen (load average ~11). Only objects made during the import are
    collected while it runs, which is where its garbage is. Left alone when something
    else has frozen objects already (a server that froze its start-up heap keeps it).
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Statistics:
    """Keeps PostgreSQL's statistics of the catalog tables current during one long import.

    Autovacuum cannot see rows this transaction has not committed, so the planner kept
    the size it guessed for the empty tables (1,482 variants estimated with 20,000
    present) and every batched lookup by SKU stayed a sequential scan as long as the
    table: 29 ms a batch at 20k variants, 59 ms at 60k, growing without end (400k did
    not finish in 30 minutes). ANALYZE in the same transaction counts its own new rows
    and invalidates the plans cached on them; run whenever the catalog has doubled, it
    cost 1.6 s in all for 100k variants, and the lookup there is an index scan taking
    11 ms a batch at the end (2-core machine, load average ~9). SQLite keeps no such
    statistics; nothing is done there.
    """

    TABLES = (Product.__tablename__, Variant.__tablename__)
    FIRST = 4 * BATCH_PRODUCTS

    def __init__(self, session: Session):
        self.session = session
        self.active = session.get_bind().dialect.name == "postgresql"
        self.next = self.FIRST

    def written(self, variants: int) -> None:
        if self.active and variants >= self.next:
            self.session.execute(text(f"ANALYZE {', '.join(self.TABLES)}"))
            self.next = 2 * variants


def _records(reader) -> Iterator[list[str]]:
    """The reader's rows; a file that is not readable text stops with one clear line."""
    number = 0
    try:
        for row in reader:
            number += 1
            yield row
    except UnicodeDecodeError as exc:
        raise _unreadable(
            f"near row {number + 1}: byte 0x{exc.object[exc.start]:02x} is not {exc.encoding} "
            'text; save the file as "CSV UTF-8"'
        ) from None
    except csv.Error as exc:
        why = str(exc)
        if "field limit" in why:
            why = f"a field is longer than {MAX_FIELD_CHARS:,} characters"
        raise _unreadable(f"row {number + 1}: {why}") from None


def _unreadable(message: str) -> ValidationFailed:
    return ValidationFailed(
        f"The file cannot be read: {message}.", [FieldError(("file",), message, "unreadable")]
    )


@dataclass
class _ParsedProduct:
    handle: str
    row: int
    data: ProductCreate | None = None
    variant_rows: list[int] = field(default_factory=list)
    # "Variant Inventory Qty" of each variant, in order (None when empty).
    quantities: list[int | None] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class _Columns:
    """Header positions by column name (case- and space-insensitive), in any order."""

    def __init__(self, names: list[str]):
        self.index = {_norm(name): i for i, name in enumerate(names)}
        # Position of each name asked for, resolved once (a hot path on large files).
        self.positions = _Positions(self.index)
        self.markets = []
        for name in names:
            prefix, sep, market = name.partition(" / ")
            if sep and prefix.strip() in MARKET_PREFIXES and market.strip() not in self.markets:
                self.markets.append(market.strip())

    def has(self, name: str) -> bool:
        return _norm(name) in self.index

    def get(self, row: list[str], name: str) -> str:
        return _cell(row, self.positions[name]) or ""


class _Positions(dict):
    """Column name -> position in the header (None when absent), looked up on first use."""

    def __init__(self, index: dict[str, int]):
        super().__init__()
        self.index = index

    def __missing__(self, name: str) -> int | None:
        position = self[name] = self.index.get(_norm(name))
        return position


def _cell(row: list[str], i: int | None) -> str | None:
    if i is None or i >= len(row):
        return None
    cell = row[i].strip()
    # Take off the apostrophe export put before a formula-like cell.
    if cell[:1] == "'" and cell[1:2] in FORMULA_STARTS:
        return cell[1:]
    return cell or None


def _norm(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def _read_header(header: list[str], report: ImportReport) -> _Columns:
    columns = _Columns(header)
    known = {_norm(c) for c in (*COLUMNS, STATUS_COLUMN)}
    for name in header:
        prefix, sep, _ = name.partition(" / ")
        if _norm(name) in known or (sep and prefix.strip() in MARKET_PREFIXES):
            continue
        if name.strip():
            report.warnings.append(
                f'column "{name.strip()}" is not a Shopify product column and was ignored'
            )
    if not columns.has("Handle"):
        raise ValidationFailed(
            'The file has no "Handle" column; Shopify product CSVs need one.',
            [
                FieldError(
                    ("rows", 1, "Handle"), 'row 1: the column "Handle" is missing', "missing_column"
                )
            ],
        )
    return columns


def _group_products(
    reader,
    columns: _Columns,
    currency: str,
    report: ImportReport,
    on_progress,
    stock_rows: list[int] | None = None,
) -> Iterator[_ParsedProduct]:
    """Yield one parsed product per run of rows with the same handle; the number of each
    row with a non-empty stock cell goes to ``stock_rows`` when one is given."""
    seen: dict[str, int] = {}
    rows: list[tuple[int, list[str]]] = []
    current = None
    for number, row in enumerate(reader, start=2):
        report.rows += 1
        if on_progress and report.rows % 1000 == 0:
            on_progress(report.rows)
        if not any(cell.strip() for cell in row):
            continue
        if stock_rows is not None and columns.get(row, STOCK_COLUMN):
            stock_rows.append(number)
        handle = columns.get(row, "Handle")
        if not handle:
            report.add_error(
                RowError(number, "Handle", "is empty; every row needs the handle of its product")
            )
            continue
        if handle != current:
            if rows:
                yield _parse_product(rows, columns, currency)
            if handle in seen:
                report.add_error(
                    RowError(
                        number,
                        "Handle",
                        f'rows of product "{handle}" must be '
                        f"together (it also starts at row {seen[handle]})",
                    )
                )
                rows, current = [], None
                continue
            seen[handle] = number
            rows, current = [], handle
        rows.append((number, row))
    if rows:
        yield _parse_product(rows, columns, currency)
    if on_progress:
        on_progress(report.rows)


class _Cells:
    """Typed reads of one row's cells that collect errors instead of raising."""

    def __init__(self, number: int, row: list[str], columns: _Columns, errors: list[RowError]):
        self.number, self.row, self.columns, self.errors = number, row, columns, errors
        self.positions = columns.positions

    def text(self, column: str) -> str | None:
        return _cell(self.row, self.positions[column])

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))

    def flag(self, column: str) -> bool | None:
        value = self.text(column)
        if value is None:
            return None
        if value.lower() in TRUE_WORDS:
            return True
        if value.lower() in FALSE_WORDS:
            return False
        self.fail(column, f'"{value}" is not TRUE or FALSE')
        return None

    def money(self, column: str, currency: str) -> int | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            minor = to_minor(value, currency)
        except MoneyError as exc:
            self.fail(
                column, f'"{value}" is not a price' if "not a price" in str(exc) else str(exc)
            )
            return None
        if minor < 0:
            self.fail(column, f'"{value}" is negative')
            return None
        return minor

    def whole(self, column: str, maximum: int) -> int | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            self.fail(column, f'"{value}" is not a whole number')
            return None
        if number > maximum:
            self.fail(column, f"{number} is more than {maximum:,}")
            return None
        return number

    def decimal(self, column: str) -> Decimal | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number < 0:
            self.fail(column, f'"{value}" is not a number of grams')
            return None
        return number

    def choice(self, column: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(column)
        if value is None:
            return None
        if value.lower() not in choices:
            self.fail(column, f'"{value}" is not one of {", ".join(choices)}')
            return None
        return value.lower()


def _parse_product(
    rows: list[tuple[int, list[str]]], columns: _Columns, currency: str
) -> _ParsedProduct:
    first_number, first_row = rows[0]
    errors: list[RowError] = []
    head = _Cells(first_number, first_row, columns, errors)
    handle = head.text("Handle") or ""
    parsed = _ParsedProduct(handle=handle, row=first_number, errors=errors)

    title = head.text("Title")
    if title is None:
        head.fail("Title", f'the first row of product "{handle}" needs a title')
    option_names = [head.text(f"Option{i} Name") for i in (1, 2, 3)]
    while option_names and option_names[-1] is None:
        option_names.pop()
    if option_names == [DEFAULT_OPTION[0]]:
        option_names = []
    if None in option_names:
        head.fail("Option1 Name", "option names must be filled from Option1 on, without gaps")
        option_names = [n for n in option_names if n]

    published = head.flag("Published")
    status = head.choice(STATUS_COLUMN, ("active", "draft", "archived"))
    if status is None and not columns.has(STATUS_COLUMN):
        status = "active" if published else "draft"
    default_condition = head.choice("Google Shopping / Condition", ("new", "refurbished", "used"))
    attributes: dict[str, Any] = {}
    _keep(attributes, "shopify_category", head.text("Product Category"))
    _keep(attributes, "published", published)
    _keep(attributes, "gift_card", head.flag("Gift Card"))
    _keep(attributes, "google_custom_product", head.flag("Google Shopping / Custom Product"))
    # Lists, not objects: PostgreSQL's JSONB reorders object keys, and column order matters.
    markets = [
        {"name": m, "included": head.flag(f"{MARKET_INCLUDED} / {m}")} for m in columns.markets
    ]
    _keep(attributes, "markets", [m for m in markets if m["included"] is not None])

    images: list[tuple[int | None, int, str, str | None]] = []
    variants: list[dict[str, Any]] = []
    for number, row in rows:
        cells = _Cells(number, row, columns, errors)
        src = cells.text("Image Src")
        if src:
            position_text = cells.text("Image Position")
            position = None
            if position_text is not None:
                if position_text.isdigit():
                    position = int(position_text)
                else:
                    cells.fail("Image Position", f'"{position_text}" is not a whole number')
            images.append((position, number, src, cells.text("Image Alt Text")))
        if any(cells.text(c) for c in VARIANT_COLUMNS) or number == first_number:
            variants.append(
                _parse_variant(cells, option_names, currency, default_condition, columns.markets)
            )
            parsed.variant_rows.append(number)
            parsed.quantities.append(cells.whole("Variant Inventory Qty", MAX_QUANTITY))

    # Images by their position; those without one after, in file order.
    ordered = sorted(images, key=lambda image: (image[0] is None, image[0] or 0, image[1]))
    media, seen_urls = [], set()
    for _, _, url, alt in ordered:
        if url not in seen_urls:
            seen_urls.add(url)
            media.append({"url": url, "alt": alt})

    tags = [t.strip() for t in (head.text("Tags") or "").split(",") if t.strip()]
    data = {
        "handle": handle,
        "title": title or handle,
        "description_html": head.text("Body (HTML)"),
        "vendor": head.text("Vendor"),
        "product_type": head.text("Type"),
        "tags": tags,
        "status": status or "draft",
        "google_category": head.text("Google Shopping / Google Product Category"),
        "options": option_names,
        "seo_title": head.text("SEO Title"),
        "seo_description": head.text("SEO Description"),
        "gender": head.choice("Google Shopping / Gender", ("male", "female", "unisex")),
        "age_group": head.choice(
            "Google Shopping / Age Group", ("newborn", "infant", "toddler", "kids", "adult")
        ),
        "attributes": attributes,
        "media": media,
        "variants": variants,
    }
    if errors:
        return parsed
    try:
        parsed.data = ProductCreate.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            parsed.errors.append(_locate(parsed, tuple(err["loc"]), err["msg"]))
    return parsed


def _parse_variant(
    cells: _Cells,
    option_names: list[str],
    currency: str,
    default_condition: str | None,
    markets: list[str],
) -> dict[str, Any]:
    values = [cells.text(f"Option{i} Value") for i in (1, 2, 3)][: len(option_names)]
    for i, (name, value) in enumerate(zip(option_names, values, strict=True), start=1):
        if value is None:
            cells.fail(f"Option{i} Value", f'is empty; product option "{name}" needs a value')
    unit = cells.choice("Variant Weight Unit", tuple(GRAMS_PER_UNIT)) or "g"
    grams = cells.decimal("Variant Grams")
    price = cells.money("Variant Price", currency)
    if price is None and cells.text("Variant Price") is None:
        cells.fail("Variant Price", "is empty; every variant needs a price")
    attributes: dict[str, Any] = {}
    _keep(attributes, "fulfillment_service", cells.text("Variant Fulfillment Service"))
    _keep(attributes, "tax_code", cells.text("Variant Tax Code"))
    market_prices = []
    for market in markets:
        prices = {
            "price": cells.text(f"{MARKET_PRICE} / {market}"),
            "compare_at_price": cells.text(f"{MARKET_COMPARE_AT} / {market}"),
        }
        for key, value in prices.items():
            if value is not None:
                cells.money(
                    f"{MARKET_PRICE if key == 'price' else MARKET_COMPARE_AT} / {market}", currency
                )
        prices = {k: v for k, v in prices.items() if v is not None}
        if prices:
            market_prices.append({"market": market, **prices})
    _keep(attributes, "market_prices", market_prices)
    tracker = cells.text("Variant Inventory Tracker")
    return {
        "sku": cells.text("Variant SKU"),
        "option_values": [v or "" for v in values],
        "price": price or 0,
        "compare_at_price": cells.money("Variant Compare At Price", currency),
        "cost": cells.money("Cost per item", currency),
        "currency": currency,
        "barcode": cells.text("Variant Barcode"),
        "mpn": cells.text("Google Shopping / MPN"),
        "weight": None if grams is None else _from_grams(grams, unit),
        "weight_unit": unit,
        "condition": cells.choice("Google Shopping / Condition", ("new", "refurbished", "used"))
        or default_condition
        or "new",
        "requires_shipping": _default(cells.flag("Variant Requires Shipping"), True),
        "taxable": _default(cells.flag("Variant Taxable"), True),
        "inventory_policy": cells.choice("Variant Inventory Policy", ("deny", "continue"))
        or "deny",
        "inventory_tracked": bool(tracker),
        "image_url": cells.text("Variant Image"),
        "attributes": attributes,
    }


def _from_grams(grams: Decimal, unit: str) -> Decimal:
    # Imperial units don't divide grams exactly; 0.0001 oz is far below any scale.
    value = (grams / GRAMS_PER_UNIT[unit]).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    return value.normalize()


def _to_grams(weight: Decimal, unit: str) -> str:
    return _plain(weight * GRAMS_PER_UNIT[unit])


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def _keep(target: dict, key: str, value) -> None:
    if value not in (None, {}, ""):
        target[key] = value


def _default(value, fallback):
    return fallback if value is None else value


def _locate(parsed: _ParsedProduct, loc: tuple, message: str) -> RowError:
    """Point an error about a product field (loc as in ProductCreate) at its row and column."""
    row, column = parsed.row, None
    if len(loc) >= 2 and loc[0] == "variants" and isinstance(loc[1], int):
        if loc[1] < len(parsed.variant_rows):
            row = parsed.variant_rows[loc[1]]
        loc = loc[2:] or ("variants",)
    elif len(loc) >= 2 and loc[0] == "media":
        loc = ("media",)
    for part in loc:
        if isinstance(part, str) and part in FIELD_COLUMNS:
            column = FIELD_COLUMNS[part]
    return RowError(row, column, message)


def _save_batch(
    session: Session, batch: list[_ParsedProduct], report: ImportReport, skip_invalid: bool
) -> None:
    items = list(batch)
    while items:
        try:
            result = service.upsert_products(session, [p.data for p in items], root=("items",))
        except ValidationFailed as failure:
            failed: set[int] = set()
            for error in failure.errors:
                index = error.loc[1] if len(error.loc) > 1 else 0
                failed.add(index)
                report.add_error(_locate(items[index], tuple(error.loc[2:]), error.message))
            if not skip_invalid:
                return
            report.skipped += len(failed)
            items = [p for i, p in enumerate(items) if i not in failed]
            continue
        report.warnings += [
            f'product "{old}" was found by SKU and renamed to "{new}"'
            for old, new in result.renamed
        ]
        report.created += len(result.created)
        report.updated += len(result.updated)
        report.unchanged += len(result.unchanged)
        report.variants += sum(len(p.data.variants) for p in items)
        _set_stock(session, items, result, report)
        # Keep memory flat on long files: nothing from this batch is needed again.
        session.expunge_all()
        return


def _set_stock(
    session: Session,
    items: list[_ParsedProduct],
    result: service.UpsertResult,
    report: ImportReport,
) -> None:
    """Set on-hand units at the default location from "Variant Inventory Qty" for tracked
    variants, in one batch; only counts that differ are written (as corrections).

    Variants of the products just created have no stock yet: their counts go in one
    pass of multi-row inserts. Those of existing products go through ``set_on_hand``.
    """
    existing = result.updated + result.unchanged
    variant_ids: dict[tuple[str, int], str] = {}
    if existing:
        variant_ids = {
            (handle, position): variant_id
            for variant_id, handle, position in session.execute(
                select(Variant.id, Product.handle, Variant.position)
                .join(Product, Product.id == Variant.product_id)
                .where(Product.id.in_(existing))
            )
        }
    counts: dict[str, int] = {}
    rows: dict[str, int] = {}
    new: list[inventory.NewCount] = []
    for product in items:
        created = result.new_variants.get(product.handle)
        for position, (variant, quantity, row) in enumerate(
            zip(product.data.variants, product.quantities, product.variant_rows, strict=True),
            start=1,
        ):
            if not variant.inventory_tracked or quantity is None:
                continue
            if quantity < 0:
                report.warnings.append(
                    f'row {row}: "Variant Inventory Qty" {quantity} is '
                    "below zero; stock is set to 0 (backorders are not "
                    "stock)"
                )
            if created is not None:
                new.append(
                    inventory.NewCount(
                        created[position - 1],
                        variant.sku or None,
                        variant.inventory_policy,
                        True,
                        max(quantity, 0),
                    )
                )
            else:
                variant_id = variant_ids[product.handle, position]
                counts[variant_id], rows[variant_id] = max(quantity, 0), row
    try:
        inventory.set_on_hand(session, counts, reason=STOCK_REASON, actor=STOCK_ACTOR)
    except InsufficientStock as short:
        refused = {line["variant_id"]: line for line in short.extra["lines"]}
        for variant_id, line in refused.items():
            report.add_error(
                RowError(
                    rows[variant_id],
                    "Variant Inventory Qty",
                    f"{line['requested']} is fewer than the {line['held']} "
                    "units held for open reservations",
                )
            )
        inventory.set_on_hand(
            session,
            {v: q for v, q in counts.items() if v not in refused},
            reason=STOCK_REASON,
            actor=STOCK_ACTOR,
        )
    # After the existing ones: their variants are older, so events keep variant id order.
    inventory.set_on_hand_of_new(session, new, reason=STOCK_REASON, actor=STOCK_ACTOR)


# ---------------------------------------------------------------- export


def export_csv(session: Session, out: IO[str]) -> int:
    """Write every product as Shopify rows; returns the number of products written."""
    markets: list[str] = []
    for table in (Product, Variant):
        for attributes in session.scalars(select(table.attributes).order_by(table.id)):
            for entry in (attributes or {}).get("markets", []) + (attributes or {}).get(
                "market_prices", []
            ):
                market = entry.get("name") or entry.get("market")
                if market not in markets:
                    markets.append(market)
    header = list(COLUMNS)
    for market in markets:
        header += [f"{p} / {market}" for p in MARKET_PREFIXES]
    header.append(STATUS_COLUMN)

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    count = 0
    batch: list[Product] = []
    for product in service.iter_products(session):
        batch.append(product)
        if len(batch) >= BATCH_PRODUCTS:
            count += _write_products(writer, header, batch, markets, session)
            batch = []
    return count + _write_products(writer, header, batch, markets, session)


def _write_products(
    writer, header: list[str], products: list[Product], markets: list[str], session: Session
) -> int:
    on_hand = inventory.on_hand_at_default(
        session, [v.id for p in products for v in p.variants if v.inventory_tracked]
    )
    for product in products:
        for row in _product_rows(product, markets, on_hand):
            writer.writerow([_inert(row.get(column, "")) for column in header])
    return len(products)


def _inert(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _flag(value: bool | None) -> str:
    return "" if value is None else ("TRUE" if value else "FALSE")


def _product_rows(
    product: Product, markets: list[str], on_hand: dict[str, int]
) -> Iterator[dict[str, str]]:
    attrs = product.attributes or {}
    options = list(product.options) or [DEFAULT_OPTION[0]]
    first = {
        "Handle": product.handle,
        "Title": product.title,
        "Body (HTML)": product.description_html,
        "Vendor": product.vendor or "",
        "Product Category": attrs.get("shopify_category", ""),
        "Type": product.product_type or "",
        "Tags": ", ".join(product.tags),
        "Published": _flag(attrs.get("published", product.status == "active")),
        "Gift Card": _flag(attrs.get("gift_card", False)),
        "SEO Title": product.seo_title or "",
        "SEO Description": product.seo_description or "",
        "Google Shopping / Google Product Category": str(product.google_category_id or ""),
        "Google Shopping / Gender": product.gender or "",
        "Google Shopping / Age Group": product.age_group or "",
        "Google Shopping / Custom Product": _flag(attrs.get("google_custom_product")),
        STATUS_COLUMN: product.status,
    }
    for i, name in enumerate(options, start=1):
        first[f"Option{i} Name"] = name
    for market in attrs.get("markets", []):
        first[f"{MARKET_INCLUDED} / {market['name']}"] = _flag(market["included"])

    variants, media = product.variants, product.media
    for i in range(max(len(variants), len(media))):
        row = {"Handle": product.handle} if i else dict(first)
        if i < len(variants):
            row.update(_variant_cells(variants[i], product.options, on_hand))
        if i < len(media):
            row.update(
                {
                    "Image Src": media[i].url,
                    "Image Position": str(media[i].position),
                    "Image Alt Text": media[i].alt or "",
                }
            )
        yield row


def _variant_cells(variant: Variant, options: list[str], on_hand: dict[str, int]) -> dict[str, str]:
    currency = variant.currency
    values = variant.option_values if options else [DEFAULT_OPTION[1]]
    cells = {f"Option{i} Value": value for i, value in enumerate(values, start=1)}
    attrs = variant.attributes or {}

    def price(minor: int | None) -> str:
        return "" if minor is None else format_plain(minor, currency)

    cells.update(
        {
            "Variant SKU": variant.sku or "",
            "Variant Grams": ""
            if variant.weight is None
            else _to_grams(variant.weight, variant.weight_unit),
            "Variant Weight Unit": variant.weight_unit,
            "Variant Inventory Tracker": "shopify" if variant.inventory_tracked else "",
            "Variant Inventory Qty": str(on_hand[variant.id]) if variant.inventory_tracked else "",
            "Variant Inventory Policy": variant.inventory_policy,
            "Variant Fulfillment Service": attrs.get("fulfillment_service", "manual"),
            "Variant Price": price(variant.price),
            "Variant Compare At Price": price(variant.compare_at_price),
            "Variant Requires Shipping": _flag(variant.requires_shipping),
            "Variant Taxable": _flag(variant.taxable),
            "Variant Barcode": variant.barcode or "",
            "Variant Image": variant.image_url or "",
            "Variant Tax Code": attrs.get("tax_code", ""),
            "Cost per item": price(variant.cost),
            "Google Shopping / MPN": variant.mpn or "",
            "Google Shopping / Condition": variant.condition,
        }
    )
    for prices in attrs.get("market_prices", []):
        cells[f"{MARKET_PRICE} / {prices['market']}"] = prices.get("price", "")
        cells[f"{MARKET_COMPARE_AT} / {prices['market']}"] = prices.get("compare_at_price", "")
    return cells


class CountingReader(io.RawIOBase):
    """Wraps a binary file and counts bytes read, for progress bars over text streams."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.bytes_read = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)


def open_text(raw: IO[bytes]) -> tuple[IO[str], CountingReader]:
    """A text stream over uploaded or opened bytes: UTF-8 (with or without a BOM), UTF-16
    with its BOM, or else Windows-1252 (Latin-1's superset, what Excel saves)."""
    counter = CountingReader(raw)
    buffered = io.BufferedReader(counter, buffer_size=SNIFF_BYTES)
    stream = io.TextIOWrapper(
        buffered, encoding=sniff_encoding(buffered.peek(SNIFF_BYTES)), newline=""
    )
    return stream, counter


def sniff_encoding(start: bytes) -> str:
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in start:
        raise _unreadable("it holds binary data, not CSV text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(start, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"
