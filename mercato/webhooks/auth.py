from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

WebhooksRead = Annotated[ApiToken, Depends(require_scope("webhooks:read"))]
WebhooksWrite = Annotated[ApiToken, Depends(require_scope("webhooks:write"))]
