from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

CreatorsRead = Annotated[ApiToken, Depends(require_scope("creators:read"))]
CreatorsWrite = Annotated[ApiToken, Depends(require_scope("creators:write"))]
