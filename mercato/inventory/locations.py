"""Where stock is kept (locations, and the default one stock goes to when none is
named) and what each channel may publish of it (buffers and caps)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.catalog.models import Variant
from mercato.db import new_id, utcnow
from mercato.errors import FieldError, NotFound
from mercato.inventory.ledger import batches, record_changes
from mercato.inventory.models import ChannelRule, Location
from mercato.inventory.queries import insert_or_ignore, locations_table
from mercato.inventory.schemas import ChannelRuleInput, LocationInput

DEFAULT_LOCATION = "default"
# Variants whose inventory.changed is written per statement when a channel rule changes.
EVENT_BATCH = 500


def default_location(session: Session) -> Location:
    """The location stock goes to when none is named; created on first use."""
    location = session.scalar(select(Location).where(Location.code == DEFAULT_LOCATION))
    if location is None:
        session.execute(
            insert_or_ignore(session, locations_table),
            {
                "id": new_id("loc"),
                "code": DEFAULT_LOCATION,
                "name": "Default location",
                "kind": "warehouse",
                "priority": 0,
                "created_at": utcnow(),
            },
        )
        location = session.scalar(select(Location).where(Location.code == DEFAULT_LOCATION))
    return location


def get_location(session: Session, code: str) -> Location:
    if code == DEFAULT_LOCATION:
        return default_location(session)
    location = session.scalar(select(Location).where(Location.code == code))
    if location is None:
        raise NotFound(f"No location {code!r}.", [FieldError(("location",), "unknown location")])
    return location


def list_locations(session: Session) -> list[Location]:
    """Every location, lowest rank first (the default one appears once first used)."""
    return list(session.scalars(select(Location).order_by(Location.priority, Location.code)))


def save_location(session: Session, code: str, data: LocationInput) -> Location:
    """Create the location ``code`` or update its name, kind and priority."""
    location = (
        default_location(session)
        if code == DEFAULT_LOCATION
        else session.scalar(select(Location).where(Location.code == code))
    )
    if location is None:
        location = Location(code=code)
        session.add(location)
    location.name, location.kind, location.priority = data.name, data.kind, data.priority
    session.flush()
    return location


def channel_rules(session: Session) -> list[ChannelRule]:
    return list(session.scalars(select(ChannelRule).order_by(ChannelRule.channel)))


def save_channel_rule(session: Session, channel: str, data: ChannelRuleInput) -> ChannelRule:
    """Set a channel's buffer and cap; records inventory.changed for every variant, since
    what the channel may publish can move for any of them."""
    rule = session.get(ChannelRule, channel)
    if rule is None:
        rule = ChannelRule(channel=channel)
        session.add(rule)
    before = (rule.buffer, rule.cap)
    rule.buffer, rule.cap, rule.updated_at = data.buffer, data.cap, utcnow()
    session.flush()
    if before != (data.buffer, data.cap):
        for batch in batches(session.scalars(select(Variant.id).order_by(Variant.id)), EVENT_BATCH):
            record_changes(session, batch)
    return rule
