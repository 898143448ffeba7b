"""Consent per purpose and channel: what a person agreed to or withdrew, when, where and
the exact words they were shown. Answers are appended, never changed: the latest for a
purpose and channel across the profile's rows is the one in force, so a withdrawal
counts from the moment it is recorded and the history stays.

A withdrawal given to a merged profile is recorded on each of its rows (an unmerge leaves
both sides withdrawn); an agreement only on the row it was given for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session, aliased

from mercato.customers.models import CONSENT_CHANNELS, CONSENT_PURPOSES, Consent, Customer
from mercato.db import new_id, utcnow
from mercato.errors import FieldError, MercatoError, ValidationFailed
from mercato.events import service as events

MARKETING_CHANNELS = tuple(c for c in CONSENT_CHANNELS if c)


class ConsentMissing(MercatoError):
    slug = "consent-missing"
    title = "Consent missing"
    status = 403


@dataclass(frozen=True)
class Need:
    purpose: str
    channel: str = ""

    @property
    def words(self) -> str:
        return f"{self.purpose} by {self.channel}" if self.channel else self.purpose


def check(purpose: str, channel: str) -> Need:
    errors = []
    if purpose not in CONSENT_PURPOSES:
        errors.append(FieldError(("purpose",), f"one of {', '.join(CONSENT_PURPOSES)}"))
    if purpose == "marketing" and channel not in MARKETING_CHANNELS:
        errors.append(
            FieldError(("channel",), f"marketing needs one of {', '.join(MARKETING_CHANNELS)}")
        )
    if purpose != "marketing" and channel:
        errors.append(FieldError(("channel",), f"{purpose} is asked for once, not per channel"))
    if errors:
        raise ValidationFailed("Not a consent Mercato records.", errors)
    return Need(purpose, channel)


def record(
    session: Session,
    customer_id: str,
    need: Need,
    granted: bool,
    *,
    source: str,
    wording: str,
    reference: str | None = None,
    now: datetime | None = None,
) -> list[Consent]:
    """Append the answer (on every row of the profile when it is a withdrawal)."""
    now = now or utcnow()
    customer = session.get(Customer, customer_id)
    rows = [customer_id]
    if not granted:
        rows = list(
            session.scalars(select(Customer.id).where(Customer.profile_id == customer.profile_id))
        )
    added = [
        Consent(
            id=new_id("cns"),
            customer_id=row,
            purpose=need.purpose,
            channel=need.channel,
            granted=granted,
            source=source,
            wording=wording,
            reference=(reference or "")[:100] or None,
            recorded_at=now,
        )
        for row in rows
    ]
    session.add_all(added)
    session.flush()
    events.record(
        session,
        "customer.consent_changed",
        {
            "customer_id": customer.profile_id,
            "purpose": need.purpose,
            "channel": need.channel,
            "granted": granted,
            "source": source,
        },
        key=customer.profile_id,
    )
    return added


def history(session: Session, profile_id: str) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent)
            .join(Customer, Customer.id == Consent.customer_id)
            .where(Customer.profile_id == profile_id)
            .order_by(Consent.id.desc())  # ids are in the order answers were recorded
        )
    )


def current(session: Session, profile_id: str) -> dict[Need, Consent]:
    """The answer in force per purpose and channel (the latest)."""
    found: dict[Need, Consent] = {}
    for answer in history(session, profile_id):
        found.setdefault(Need(answer.purpose, answer.channel), answer)
    return found


def allows(session: Session, customer_id: str | None, need: Need) -> bool:
    """Has the person (any row of their profile) agreed, and not withdrawn since?"""
    if not customer_id:
        return False
    customer = session.get(Customer, customer_id)
    if customer is None:
        return False
    answer = current(session, customer.profile_id).get(need)
    return bool(answer and answer.granted)


def require(session: Session, customer_id: str | None, need: Need, what: str) -> None:
    """Refuse ``what`` (a marketing send, a conversion) without the person's consent."""
    if not allows(session, customer_id, need):
        raise ConsentMissing(
            f"{what} needs the person's consent to {need.words}, and none is on record "
            "(or it was withdrawn).",
            [FieldError(("consent",), f"no consent to {need.words}")],
            {"purpose": need.purpose, "channel": need.channel, "customer_id": customer_id},
        )


def granted_clause(profile_id: ColumnElement, need: Need) -> ColumnElement[bool]:
    """SQL: the profile ``profile_id`` has agreed to ``need`` and not withdrawn since."""
    mine, later = aliased(Consent), aliased(Consent)
    row, later_row = aliased(Customer), aliased(Customer)
    newer = exists(
        select(later.id)
        .join(later_row, later_row.id == later.customer_id)
        .where(
            later_row.profile_id == profile_id,
            later.purpose == need.purpose,
            later.channel == need.channel,
            later.id > mine.id,
        )
        # The profile is the outermost query's: correlated two levels up, not joined in.
        .correlate_except(later, later_row)
    )
    return exists(
        select(mine.id)
        .join(row, row.id == mine.customer_id)
        .where(
            row.profile_id == profile_id,
            mine.purpose == need.purpose,
            mine.channel == need.channel,
            mine.granted.is_(True),
            ~newer,
        )
    )
