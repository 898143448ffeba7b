"""Write requests in flight in this process, so that an embedded worker yields to them.

With the worker inside the API process (the embedded setup) its jobs share the
interpreter and, on SQLite, the write lock with the requests. During a burst of writes
(a drop, a platform's webhook storm) the worker waits a moment before each turn while
writes are in flight: buyers and platforms are answered first, the queued work runs
right after. Separate worker processes (production) are not affected.
"""

from __future__ import annotations

import threading

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_in_flight = 0  # changed on the event loop's thread only
_quiet = threading.Event()
_quiet.set()


class ForegroundMiddleware:
    """Counts write requests in flight (pure ASGI: nothing else on the hot path)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            return await self.app(scope, receive, send)
        global _in_flight
        _in_flight += 1
        _quiet.clear()
        try:
            return await self.app(scope, receive, send)
        finally:
            _in_flight -= 1
            if _in_flight == 0:
                _quiet.set()


def wait_for_quiet(at_most: float) -> None:
    """Return once no write request is in flight, or after ``at_most`` seconds."""
    _quiet.wait(at_most)
