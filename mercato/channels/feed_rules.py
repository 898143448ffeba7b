"""Feed rules: the merchant's ordered transformations of a channel's items, as feed
managers offer them ("on Google, title = brand + name + colour"; "leave out items without
a GTIN on TikTok"). Each rule has conditions (all must hold) and one action:

- ``set`` a field to a value; ``append`` or ``prepend`` text; ``replace`` text in it;
- ``template``: a field made of others, e.g. ``{brand} {title} {color}`` (an empty field
  leaves no double space);
- ``map``: look the field's value up in a table (values not in it are kept);
- ``exclude``: the item is not sent to the channel (an error naming the rule, so it shows
  why, and nothing is pushed or written in the feed).

Rules work on the neutral item, before the platform's mapping: the same rules shape the
feed file and the API pushes, and the platform's spec validates what they made. Each item
says which rules changed it ("title set by rule 2"). Saving rules changes the channel's
target key, so the next publish compares the whole catalog and sends what changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from mercato.channels import service
from mercato.channels.models import Channel
from mercato.channels.schemas import FeedRule, FeedRulesUpdate
from mercato.db import utcnow
from mercato.events import service as events

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Applied:
    """What the rules did to one item: notes per changed field, and an exclusion."""

    notes: list[str]
    excluded: str | None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _holds(item: dict[str, Any], condition: dict[str, Any]) -> bool:
    value = _text(item.get(condition["field"])).strip()
    wanted = _text(condition.get("value"))
    match condition["op"]:
        case "empty":
            return not value
        case "not_empty":
            return bool(value)
        case "equals":
            return value.casefold() == wanted.casefold()
        case "not_equals":
            return value.casefold() != wanted.casefold()
        case "contains":
            return wanted.casefold() in value.casefold()
        case "not_contains":
            return wanted.casefold() not in value.casefold()
    raise ValueError(f"unknown operator {condition['op']!r}")


def _filled(template: str, item: dict[str, Any]) -> str:
    text = PLACEHOLDER.sub(lambda m: _text(item.get(m.group(1))).strip(), template)
    return re.sub(r"\s{2,}", " ", text).strip()


def apply(item: dict[str, Any], rules: Iterable[dict[str, Any]]) -> Applied:
    """Change ``item`` in place by each rule in order; what was done."""
    notes: list[str] = []
    for number, rule in enumerate(rules, start=1):
        if not all(_holds(item, c) for c in rule.get("when", [])):
            continue
        action = rule["then"]
        label = f"rule {number}" + (f" ({rule['name']})" if rule.get("name") else "")
        kind, field = action["action"], action.get("field")
        if kind == "exclude":
            return Applied(notes, label)
        old = _text(item.get(field))
        match kind:
            case "set":
                new = _text(action.get("value"))
            case "append":
                new = old + _text(action.get("value"))
            case "prepend":
                new = _text(action.get("value")) + old
            case "replace":
                new = old.replace(_text(action.get("find")), _text(action.get("value")))
            case "template":
                new = _filled(action["template"], item)
            case "map":
                new = action.get("mapping", {}).get(old, old)
        if new != old:
            item[field] = new or None
            notes.append(f"{field} set by {label}")
    return Applied(notes, None)


def exclusion_issue(label: str) -> dict[str, Any]:
    return {
        "field": "id",
        "message": f"left out of this channel by {label}",
        "severity": "error",
        "source": "rule",
        "rule": "left out by a feed rule",
    }


# ---------------------------------------------------------------- saving


def rules_of(session: Session, channel_ref: str) -> tuple[Channel, list[FeedRule]]:
    channel = service.find_channel(session, channel_ref)
    return channel, [FeedRule.model_validate(r) for r in channel.feed_rules or []]


def save(session: Session, channel_ref: str, data: FeedRulesUpdate, actor: str) -> Channel:
    """Replace the channel's rules as a whole (their order is their priority)."""
    channel = service.find_channel(session, channel_ref)
    channel.feed_rules = [r.model_dump(mode="json", exclude_none=True) for r in data.rules]
    channel.feed_rules_version = (channel.feed_rules_version or 0) + 1
    channel.updated_at = utcnow()
    events.record(
        session,
        "channel.feed_rules_changed",
        {
            "channel_id": channel.id,
            "version": channel.feed_rules_version,
            "rules": channel.feed_rules,
            "by": actor,
        },
        channel.id,
    )
    return channel
