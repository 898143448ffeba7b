from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

PrivacyRead = Annotated[ApiToken, Depends(require_scope("privacy:read"))]
PrivacyWrite = Annotated[ApiToken, Depends(require_scope("privacy:write"))]
