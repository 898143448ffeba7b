from typing import Annotated

from fastapi import Depends

from mercato.auth.dependencies import require_scope
from mercato.auth.models import ApiToken

# The queue holds every domain's work, so only admin tokens see and retry it.
JobsAdmin = Annotated[ApiToken, Depends(require_scope("admin"))]
