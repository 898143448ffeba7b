from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

MarketsRead = Annotated[ApiToken, Depends(require_scope("markets:read"))]
MarketsWrite = Annotated[ApiToken, Depends(require_scope("markets:write"))]
