"""Recording events in the caller's transaction."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from mercato.events.models import Event

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")


class EventPayload(BaseModel):
    """Base of every event payload; bump ``version`` on an incompatible change."""

    version: int = 1


def record(session: Session, type: str, payload: EventPayload | dict[str, Any],
           key: str) -> Event:
    """Add an event to the outbox in the current transaction (committed with the change)."""
    if not EVENT_TYPE.match(type):
        raise ValueError(f"event type {type!r} is not '<resource>.<past-tense>'")
    if isinstance(payload, EventPayload):
        version, body = payload.version, payload.model_dump(mode="json", exclude={"version"})
    else:
        version, body = 1, payload
    event = Event(type=type, key=key, version=version, payload=body)
    session.add(event)
    return event
