from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

OffersRead = Annotated[ApiToken, Depends(require_scope("offers:read"))]
OffersWrite = Annotated[ApiToken, Depends(require_scope("offers:write"))]
# A till's token: validates, redeems and voids codes, and nothing else.
PosWrite = Annotated[ApiToken, Depends(require_scope("pos:write"))]
