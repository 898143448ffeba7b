from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

LiveRead = Annotated[ApiToken, Depends(require_scope("live:read"))]
LiveWrite = Annotated[ApiToken, Depends(require_scope("live:write"))]
