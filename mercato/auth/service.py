"""API tokens: create (shown once), authenticate, revoke."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mercato.auth.models import ApiToken
from mercato.auth.scopes import ALL_SCOPES, grants
from mercato.crypto import hash_token
from mercato.db import utcnow
from mercato.errors import FieldError, Forbidden, NotFound, Unauthorized, ValidationFailed

TOKEN_PREFIX = "mct_"
# Writing last_used_at on every request would make each read a write; once a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the plaintext bearer token; never stored


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


def active_token(session: Session, secret: str | None) -> ApiToken:
    """The active token behind ``secret``, whatever its scopes; reads only."""
    if not secret:
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'.")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or not token.active:
        raise Unauthorized("The API token is unknown or revoked.")
    return token


def authenticate(session: Session, secret: str | None, required_scope: str) -> ApiToken:
    """The active token behind ``secret`` if it grants ``required_scope``; reads only.

    Read on every request, never remembered by a process: a revocation, from whichever
    process, holds for the very next request everywhere (one indexed read)."""
    return check_scope(active_token(session, secret), required_scope)


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
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at)))
