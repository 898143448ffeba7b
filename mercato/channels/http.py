"""Talking to platforms: one HTTP client per channel, retries with backoff on 429 and 5xx,
and the errors adapters raise."""

from __future__ import annotations

import contextlib
import functools
import ssl
import time

import certifi
import httpx

from mercato.outbound import checked_transport

# Seconds before retry n (doubling); a Retry-After header from the platform wins.
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0
RETRIES = 4
TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class PlatformError(Exception):
    """The platform refused a whole request (not one item in it)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class PlatformUnavailable(PlatformError):
    """Still 429/5xx/timeouts after every retry: try again on the next run."""


class ImageUnavailable(PlatformError):
    """An image the platform needs as a file could not be fetched (gone, refused, too
    big): a problem of its item, not of the whole push."""


class AuthExpired(PlatformError):
    """The token is expired or revoked and no refresh helped: the merchant must
    re-authorise the channel."""


class SetupError(PlatformError):
    """The channel's settings, or the merchant's set-up on the platform (a registration, a
    permission), are wrong: the merchant must fix them; re-authorising does not help."""


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds: once per process, not per client.
    return ssl.create_default_context(cafile=certifi.where())


def open_client(base_url: str) -> httpx.Client:
    """The HTTP client for one channel (tests replace this to reach a simulator in-process)."""
    return httpx.Client(
        base_url=base_url, timeout=TIMEOUT, transport=checked_transport(verify=_tls())
    )


def send(http: httpx.Client, method: str, url: str, **kwargs) -> httpx.Response:
    """One request, retried on 429, 5xx and transport errors with exponential backoff."""
    for attempt in range(RETRIES + 1):
        last = attempt == RETRIES
        try:
            response = http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            if last:
                raise PlatformUnavailable(f"{method} {url}: {exc!r}") from exc
            _sleep(attempt, None)
            continue
        if response.status_code == 429 or response.status_code >= 500:
            if last:
                raise PlatformUnavailable(
                    f"{method} {url}: HTTP {response.status_code} after {RETRIES} retries",
                    response.status_code,
                )
            _sleep(attempt, response.headers.get("retry-after"))
            continue
        return response
    raise AssertionError("unreachable")


def _sleep(attempt: int, retry_after: str | None) -> None:
    delay = BACKOFF_BASE * 2**attempt
    if retry_after is not None:
        with contextlib.suppress(ValueError):
            delay = float(retry_after)
    time.sleep(min(delay, BACKOFF_MAX))
