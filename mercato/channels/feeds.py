"""Catalog feeds, streamed: rows are validated and written one at a time while the catalog
is read in bounded batches, so memory stays flat with catalog size.

Items with errors are left out of a feed (the platform would reject them); warnings stay.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from operator import itemgetter
from typing import BinaryIO

from sqlalchemy.orm import Session

from mercato.channels import platforms
from mercato.channels.capabilities import capabilities, feed_format
from mercato.channels.check import prepare
from mercato.channels.target import Target
from mercato.errors import FieldError, ValidationFailed

G_NS = "http://base.google.com/ns/1.0"
# Formats each kind can pull, the first being the default.
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "xml": "application/rss+xml; charset=utf-8",
}


def check_format(kind: str, fmt: str | None) -> str:
    fmt = fmt or feed_format(kind)
    offered = capabilities(kind).feed_formats
    if fmt not in offered:
        allowed = ", ".join(offered) or "none (it takes its catalog by API)"
        raise ValidationFailed(
            f"{kind} feeds come as: {allowed}.",
            [FieldError(("format",), f"{fmt!r} is not offered")],
        )
    return fmt


@dataclass
class FeedStats:
    written: int = 0
    left_out: int = 0


OVERRIDES = ("language", "country")


def write_feed(
    session: Session,
    target: Target,
    out: BinaryIO,
    fmt: str | None = None,
    override: str | None = None,
) -> FeedStats:
    """The channel's feed; for a localized channel (Meta's localized catalog) its
    ``override`` feed: the market's language ("language", the default) or its countries
    ("country"), keyed by the item ids another channel's feed fills."""
    fmt = check_format(target.kind, fmt)
    mapping = platforms.mapping(target.kind)
    localized = target.localized and hasattr(mapping, "override_rows")
    if override is not None and (not localized or override not in OVERRIDES):
        raise ValidationFailed(
            "Only a localized channel's feed comes as a language or a country override.",
            [FieldError(("override",), f"one of {', '.join(OVERRIDES)} for a localized channel")],
        )
    columns = mapping.OVERRIDE_COLUMNS[override or "language"] if localized else mapping.COLUMNS
    stats = FeedStats()

    def rows():
        for prepared in prepare(session, target):
            if prepared.valid:
                stats.written += 1
                if localized:
                    yield from mapping.override_rows(prepared.row, target, override or "language")
                else:
                    yield prepared.row
            else:
                stats.left_out += 1

    if fmt == "xml":
        _write_rss(rows(), columns, out)
    else:
        _write_delimited(rows(), columns, out, "\t" if fmt == "tsv" else ",")
    return stats


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def _write_delimited(rows, columns, out: BinaryIO, delimiter: str) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    try:
        writer = csv.writer(
            text, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\n"
        )
        writer.writerow(columns)
        values = itemgetter(*columns)
        for row in rows:
            try:
                picked = values(row)
            except KeyError:  # a mapping may leave optional columns out
                picked = [row.get(c) for c in columns]
            cells = [value if type(value) is str else _text(value) for value in picked]
            if delimiter == "\t":
                # TSV has no quoting: tabs and line breaks inside a value become spaces.
                cells = [_flat(cell) for cell in cells]
            writer.writerow(cells)
    finally:
        text.flush()
        text.detach()


def _flat(cell: str) -> str:
    if "\t" in cell or "\n" in cell or "\r" in cell:
        return cell.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return cell


# What XML text cannot hold as is: markup characters, and control characters it forbids.
_NEEDS_ESCAPE = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value) -> str:
    text = value if type(value) is str else str(value)
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _NOT_XML.sub("", text)


def _write_rss(rows, columns, out: BinaryIO) -> None:
    """RSS 2.0 with the g: namespace, written as text item by item: building an lxml
    element per item costs more than the rest of the feed together."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=False)
    tags = [(column, f"<g:{column}>", f"</g:{column}>") for column in columns]
    needs_escape = _NEEDS_ESCAPE.search
    try:
        text.write(
            f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            f'xmlns:g="{G_NS}"><channel>\n'
        )
        for row in rows:
            get = row.get
            parts = ["<item>"]
            for column, opening, closing in tags:
                value = get(column)
                if value.__class__ is str:
                    if value:
                        if needs_escape(value) is not None:
                            value = _xml_text(value)
                        parts.append(opening + value + closing)
                elif value is not None and value != []:
                    for one in value if isinstance(value, list) else (value,):
                        parts.append(opening + _xml_text(one) + closing)
            parts.append("</item>\n")
            text.write("".join(parts))
        text.write("</channel></rss>\n")
    finally:
        text.flush()
        text.detach()
