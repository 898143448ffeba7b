"""Dashboard sessions: log in once with an API token, then an HttpOnly cookie.

The session has the token's scopes and dies with it: revoking the token logs out.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from mercato.admin.models import AdminSession
from mercato.auth import service as auth_service
from mercato.auth.scopes import grants
from mercato.db import utcnow
from mercato.errors import Forbidden, Unauthorized

SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Login:
    cookie: str  # the session secret for the cookie; never stored
    session: AdminSession


def log_in(session: Session, api_token: str) -> Login:
    """Open a session for a valid token that may at least read the catalog."""
    token = auth_service.authenticate(session, api_token.strip(), "catalog:read")
    now = utcnow()
    session.execute(delete(AdminSession).where(AdminSession.expires_at < now))
    secret = secrets.token_urlsafe(32)
    admin_session = AdminSession(
        secret_hash=auth_service.hash_token(secret),
        csrf_token=secrets.token_urlsafe(24),
        token_id=token.id,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(admin_session)
    session.flush()
    return Login(secret, admin_session)


def current(session: Session, cookie: str | None) -> AdminSession:
    if not cookie:
        raise Unauthorized("Log in to the dashboard.")
    found = session.scalar(
        select(AdminSession)
        .options(selectinload(AdminSession.token))
        .where(AdminSession.secret_hash == auth_service.hash_token(cookie))
    )
    if found is None or found.expires_at < utcnow() or not found.token.active:
        raise Unauthorized("The dashboard session has ended; log in again.")
    return found


def check_csrf(admin_session: AdminSession, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(admin_session.csrf_token, submitted):
        raise Forbidden("The form is stale or was not sent by the dashboard; reload the page.")


def require(admin_session: AdminSession, scope: str) -> None:
    if not grants(admin_session.token.scopes, scope):
        raise Forbidden(f"Your token lacks the '{scope}' scope.")


def log_out(session: Session, cookie: str | None) -> None:
    if cookie:
        session.execute(
            delete(AdminSession).where(AdminSession.secret_hash == auth_service.hash_token(cookie))
        )
