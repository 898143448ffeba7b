"""Dashboard sessions: log in once with an API token, then an HttpOnly cookie.

The session has the token's scopes and dies with it: revoking the token logs out. Each
page shows what one API scope reads, and asks for that scope as the API does: a
``catalog:read`` token sees the catalog and no order, buyer, channel or webhook.
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
from mercato.auth.scopes import ADMIN
from mercato.crypto import hash_token
from mercato.db import utcnow
from mercato.errors import Forbidden, Unauthorized

SESSION_LIFETIME = timedelta(hours=12)
# The scope each page needs, by path prefix, in the order of the navigation; a page not
# listed needs ``admin``. The overview shows sales and the latest orders.
PAGE_SCOPES: tuple[tuple[str, str | None], ...] = (
    ("/admin", "orders:read"),
    ("/admin/stream", "orders:read"),
    ("/admin/orders", "orders:read"),
    ("/admin/inbox", "inbox:read"),
    ("/admin/analytics", "analytics:read"),
    ("/admin/recommendations", "recommendations:read"),
    ("/admin/customers", "customers:read"),
    ("/admin/catalog", "catalog:read"),
    ("/admin/collections", "catalog:read"),
    ("/admin/inventory", "inventory:read"),
    ("/admin/channels", "channels:read"),
    ("/admin/webhooks", "webhooks:read"),
    ("/admin/markets", "markets:read"),
    ("/admin/fraud", "fraud:read"),
    ("/admin/mail", "orders:read"),
    ("/admin/offers", "offers:read"),
    ("/admin/creators", "creators:read"),
    ("/admin/live", "live:read"),
    ("/admin/logout", None),
)


@dataclass(frozen=True)
class Login:
    cookie: str  # the session secret for the cookie; never stored
    session: AdminSession


def log_in(session: Session, api_token: str) -> Login:
    """Open a session for a valid token that may read at least one page."""
    token = auth_service.active_token(session, api_token.strip())
    now = utcnow()
    session.execute(delete(AdminSession).where(AdminSession.expires_at < now))
    secret = secrets.token_urlsafe(32)
    admin_session = AdminSession(
        secret_hash=hash_token(secret),
        csrf_token=secrets.token_urlsafe(24),
        token_id=token.id,
        expires_at=now + SESSION_LIFETIME,
    )
    admin_session.token = token
    if home(admin_session) is None:
        raise Forbidden("This token can read no page of the dashboard.")
    session.add(admin_session)
    session.flush()
    return Login(secret, admin_session)


def current(session: Session, cookie: str | None) -> AdminSession:
    if not cookie:
        raise Unauthorized("Log in to the dashboard.")
    found = session.scalar(
        select(AdminSession)
        .options(selectinload(AdminSession.token))
        .where(AdminSession.secret_hash == hash_token(cookie))
    )
    if found is None or found.expires_at < utcnow() or not found.token.active:
        raise Unauthorized("The dashboard session has ended; log in again.")
    return found


def check_csrf(admin_session: AdminSession, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(admin_session.csrf_token, submitted):
        raise Forbidden("The form is stale or was not sent by the dashboard; reload the page.")


def require(admin_session: AdminSession, scope: str | None) -> None:
    if not admin_session.can(scope):
        raise Forbidden(f"Your token lacks the '{scope}' scope.")


def page_scope(path: str) -> str | None:
    """The scope the page at ``path`` needs (its longest listed prefix; else admin)."""
    path = path.rstrip("/") or "/"
    for prefix, scope in sorted(PAGE_SCOPES, key=lambda entry: -len(entry[0])):
        if path == prefix or (prefix != "/admin" and path.startswith(prefix + "/")):
            return scope
    return ADMIN


def home(admin_session: AdminSession) -> str | None:
    """The first page of the navigation this session may see."""
    for prefix, scope in PAGE_SCOPES:
        if scope and admin_session.can(scope):
            return prefix
    return None


def log_out(session: Session, cookie: str | None) -> None:
    if cookie:
        session.execute(delete(AdminSession).where(AdminSession.secret_hash == hash_token(cookie)))
