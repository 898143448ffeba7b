from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

CheckoutRead = Annotated[ApiToken, Depends(require_scope("checkout:read"))]
CheckoutWrite = Annotated[ApiToken, Depends(require_scope("checkout:write"))]
