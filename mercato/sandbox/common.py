"""What every simulator shares: fault injection and the /_sandbox control routes.

Faults are queued with ``POST /_sandbox/faults`` ``{"kind": ..., "count": n}``:
``429``, ``500`` (5xx), ``slow`` (``seconds``), ``expired_token``, ``drop`` (accept items
and silently lose them: drift) and ``delay_verdicts`` (verdicts stay pending for
``count`` polls); platform-specific kinds are listed below.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel


def _malformed(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": 400, "message": f"Malformed request body: {type(exc).__name__}"}},
        status_code=400,
    )


def refuse_malformed(app: FastAPI) -> None:
    """A body that is not JSON, or JSON of the wrong shape, is a 400 as on the real
    platforms, not a server error of the simulator."""
    for kind in (ValueError, KeyError, TypeError, AttributeError):
        app.add_exception_handler(kind, _malformed)


FAULT_KINDS = (
    "429",
    "500",
    "slow",
    "expired_token",
    "drop",
    "delay_verdicts",
    # Google's simulator: see mercato/sandbox/google.py.
    "revoked",
    "unregistered",
    "forbidden",
    "in_review",
    # Meta: a batch ending in Error half way; an invalid-id list not loaded yet.
    "batch_error",
    "ids_late",
    # Pinterest: a batch ending FAILED half way.
    "batch_failed",
)


class FaultIn(BaseModel):
    kind: str
    count: int = 1
    seconds: float = 0.0
    retry_after: float = 0.0


class Simulator:
    """State of one simulated platform: its items, pending work and queued faults."""

    def __init__(self):
        self.lock = threading.RLock()
        self.items: dict[str, dict[str, Any]] = {}
        self.faults: Counter[str] = Counter()
        self.slow_seconds = 0.0
        self.retry_after = 0.0
        self.requests: list[tuple[str, str]] = []
        # Number of items received in item-changing calls, for tests and benchmarks.
        self.items_received = 0

    def take(self, kind: str) -> bool:
        with self.lock:
            if self.faults[kind] > 0:
                self.faults[kind] -= 1
                return True
            return False

    def request_fault(self) -> str | None:
        """The transport-level fault to answer this request with, if one is queued."""
        if self.take("slow"):
            time.sleep(self.slow_seconds)
        for kind in ("expired_token", "429", "500"):
            if self.take(kind):
                return kind
        return None

    def reset(self) -> None:
        with self.lock:
            self.__init__()


def control_router(sim: Simulator, describe=lambda item: item) -> APIRouter:
    router = APIRouter(prefix="/_sandbox", tags=["sandbox control"])

    @router.post("/faults")
    def add_fault(fault: FaultIn):
        if fault.kind not in FAULT_KINDS:
            return {"error": f"unknown fault {fault.kind!r}", "kinds": FAULT_KINDS}
        with sim.lock:
            sim.faults[fault.kind] += fault.count
            if fault.kind == "slow":
                sim.slow_seconds = fault.seconds
            if fault.kind == "429":
                sim.retry_after = fault.retry_after
        return {"queued": dict(sim.faults)}

    @router.get("/items")
    def items():
        with sim.lock:
            return {
                "items": {k: describe(v) for k, v in sim.items.items()},
                "items_received": sim.items_received,
            }

    @router.put("/items/{item_id}")
    def put_item(item_id: str, request: Request, body: dict):
        """Change or create an item behind the merchant's back (stale and extra items)."""
        with sim.lock:
            sim.items[item_id] = {**sim.items.get(item_id, {}), **body}
        return sim.items[item_id]

    @router.delete("/items/{item_id}")
    def delete_item(item_id: str):
        with sim.lock:
            sim.items.pop(item_id, None)
        return {"deleted": item_id}

    @router.post("/reset")
    def reset():
        sim.reset()
        return {"reset": True}

    return router
