from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

AnalyticsRead = Annotated[ApiToken, Depends(require_scope("analytics:read"))]
AnalyticsWrite = Annotated[ApiToken, Depends(require_scope("analytics:write"))]
