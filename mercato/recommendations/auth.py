from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

RecommendationsRead = Annotated[ApiToken, Depends(require_scope("recommendations:read"))]
RecommendationsWrite = Annotated[ApiToken, Depends(require_scope("recommendations:write"))]
