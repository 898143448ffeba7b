"""Write requests in flight in this process, so that an embedded worker yields to them.

With the worker inside the API process (the embedded setup) its jobs share the
interpreter and, on SQLite, the write lock with the requests. During a burst of writes
(a drop, a platform's webhook storm: many writes in flight at once) the worker waits
before each turn, up to a limit: buyers and platforms are answered first, the queued
work runs right after. Everyday traffic (a few writes at a time) does not hold it up,
and separate worker processes (production) are not affected.
"""

from __future__ import annotations

import time

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BURST = 4  # write requests in flight at once that make a burst
# A burst is over once none was seen for this long: requests answered together (group
# commit) leave short gaps before their senders' next ones.
CALM_AFTER = 0.25  # seconds

_in_flight = 0  # changed on the event loop's thread only
_last_burst = 0.0  # monotonic time a burst was last seen


class ForegroundMiddleware:
    """Counts write requests in flight (pure ASGI: nothing else on the hot path)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            return await self.app(scope, receive, send)
        global _in_flight, _last_burst
        _in_flight += 1
        if _in_flight >= BURST:
            _last_burst = time.monotonic()
        try:
            return await self.app(scope, receive, send)
        finally:
            _in_flight -= 1


def wait_for_calm(at_most: float) -> None:
    """Return at once unless a burst of writes was seen a moment ago; then once it has
    passed, or after ``at_most`` seconds."""
    deadline = time.monotonic() + at_most
    while (now := time.monotonic()) < deadline:
        calm_at = _last_burst + CALM_AFTER
        if now >= calm_at:
            return
        time.sleep(min(calm_at, deadline) - now)
