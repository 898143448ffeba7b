"""FastAPI dependencies: scope-checked API tokens.

Domains name their own typed dependencies from these, e.g.
``CatalogWrite = Annotated[ApiToken, Depends(require_scope("catalog:write"))]``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from mercato.auth import service
from mercato.auth.models import ApiToken
from mercato.db import transaction, utcnow


def _authenticate(request: Request, secret: str | None, scope: str) -> ApiToken:
    with request.app.state.sessions.read() as session:
        token = service.authenticate(session, secret, scope)
    if service.needs_last_used_update(token):
        with transaction(request.app.state.sessions.write) as session:
            service.touch_token(session, token.id)
        token.last_used_at = utcnow()
    return token


_bearer = HTTPBearer(auto_error=False, description="An API token from `mercato tokens create`.")


def require_scope(scope: str):
    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiToken:
        secret = credentials.credentials if credentials else None
        return await run_in_threadpool(_authenticate, request, secret, scope)

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency
