"""TikTok Events API 2.0 simulator (``business-api.tiktok.com``): ``POST
/open_api/v1.3/event/track/`` with the ``Access-Token`` header.

Like TikTok (docs/platforms/conversions.md "TikTok"): answers are HTTP 200 with TikTok's
envelope ``{code, message, request_id, data}``, ``code`` 0 when the events were taken;
a refused body names what was wrong; email, phone and external_id must be SHA-256 hashes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mercato.db import new_id
from mercato.sandbox import conversions
from mercato.sandbox.common import Simulator, control_router

# Codes as secondary sources list them [S]: an invalid parameter, a missing token.
INVALID_PARAMETERS = 40002
NO_TOKEN = 40001


def _answer(code: int, message: str, status: int = 200) -> JSONResponse:
    content = {"code": code, "message": message, "request_id": new_id("req"), "data": {}}
    return JSONResponse(content, status_code=status)


def create_app() -> FastAPI:
    app = FastAPI(title="TikTok Events API (simulator)")
    sim = Simulator()
    sim.conversions: list[dict[str, Any]] = []
    app.state.sim = sim
    app.include_router(control_router(sim))

    @app.post("/open_api/v1.3/event/track/")
    async def track(request: Request):
        kind = sim.request_fault()
        if kind == "429":
            return _answer(40100, "Too many requests", status=429)
        if kind == "500":
            return _answer(50000, "Internal service error", status=500)
        if kind == "expired_token" or not request.headers.get("access-token"):
            return _answer(NO_TOKEN, "Access token is missing or invalid")
        body = await request.json()
        problems = conversions.tiktok_errors(body) if isinstance(body, dict) else ["body"]
        if problems:
            return _answer(INVALID_PARAMETERS, "; ".join(problems))
        with sim.lock:
            sim.conversions.extend(
                {
                    "pixel_code": body["event_source_id"],
                    "test_event_code": body.get("test_event_code"),
                    "event": event,
                }
                for event in body["data"]
            )
        return _answer(0, "OK")

    @app.get("/_sandbox/conversions")
    def accepted_conversions():
        with sim.lock:
            return {"events": list(sim.conversions)}

    return app
