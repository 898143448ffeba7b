"""API tokens: create (shown once), authenticate, revoke."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mercato.auth.models import ApiToken
from mercato.auth.scopes import ALL_SCOPES, grants
from mercato.db import utcnow
from mercato.errors import FieldError, Forbidden, NotFound, Unauthorized, ValidationFailed

TOKEN_PREFIX = "mct_"
# Writing last_used_at on every request would make each read a write; once a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# A process remembers a token it has checked for this long, so a busy API does not read
# the token on every request. Revoking in this process takes effect at once; a revocation
# from another process (`mercato tokens revoke`) within this many seconds.
TOKEN_CACHE_SECONDS = 1.0
_checked: dict[str, tuple[float, ApiToken]] = {}
_checked_lock = threading.Lock()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the plaintext bearer token; never stored


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, name: str, scopes: list[str]) -> NewToken:
    unknown = sorted(set(scopes) - ALL_SCOPES)
    errors = [FieldError(("scopes",), f"unknown scope {s!r}") for s in unknown]
    if not scopes:
        errors.append(FieldError(("scopes",), "at least one scope is required"))
    if not name.strip():
        errors.append(FieldError(("name",), "a token needs a name"))
    if errors:
        raise ValidationFailed("The token cannot be created.", errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip(),
        token_hash=hash_token(secret),
        prefix=secret[:12],
        scopes=sorted(set(scopes)),
    )
    session.add(token)
    session.flush()
    return NewToken(token, secret)


def authenticate(session: Session, secret: str | None, required_scope: str) -> ApiToken:
    """The active token behind ``secret`` if it grants ``required_scope``; reads only."""
    if not secret:
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'.")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or not token.active:
        raise Unauthorized("The API token is unknown or revoked.")
    with _checked_lock:
        _checked[token.token_hash] = (time.monotonic() + TOKEN_CACHE_SECONDS, token)
    return check_scope(token, required_scope)


def recently_checked(secret: str | None, required_scope: str) -> ApiToken | None:
    """The token behind ``secret`` if this process checked it a moment ago, else None
    (then ``authenticate`` reads it)."""
    if not secret:
        return None
    key = hash_token(secret)
    found = _checked.get(key)
    if found is None:
        return None
    expires, token = found
    now = time.monotonic()
    if expires < now:
        # This request reads the token again; concurrent ones keep the answer for that
        # moment rather than all reading it at once.
        with _checked_lock:
            _checked[key] = (now + TOKEN_CACHE_SECONDS / 4, token)
        return None
    return check_scope(token, required_scope)


def check_scope(token: ApiToken, required_scope: str) -> ApiToken:
    if not grants(token.scopes, required_scope):
        raise Forbidden(
            f"This token lacks the '{required_scope}' scope.",
            extra={"required_scope": required_scope},
        )
    return token


def needs_last_used_update(token: ApiToken) -> bool:
    return token.last_used_at is None or utcnow() - token.last_used_at > LAST_USED_RESOLUTION


def touch_token(session: Session, token_id: str) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


def revoke_token(session: Session, token_id_or_prefix: str) -> ApiToken:
    token = session.scalar(
        select(ApiToken).where(
            (ApiToken.id == token_id_or_prefix) | (ApiToken.prefix == token_id_or_prefix)
        )
    )
    if token is None:
        raise NotFound(f"No token {token_id_or_prefix!r}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    with _checked_lock:
        _checked.clear()
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at)))
