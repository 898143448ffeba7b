from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

FraudRead = Annotated[ApiToken, Depends(require_scope("fraud:read"))]
FraudWrite = Annotated[ApiToken, Depends(require_scope("fraud:write"))]
