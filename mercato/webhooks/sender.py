"""The HTTP side of a delivery (I/O only: the service decides what the outcome means)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from mercato import __version__
from mercato.outbound import checked_transport
from mercato.webhooks.signing import signature_header

# Receivers should answer fast and queue their work (Shopify allows 5 s, Svix 15 s).
TIMEOUT = httpx.Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0)
# Kept of a receiver's answer: enough to tell why it failed, too little to read a page
# through it; control characters are dropped.
MAX_RESPONSE_CHARS = 512


@dataclass(frozen=True)
class Outgoing:
    delivery_id: str
    endpoint_id: str
    event_id: str
    url: str
    body: bytes
    secrets: list[str]
    endpoint_failing: bool = False  # a success then ends its run of failures


@dataclass(frozen=True)
class Outcome:
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_body: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def new_client(concurrency: int) -> httpx.Client:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=False,  # a 3xx is a failure (Standard Webhooks)
        transport=checked_transport(limits=limits),
        headers={"user-agent": f"Mercato-Webhooks/{__version__}"},
    )


def send(client: httpx.Client, outgoing: Outgoing, now: datetime) -> Outcome:
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": outgoing.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            outgoing.event_id, timestamp, outgoing.body, outgoing.secrets
        ),
    }
    started = time.perf_counter()
    status = error = body = None
    try:
        with client.stream(
            "POST", outgoing.url, content=outgoing.body, headers=headers, timeout=TIMEOUT
        ) as response:
            status = response.status_code
            body = _read_some(response)
    except httpx.TimeoutException as exc:
        error = f"timeout: {type(exc).__name__}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration = int((time.perf_counter() - started) * 1000)
    return Outcome(now, duration, status, error, body)


def _read_some(response: httpx.Response) -> str:
    """The start of the response body; the rest is not downloaded."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_CHARS:
            break
    text = b"".join(chunks)[:MAX_RESPONSE_CHARS].decode("utf-8", "replace")
    return "".join(c if c.isprintable() or c in "\n\t" else "\ufffd" for c in text)
