from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

# Who takes the shop's money is the merchant's own decision: admin tokens only.
PaymentsAdmin = Annotated[ApiToken, Depends(require_scope("admin"))]
