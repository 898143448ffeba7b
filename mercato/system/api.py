from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mercato.system import service

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz():
    """The process is up (answered on the event loop: no thread, no database)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request):
    """The database answers and its schema is at the latest migration."""
    report = service.readiness(request.app.state.engine)
    return JSONResponse(report, status_code=200 if report["status"] == "ready" else 503)
