"""FastAPI dependencies: database sessions and scope-checked tokens.

Domains name their own typed dependencies from these, e.g.
``CatalogWrite = Annotated[ApiToken, Depends(require_scope("catalog:write"))]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from mercato.auth import service
from mercato.auth.models import ApiToken
from mercato.db import transaction


def _write_session(request: Request) -> Iterator[Session]:
    # Commits when the handler returns, before the response is sent (scope="function").
    with transaction(request.app.state.write_sessions) as session:
        yield session


def _read_session(request: Request) -> Iterator[Session]:
    with request.app.state.read_sessions() as session:
        yield session


WriteSession = Annotated[Session, Depends(_write_session, scope="function")]
ReadSession = Annotated[Session, Depends(_read_session, scope="function")]


_bearer = HTTPBearer(auto_error=False, description="An API token from `mercato tokens create`.")


def require_scope(scope: str):
    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiToken:
        secret = credentials.credentials if credentials else None
        with request.app.state.read_sessions() as session:
            token = service.authenticate(session, secret, scope)
        if service.needs_last_used_update(token):
            with transaction(request.app.state.write_sessions) as session:
                service.touch_token(session, token.id)
        return token

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency
