"""What a platform lets a business send, and when: its reply windows, as data.

WhatsApp (docs/platforms/whatsapp.md): a business may send any message within 24 hours of the
person's last message (the customer service window); outside it only an approved
template. The server refuses what the platform would refuse, before calling it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

TEMPLATE = "template"


@dataclass(frozen=True)
class Window:
    # How long after the person's last message anything may be sent.
    free_form: timedelta
    # What may still be sent outside it.
    outside: tuple[str, ...]


WINDOWS = {"whatsapp": Window(timedelta(hours=24), (TEMPLATE,))}


def closes_at(platform: str, last_inbound_at: datetime | None) -> datetime | None:
    """When free-form replies stop being allowed (None: they are not allowed now)."""
    if last_inbound_at is None:
        return None
    return last_inbound_at + WINDOWS[platform].free_form


def is_open(platform: str, last_inbound_at: datetime | None, now: datetime) -> bool:
    closes = closes_at(platform, last_inbound_at)
    return closes is not None and now < closes


def may_send(platform: str, kind: str, last_inbound_at: datetime | None, now: datetime) -> bool:
    return kind in WINDOWS[platform].outside or is_open(platform, last_inbound_at, now)
