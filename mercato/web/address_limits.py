"""How often one network address may start what anonymous visitors can start.

A checkout holds stock and a sign-in request sends mail, and neither needs an account, so
each is limited per client address over a sliding window (the per-visitor and per-line
limits in ``checkout.limits`` cannot see a caller who drops their cookie). The count is
kept in the process: with several API processes an address gets the limit in each.
Behind a proxy, uvicorn takes the address from ``X-Forwarded-For`` when the proxy is
trusted (``FORWARDED_ALLOW_IPS``).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import Request

from mercato.config import get_settings
from mercato.errors import RateLimited

# Addresses remembered at most; the oldest are forgotten first (their windows have passed).
MAX_ADDRESSES = 50_000


class AddressWindow:
    """At most ``limit`` hits per address in any ``seconds``; 0 means no limit."""

    def __init__(self, limit: int, seconds: float):
        self.limit, self.seconds = limit, seconds
        self.hits: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def hit(self, address: str, now: float | None = None) -> float | None:
        """Count a hit; None when allowed, else the seconds until the next is."""
        if self.limit <= 0:
            return None
        now = time.monotonic() if now is None else now
        with self.lock:
            hits = self.hits.pop(address, None) or deque()
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
            self.hits[address] = hits  # re-inserted: the dict stays in order of last use
            if len(self.hits) > MAX_ADDRESSES:
                del self.hits[next(iter(self.hits))]
            if len(hits) >= self.limit:
                return hits[0] + self.seconds - now
            hits.append(now)
            return None


_windows: dict[tuple[str, int, float], AddressWindow] = {}
_windows_lock = threading.Lock()


def _window(name: str, limit: int, seconds: float) -> AddressWindow:
    with _windows_lock:
        return _windows.setdefault((name, limit, seconds), AddressWindow(limit, seconds))


def _limited(request: Request, name: str, limit: int, seconds: float, what: str) -> None:
    address = request.client.host if request.client else "unknown"
    wait = _window(name, limit, seconds).hit(address)
    if wait is not None:
        raise RateLimited(
            f"Too many {what} from your network just now; try again in {int(wait) + 1} s.",
            extra={"retry_after": int(wait) + 1},
        )


def count_checkout_start(request: Request) -> None:
    """Refuse a checkout start beyond MERCATO_CHECKOUT_STARTS_PER_MINUTE for this address."""
    limit = get_settings().checkout_starts_per_minute
    _limited(request, "checkout_start", limit, 60.0, "checkouts started")


def count_login_link_request(request: Request) -> None:
    """Refuse a sign-in link request beyond MERCATO_LOGIN_LINKS_PER_HOUR for this address."""
    limit = get_settings().login_links_per_hour
    _limited(request, "login_link", limit, 3600.0, "sign-in links asked for")


def count_browser_touch(request: Request) -> None:
    """Refuse a shop browser's analytics touch beyond MERCATO_ANALYTICS_TOUCHES_PER_MINUTE."""
    limit = get_settings().analytics_touches_per_minute
    _limited(request, "analytics_touch", limit, 60.0, "analytics touches")
