"""Event output shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    seq: int = Field(description="Position in the log; the stream's resume point")
    type: str
    key: str = Field(description="The resource the event is about (its ordering key)")
    version: int
    payload: dict[str, Any]
    created_at: datetime


class EventPage(BaseModel):
    items: list[EventPublic]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page")
