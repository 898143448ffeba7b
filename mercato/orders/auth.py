from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

OrdersRead = Annotated[ApiToken, Depends(require_scope("orders:read"))]
OrdersWrite = Annotated[ApiToken, Depends(require_scope("orders:write"))]
