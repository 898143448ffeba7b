"""The one way a handler gets a database session.

``ReadSession``: a read-only session, closed after the response is built.
``WriteSession``: one transaction for the request. It is committed when the handler
returns and rolled back when it raises, before the response is sent. A handler that
renders a refusal itself (a page, a redirect) instead of raising calls
``session.rollback()`` first: a refused write keeps nothing.

Work that must open its own short transactions (around a platform call, in a long
stream) takes ``SessionFactories``.

Handlers that touch the database are plain ``def``: FastAPI runs them in its thread
pool, so a request waiting for a lock or a provider never holds up the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from mercato.db import Sessions

# Write requests in flight per process. The response is validated in the thread pool
# while the transaction is still open; were every pool thread taken by requests waiting
# for a lock (SQLite's write lock, a row lock), the request holding it could never
# finish. Queuing beyond this many on the event loop keeps threads free for it.
WRITE_SLOTS = 16

# Threads for sync handlers, and for the response validation FastAPI runs after each in
# the same pool while the handler's transaction is still open (it ends when the response
# is built). Every thread blocked on a row lock holds one of the database pool's
# connections (30 per process on PostgreSQL), so with more threads than connections the
# transaction holding the lock always finds a thread to finish in. At anyio's default of
# 40, 64 buyers of one SKU took them all: the holder waited for a thread, everyone else
# for the holder, until the 30 s pool timeout answered 500.
HANDLER_THREADS = 256


async def _factories(request: Request) -> Sessions:
    # async: nothing here blocks, and a plain function would cost a thread hand-off.
    return request.app.state.sessions


def _read_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions.read() as session:
        yield session


async def _write_session(request: Request) -> AsyncIterator[Session]:
    state = request.app.state
    if getattr(state, "write_slots", None) is None:
        state.write_slots = anyio.Semaphore(WRITE_SLOTS)
    async with state.write_slots:
        session = state.sessions.write()
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


ReadSession = Annotated[Session, Depends(_read_session, scope="function")]
WriteSession = Annotated[Session, Depends(_write_session, scope="function")]
SessionFactories = Annotated[Sessions, Depends(_factories)]
