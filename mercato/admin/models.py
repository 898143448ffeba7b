from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mercato.auth.models import ApiToken
from mercato.auth.scopes import grants
from mercato.db import Base, UTCDateTime, new_id, utcnow


class AdminSession(Base):
    """A dashboard login, opened with an API token; only the cookie's hash is kept."""

    __tablename__ = "admin_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ses"))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    token_id: Mapped[str] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    token: Mapped[ApiToken] = relationship()

    def can(self, scope: str | None) -> bool:
        """Does the token behind this session grant ``scope`` (None: any session may)?"""
        return scope is None or grants(self.token.scopes, scope)
