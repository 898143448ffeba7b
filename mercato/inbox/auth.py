from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

InboxRead = Annotated[ApiToken, Depends(require_scope("inbox:read"))]
InboxWrite = Annotated[ApiToken, Depends(require_scope("inbox:write"))]
