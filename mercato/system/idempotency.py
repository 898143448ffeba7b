"""``Idempotency-Key`` for every POST of the API, as Stripe does it.

The first request with a key runs and its response is kept for 24 hours; a retry
with the same key and the same request gets that response again without running
anything; the same key with a different request is refused (422); a retry while the
first is still running gets 409. Server errors (5xx) are not kept, so a retry after
one runs again.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.db import transaction, utcnow
from mercato.problems import problem
from mercato.system.models import IdempotencyKey
from mercato.system.request_body import read_body, replaying

HEADER = b"idempotency-key"
KEPT_FOR = timedelta(hours=24)
# A run that never stored its response (the process died) stops blocking retries.
ABANDONED_AFTER = timedelta(minutes=5)
MAX_KEY_LENGTH = 255


class Replay:
    def __init__(self, status_code: int, content_type: str | None, body: bytes):
        self.status_code, self.content_type, self.body = status_code, content_type, body


class Refusal(Exception):
    def __init__(self, status: int, slug: str, detail: str):
        self.status, self.slug, self.detail = status, slug, detail


def begin(sessions: sessionmaker[Session], scope: str, key: str, fingerprint: str) -> Replay | None:
    """Claim the key for this request, or return the stored response to replay."""
    now = utcnow()
    try:
        with transaction(sessions) as session:
            session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.scope == scope,
                    IdempotencyKey.key == key,
                    IdempotencyKey.created_at < now - KEPT_FOR,
                )
            )
            session.add(
                IdempotencyKey(scope=scope, key=key, fingerprint=fingerprint, created_at=now)
            )
        return None
    except IntegrityError:
        pass
    with transaction(sessions) as session:
        seen = session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        )
        if seen is None:  # it expired or failed in between: the caller may retry
            raise Refusal(
                409,
                "idempotency-key-in-use",
                "A request with this Idempotency-Key just finished; retry.",
            )
        if seen.fingerprint != fingerprint:
            raise Refusal(
                422,
                "idempotency-key-reused",
                "This Idempotency-Key was used for a different request.",
            )
        if seen.completed_at is None:
            if now - seen.created_at < ABANDONED_AFTER:
                raise Refusal(
                    409,
                    "idempotency-key-in-use",
                    "A request with this Idempotency-Key is still running.",
                )
            seen.created_at = now  # abandoned: this retry takes it over
            return None
        return Replay(seen.status_code, seen.content_type, seen.body or b"")


def finish(
    sessions: sessionmaker[Session],
    scope: str,
    key: str,
    status_code: int,
    content_type: str | None,
    body: bytes,
) -> None:
    with transaction(sessions) as session:
        seen = session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        )
        if seen is None:
            return
        if status_code >= 500:
            session.delete(seen)
            return
        seen.status_code, seen.content_type, seen.body = status_code, content_type, body
        seen.completed_at = utcnow()


class IdempotencyMiddleware:
    """Applies the rules above to POST requests under /api/ that carry the header."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or HEADER not in headers
            or not scope["path"].startswith("/api/")
        ):
            await self.app(scope, receive, send)
            return
        key = headers[HEADER].decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            await problem(
                400,
                "invalid-idempotency-key",
                "Invalid Idempotency-Key",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
                scope["path"],
            )(scope, receive, send)
            return
        body = await read_body(receive)
        credentials = hashlib.sha256(headers.get(b"authorization", b"")).hexdigest()
        fingerprint = hashlib.sha256(
            b"\n".join(
                [
                    scope["path"].encode(),
                    scope.get("query_string", b""),
                    headers.get(b"content-type", b""),
                    body,
                ]
            )
        ).hexdigest()
        sessions = scope["app"].state.write_sessions
        try:
            replay = await run_in_threadpool(begin, sessions, credentials, key, fingerprint)
        except Refusal as refusal:
            await problem(
                refusal.status,
                refusal.slug,
                "Idempotency-Key conflict",
                refusal.detail,
                scope["path"],
            )(scope, receive, send)
            return
        if replay is not None:
            await _send_replay(replay, send)
            return

        captured: dict = {"status": 500, "content_type": None, "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["content_type"] = (
                    dict(message.get("headers") or []).get(b"content-type", b"").decode("latin-1")
                    or None
                )
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replaying(body), capture)
        finally:
            await run_in_threadpool(
                finish,
                sessions,
                credentials,
                key,
                captured["status"],
                captured["content_type"],
                bytes(captured["body"]),
            )


async def _send_replay(replay: Replay, send: Send) -> None:
    headers = [(b"idempotent-replayed", b"true")]
    if replay.content_type:
        headers.append((b"content-type", replay.content_type.encode("latin-1")))
    headers.append((b"content-length", str(len(replay.body)).encode()))
    await send({"type": "http.response.start", "status": replay.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": replay.body})
