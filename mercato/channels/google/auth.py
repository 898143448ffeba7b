"""Google credentials through google-auth (docs/platforms/google.md, "Credentials").

A channel stores either a service account key (``service_account_json``) or an OAuth client
with a refresh token (``client_id``, ``client_secret``, ``refresh_token``). google-auth mints
the hour-long access tokens from them and renews them itself; no access token is stored.
The token requests go through the channel's own HTTP client (so retries, timeouts and the
simulators apply to them as to every other call).
"""

from __future__ import annotations

import hashlib
import json
import threading

import google.auth.exceptions
import google.auth.transport
import httpx
from google.auth.credentials import Credentials
from google.oauth2 import credentials as oauth_credentials
from google.oauth2 import service_account

from mercato.channels.http import AuthExpired, PlatformUnavailable

SCOPE = "https://www.googleapis.com/auth/content"
TOKEN_URI = "https://oauth2.googleapis.com/token"
OAUTH_KEYS = ("client_id", "client_secret", "refresh_token")


class ConfigError(ValueError):
    """The stored credentials cannot make Google credentials (missing or malformed keys)."""


def missing_credentials(stored: dict[str, str]) -> str | None:
    """What is wrong with the stored credentials, in one line (None: they are complete)."""
    if stored.get("service_account_json"):
        try:
            info = json.loads(stored["service_account_json"])
        except ValueError:
            return "service_account_json is not JSON (paste the key file's content)"
        absent = [
            k
            for k in ("client_email", "private_key", "token_uri")
            if not isinstance(info, dict) or not info.get(k)
        ]
        if absent:
            return f"service_account_json lacks {', '.join(absent)} (is it a service account key?)"
        return None
    absent = [k for k in OAUTH_KEYS if not stored.get(k)]
    if absent:
        return (
            "Google needs service_account_json, or client_id, client_secret and "
            f"refresh_token (missing: {', '.join(absent)})"
        )
    return None


def build(stored: dict[str, str]) -> Credentials:
    problem = missing_credentials(stored)
    if problem:
        raise ConfigError(problem)
    if stored.get("service_account_json"):
        try:
            return service_account.Credentials.from_service_account_info(
                json.loads(stored["service_account_json"]), scopes=[SCOPE]
            )
        except ValueError as exc:
            raise ConfigError(f"service_account_json is not a usable key: {exc}") from None
    return oauth_credentials.Credentials(
        None,
        refresh_token=stored["refresh_token"],
        client_id=stored["client_id"],
        client_secret=stored["client_secret"],
        token_uri=stored.get("token_uri") or TOKEN_URI,
        scopes=[SCOPE],
    )


class Authorizer:
    """One channel's Google credentials and the lock that keeps two threads from
    refreshing them at once."""

    def __init__(self, credentials: Credentials):
        self.credentials = credentials
        self.lock = threading.Lock()

    def header(self, http: httpx.Client, force: bool = False) -> str:
        """The Authorization header value, refreshing the token first when it is due (or
        when ``force``: the API refused the current one)."""
        with self.lock:
            if force or not self.credentials.valid:
                try:
                    self.credentials.refresh(HttpxRequest(http))
                except google.auth.exceptions.TransportError as exc:
                    raise PlatformUnavailable(f"Google token endpoint unreachable: {exc}") from exc
                except google.auth.exceptions.RefreshError as exc:
                    if getattr(exc, "retryable", False):
                        raise PlatformUnavailable(f"Google token refresh failed: {exc}") from exc
                    raise AuthExpired(f"Google refused the credentials: {_reason(exc)}") from exc
            return f"Bearer {self.credentials.token}"


# One Authorizer per channel and set of stored credentials, kept for the life of the
# process: the access token google-auth minted is reused until it nears expiry rather than
# minted again on every sync run. New stored credentials replace the entry.
_CACHE: dict[str | None, tuple[str, Authorizer]] = {}
_CACHE_LOCK = threading.Lock()


def authorizer(channel_id: str | None, stored: dict[str, str]) -> Authorizer:
    fingerprint = hashlib.sha256(json.dumps(stored, sort_keys=True).encode()).hexdigest()
    with _CACHE_LOCK:
        entry = _CACHE.get(channel_id)
        if entry is None or entry[0] != fingerprint:
            entry = _CACHE[channel_id] = (fingerprint, Authorizer(build(stored)))
        return entry[1]


class _Response(google.auth.transport.Response):
    def __init__(self, response: httpx.Response):
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self):
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxRequest(google.auth.transport.Request):
    """google-auth's transport interface over an httpx client."""

    def __init__(self, http: httpx.Client):
        self.http = http

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        try:
            # The channel's client carries the timeout.
            return _Response(self.http.request(method, url, content=body, headers=headers))
        except httpx.HTTPError as exc:
            raise google.auth.exceptions.TransportError(exc) from exc


def _reason(exc: Exception) -> str:
    """RefreshError carries (message, response body); the message is what to show."""
    return str(exc.args[0]) if exc.args else str(exc)
