"""What a platform lets a business send, and when: its reply windows, as data.

- WhatsApp (docs/platforms/whatsapp.md): anything within 24 hours of the person's last
  message (the customer service window); outside it only an approved template.
- Messenger and Instagram (docs/platforms/messenger.md §4): anything within 24 hours;
  then, up to 7 days, a reply written by a person and tagged HUMAN_AGENT, when Meta
  granted the app that permission; nothing after. A comment may get one private reply
  within 7 days of being written, and public replies at any time.
- TikTok Shop (docs/platforms/tiktok.md "Buyer chats"): no time window is documented; the
  conversation itself says whether the shop may write (``can_send_message``), and a send
  it refuses is shown failed with TikTok's words.

The server refuses what the platform would refuse, before calling it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

TEMPLATE = "template"
HUMAN_AGENT = "HUMAN_AGENT"
PRIVATE_REPLY = timedelta(days=7)


@dataclass(frozen=True)
class Window:
    # How long after the person's last message anything may be sent (None: no time
    # limit, the platform answers each send).
    free_form: timedelta | None
    # What may still be sent outside it.
    outside: tuple[str, ...] = ()
    # How long a person's reply may go with the HUMAN_AGENT tag (None: no such tag).
    human_agent: timedelta | None = None


WINDOWS = {
    "whatsapp": Window(timedelta(hours=24), (TEMPLATE,)),
    "messenger": Window(timedelta(hours=24), human_agent=timedelta(days=7)),
    "instagram": Window(timedelta(hours=24), human_agent=timedelta(days=7)),
    "tiktok": Window(None),
}


def closes_at(platform: str, last_inbound_at: datetime | None) -> datetime | None:
    """When free-form replies stop being allowed (None: they are not allowed now)."""
    free_form = WINDOWS[platform].free_form
    if last_inbound_at is None or free_form is None:
        return None
    return last_inbound_at + free_form


def human_agent_until(
    platform: str, last_inbound_at: datetime | None, permitted: bool
) -> datetime | None:
    """Until when a person's reply may still go, tagged HUMAN_AGENT."""
    extra = WINDOWS[platform].human_agent
    if not permitted or extra is None or last_inbound_at is None:
        return None
    return last_inbound_at + extra


def is_open(platform: str, last_inbound_at: datetime | None, now: datetime) -> bool:
    if WINDOWS[platform].free_form is None:
        return True
    closes = closes_at(platform, last_inbound_at)
    return closes is not None and now < closes


def may_send(platform: str, kind: str, last_inbound_at: datetime | None, now: datetime) -> bool:
    return kind in WINDOWS[platform].outside or is_open(platform, last_inbound_at, now)


def tag_for(
    platform: str,
    last_inbound_at: datetime | None,
    now: datetime,
    *,
    by_person: bool,
    permitted: bool,
) -> str | None:
    """The tag a free-form reply needs now: None inside the window, HUMAN_AGENT after it
    for a person's reply on a permitted account. Raises LookupError when nothing may go."""
    if is_open(platform, last_inbound_at, now):
        return None
    until = human_agent_until(platform, last_inbound_at, permitted)
    if by_person and until is not None and now < until:
        return HUMAN_AGENT
    raise LookupError(platform)


def private_reply_open(comment_at: datetime, now: datetime) -> bool:
    return now < comment_at + PRIVATE_REPLY
