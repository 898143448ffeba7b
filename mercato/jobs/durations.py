"""Durations written as words: "5 seconds", "30 min", "2 hours", "1 day", "90s"."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {
    "s": "seconds",
    "sec": "seconds",
    "secs": "seconds",
    "second": "seconds",
    "seconds": "seconds",
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")


def parse_duration(text: str | timedelta) -> timedelta:
    """``"1 hour 30 minutes"`` -> timedelta(hours=1, minutes=30); ValueError if unreadable."""
    if isinstance(text, timedelta):
        return text
    total, pos, source = timedelta(), 0, text.strip().lower()
    while pos < len(source):
        match = _PART.match(source, pos)
        if not match or match.group(2) not in _UNITS:
            raise ValueError(f"unreadable duration {text!r}; write e.g. '5 minutes'")
        total += timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
        pos = match.end()
    if total <= timedelta():
        raise ValueError(f"duration {text!r} must be positive")
    return total
