from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

CatalogRead = Annotated[ApiToken, Depends(require_scope("catalog:read"))]
CatalogWrite = Annotated[ApiToken, Depends(require_scope("catalog:write"))]
