from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

CustomersRead = Annotated[ApiToken, Depends(require_scope("customers:read"))]
CustomersWrite = Annotated[ApiToken, Depends(require_scope("customers:write"))]
