from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

InventoryRead = Annotated[ApiToken, Depends(require_scope("inventory:read"))]
InventoryWrite = Annotated[ApiToken, Depends(require_scope("inventory:write"))]
