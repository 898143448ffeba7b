from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

PrivacyRead = Annotated[ApiToken, Depends(require_scope("privacy:read"))]
PrivacyWrite = Annotated[ApiToken, Depends(require_scope("privacy:write"))]


def actor(token: ApiToken) -> str:
    """How the audit log names a token."""
    return f"token {token.name} ({token.id})"
