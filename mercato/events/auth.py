from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

EventsRead = Annotated[ApiToken, Depends(require_scope("events:read"))]
