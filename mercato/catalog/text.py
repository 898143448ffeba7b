"""Merchant HTML made safe, plain text from it, handles from titles, and GTIN check digits."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

import nh3

# What a product description may use: text formatting, lists, tables, links and images.
# No script, style, form, frame or event attribute; links and images over http(s) only.
DESCRIPTION_TAGS = {
    *("p", "br", "hr", "div", "span", "blockquote", "pre", "code"),
    *("h1", "h2", "h3", "h4", "h5", "h6"),
    *("b", "strong", "i", "em", "u", "s", "small", "sub", "sup", "mark"),
    *("ul", "ol", "li", "dl", "dt", "dd"),
    *("table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption"),
    *("a", "img", "figure", "figcaption"),
}
DESCRIPTION_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}


def safe_html(html: str | None) -> str:
    """``html`` with only the tags and attributes above; anything else is dropped (the
    content of script and style with it)."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=DESCRIPTION_TAGS,
        attributes=DESCRIPTION_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "section",
    "article",
    "blockquote",
    "pre",
    "hr",
}
_SKIPPED_TAGS = {"script", "style", "template"}


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str | None) -> str:
    """Readable plain text: tags dropped, entities decoded, one line per block."""
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


HANDLE_PATTERN = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")


def handleize(title: str) -> str:
    """A URL handle from a title, the way Shopify makes one: "Blue Tee!" -> "blue-tee"."""
    text = unicodedata.normalize("NFKC", title).lower()
    text = re.sub(r"['\u2019]", "", text)
    return re.sub(r"[\W_]+", "-", text).strip("-")


def is_valid_handle(handle: str) -> bool:
    return bool(HANDLE_PATTERN.match(handle)) and handle == handle.lower()


def is_valid_gtin(code: str | None) -> bool:
    """GTIN-8/12/13/14 with a correct check digit (GS1 mod-10)."""
    if not code or not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check
