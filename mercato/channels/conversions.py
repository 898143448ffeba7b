"""Conversions sent back to ad platforms (Meta's Conversions API, TikTok's Events API,
Pinterest's Conversions API): the plain shapes every platform's adapter builds its event
from, the hashing they share, and what an adapter answers.

Plain data and HTTP only (docs/platforms/conversions.md has the facts and their sources).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal

from mercato.channels.http import PlatformError

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Buyer:
    """What the shop knows of the buyer, in clear: each adapter normalises and hashes what
    its platform asks to be hashed, and leaves out what is missing."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    external_id: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Line:
    content_id: str
    quantity: int
    item_price: Decimal  # major units, as the platforms take it
    title: str | None = None


@dataclass(frozen=True)
class Purchase:
    """One purchase as every platform is told of it. ``event_id`` is the id the browser
    pixel sends too, so that the platform counts the purchase once."""

    event_id: str
    event_time: int  # Unix seconds
    order_id: str
    currency: str
    value: Decimal  # major units
    lines: tuple[Line, ...] = ()
    buyer: Buyer = field(default_factory=Buyer)
    url: str | None = None
    # Click and browser ids as the landing URL or the platform's cookie carried them:
    # fbc / fbp (Meta), ttclid / ttp (TikTok), epik (Pinterest).
    click_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Destination:
    """Where one platform's events go: the pixel, dataset or ad account, and its token."""

    base_url: str
    source_id: str  # Meta pixel/dataset id, TikTok pixel code, Pinterest ad account id
    access_token: str
    test_code: str | None = None  # Meta test_event_code, TikTok test_event_code; Pinterest: test


@dataclass(frozen=True)
class Accepted:
    """The platform took the event: its answer, kept on the delivery."""

    received: int
    answer: dict


class ConversionRefused(PlatformError):
    """The platform refused the event (a 4xx, or an error in its answer): retrying the
    same payload cannot help. ``answer`` is the platform's words, kept whole."""

    def __init__(self, message: str, status: int | None, answer: dict | str):
        super().__init__(message, status)
        self.answer = answer


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hashed(value: str) -> str:
    """A normalised value's SHA-256 hex; a value that is a SHA-256 hex already is kept."""
    return value if SHA256_HEX.match(value) else sha256(value)


def digits_phone(phone: str | None) -> str | None:
    """A phone as digits with the country code, without ``+`` or leading zeros (TikTok's and
    Pinterest's rule; Meta's SDK does the same)."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone).lstrip("0")
    return digits or None


def answer_of(response) -> dict | str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:2000]
    return body if isinstance(body, dict) else {"body": body}
