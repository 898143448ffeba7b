from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

ChannelsRead = Annotated[ApiToken, Depends(require_scope("channels:read"))]
ChannelsWrite = Annotated[ApiToken, Depends(require_scope("channels:write"))]
