"""Catalog feeds, streamed: rows are validated and written one at a time while the catalog
is read in bounded batches, so memory stays flat with catalog size.

Items with errors are left out of a feed (the platform would reject them); warnings stay.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy.orm import Session

from mercato.channels import platforms
from mercato.channels.check import prepare
from mercato.channels.items import Target
from mercato.errors import FieldError, ValidationFailed

G_NS = "http://base.google.com/ns/1.0"
# Formats each kind can pull, the first being the default.
FORMATS = {"meta": ("csv", "xml"), "google": ("xml",), "pinterest": ("tsv",),
           "snapchat": ("csv",)}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
               "xml": "application/rss+xml; charset=utf-8"}


def feed_format(kind: str) -> str:
    return FORMATS.get(kind, ("csv",))[0]


def check_format(kind: str, fmt: str | None) -> str:
    fmt = fmt or feed_format(kind)
    if fmt not in FORMATS.get(kind, ()):
        allowed = ", ".join(FORMATS.get(kind, ())) or "none (it takes its catalog by API)"
        raise ValidationFailed(f"{kind} feeds come as: {allowed}.",
                               [FieldError(("format",), f"{fmt!r} is not offered")])
    return fmt


@dataclass
class FeedStats:
    written: int = 0
    left_out: int = 0


def write_feed(session: Session, target: Target, out: BinaryIO, fmt: str | None = None
               ) -> FeedStats:
    fmt = check_format(target.kind, fmt)
    columns = platforms.mapping(target.kind).COLUMNS
    stats = FeedStats()

    def rows():
        for prepared in prepare(session, target):
            if prepared.valid:
                stats.written += 1
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
        writer = csv.writer(text, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL,
                            lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            if delimiter == "\t":
                # TSV has no quoting: tabs and line breaks inside a value become spaces.
                writer.writerow([_text(row.get(c)).replace("\t", " ").replace("\n", " ")
                                 .replace("\r", " ") for c in columns])
            else:
                writer.writerow([_text(row.get(c)) for c in columns])
    finally:
        text.flush()
        text.detach()


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value) -> str:
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _NOT_XML.sub("", text)


def _write_rss(rows, columns, out: BinaryIO) -> None:
    """RSS 2.0 with the g: namespace, written as text item by item: building an lxml
    element per item costs more than the rest of the feed together."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=False)
    try:
        text.write(f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
                   f'xmlns:g="{G_NS}"><channel>\n')
        for row in rows:
            parts = ["<item>"]
            for column in columns:
                value = row.get(column)
                if value is None or value == "" or value == []:
                    continue
                for one in (value if isinstance(value, list) else (value,)):
                    parts.append(f"<g:{column}>{_xml_text(one)}</g:{column}>")
            parts.append("</item>\n")
            text.write("".join(parts))
        text.write("</channel></rss>\n")
    finally:
        text.flush()
        text.detach()
