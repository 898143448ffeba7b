"""Access tokens that expire: refreshed where the platform has a refresh call, the new
credentials stored again (encrypted), and ``needs_reauth`` only when the refresh itself is
refused.

A platform with an OAuth refresh call has a module ``mercato/channels/<kind>/tokens.py``
with one function::

    def refresh(credentials: dict[str, str], http: httpx.Client) -> dict[str, str]:
        '''The channel's credentials after a refresh: the whole dict, stored as returned
        (keep the app id/secret and any other keys; put in the new refresh token when the
        platform rotates it). Set ``access_token_expires_at`` (Unix seconds) so the token is
        refreshed ahead of its expiry, not only after a refusal. Raise
        ``mercato.channels.http.AuthExpired`` when the platform refuses the refresh
        (revoked grant, expired refresh token) and ``PlatformUnavailable`` when it cannot
        be reached.'''

Pinterest's is ``pinterest/tokens.py`` (``POST /v5/oauth/token``, grant_type=refresh_token);
TikTok Shop's goes in ``tiktok/tokens.py`` (``GET /api/v2/token/refresh``, PLATFORMS.md §3.4).
Google needs none: google-auth refreshes inside its client. Meta's system-user tokens are
long-lived and have no refresh call.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from importlib import import_module
from types import ModuleType

import httpx

from mercato.channels import service
from mercato.channels.http import AuthExpired
from mercato.db import Sessions, transaction

# Refresh this long before the stored expiry, so no call meets an expired token.
REFRESH_AHEAD = 600.0


@functools.cache
def refresher(kind: str) -> ModuleType | None:
    """The kind's tokens module, None where the platform has no refresh call."""
    name = f"mercato.channels.{kind}.tokens"
    try:
        return import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:  # the module exists but something it imports is missing
            raise
        return None


def due(credentials: dict[str, str], now: float | None = None) -> bool:
    expires_at = credentials.get("access_token_expires_at")
    if not expires_at:
        return False
    try:
        return float(expires_at) - REFRESH_AHEAD <= (now if now is not None else time.time())
    except ValueError:
        return False


class Refreshing:
    """An adapter whose calls, refused for an expired token, are tried once more after a
    refresh. ``store`` keeps new credentials; ``latest`` reads the stored ones (another
    process may have refreshed meanwhile, and a rotated refresh token is then only there)."""

    def __init__(
        self,
        kind: str,
        build: Callable[[dict[str, str]], object],
        credentials: dict[str, str],
        http: httpx.Client,
        store: Callable[[dict[str, str]], None],
        latest: Callable[[], dict[str, str]],
    ):
        self.kind = kind
        self.build = build
        self.credentials = credentials
        self.http = http
        self.store = store
        self.latest = latest
        self.module = refresher(kind)
        self.adapter = build(self.credentials)

    def _fresh(self) -> None:
        """A token about to expire is refreshed before the first call that needs it (not
        when the client is made: that may be inside a transaction, and no transaction is
        ever open while a platform answers)."""
        if self.module is not None and due(self.credentials):
            self._refresh()
            self.adapter = self.build(self.credentials)

    def _refresh(self) -> None:
        try:
            new = self.module.refresh(self.credentials, self.http)
        except AuthExpired:
            stored = self.latest()
            if stored == self.credentials:
                raise
            new = stored  # refreshed meanwhile by another run
        else:
            self.store(new)
        self.credentials = new

    def _call(self, method: str, *args, **kwargs):
        self._fresh()
        try:
            return getattr(self.adapter, method)(*args, **kwargs)
        except AuthExpired:
            if self.module is None:
                raise
            self._refresh()
            self.adapter = self.build(self.credentials)
            return getattr(self.adapter, method)(*args, **kwargs)

    def __getattr__(self, name: str):
        """Any call of the adapter's (push, get_orders, send...), through the refresh."""
        found = getattr(self.adapter, name)
        return functools.partial(self._call, name) if callable(found) else found

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        close = getattr(self.adapter, "close", None)
        if close is not None:
            close()

    def verify(self) -> str | None:
        """What the platform says about the connection (None: no verification call)."""
        if not hasattr(self.adapter, "verify"):
            return None
        return self._call("verify")


def for_channel(
    sessions: Sessions,
    channel_id: str,
    kind: str,
    build: Callable[[dict[str, str]], object],
    credentials: dict[str, str],
    http: httpx.Client,
) -> Refreshing:
    """``Refreshing`` for a connected channel's client: a new token is stored on the
    channel at once, in its own transaction (it must outlive the work that needed it)."""

    def store(new: dict[str, str]) -> None:
        with transaction(sessions.write) as session:
            service.replace_credentials(session, channel_id, new)

    def latest() -> dict[str, str]:
        with sessions.read() as session:
            return service.credentials(service.get_channel(session, channel_id))

    return Refreshing(kind, build, credentials, http, store, latest)
