"""FastAPI dependencies: database sessions and scope-checked tokens.

Domains name their own typed dependencies from these, e.g.
``CatalogWrite = Annotated[ApiToken, Depends(require_scope("catalog:write"))]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from mercato.auth import service
from mercato.auth.models import ApiToken
from mercato.db import transaction, utcnow

# Write requests in flight per process. A sync handler's response is validated in the
# thread pool before this dependency commits; were every pool thread taken by requests
# waiting for the database's write lock, the request holding it could never finish.
# Queuing beyond this many in the event loop keeps threads free for it.
WRITE_SLOTS = 16


async def _write_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed before the response is sent, or rolled back."""
    state = request.app.state
    if getattr(state, "write_slots", None) is None:
        state.write_slots = anyio.Semaphore(WRITE_SLOTS)
    async with state.write_slots:
        session = state.write_sessions()
        try:
            yield session
        except BaseException:
            await run_in_threadpool(_end, session, commit=False)
            raise
        await run_in_threadpool(_end, session, commit=True)


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def _read_session(request: Request) -> Iterator[Session]:
    with request.app.state.read_sessions() as session:
        yield session


def _authenticate(request: Request, secret: str | None, scope: str) -> ApiToken:
    with request.app.state.read_sessions() as session:
        token = service.authenticate(session, secret, scope)
    if service.needs_last_used_update(token):
        with transaction(request.app.state.write_sessions) as session:
            service.touch_token(session, token.id)
        token.last_used_at = utcnow()
    return token


WriteSession = Annotated[Session, Depends(_write_session, scope="function")]
ReadSession = Annotated[Session, Depends(_read_session, scope="function")]


_bearer = HTTPBearer(auto_error=False, description="An API token from `mercato tokens create`.")


def require_scope(scope: str):
    # Async, so that a token checked a moment ago costs no thread and no query.
    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiToken:
        secret = credentials.credentials if credentials else None
        token = service.recently_checked(secret, scope)
        if token is None:
            token = await run_in_threadpool(_authenticate, request, secret, scope)
        return token

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency
