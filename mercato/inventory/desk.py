"""The reservation desk: reservations and settlements that arrive together are written
together (``mercato.group_commit``).

During a drop every buyer's request is one small transaction on the same stock row. The
desk writes a queue-full of them in one transaction (``reservations.reserve_many``: one claim
of all references, one stock read, the one guarded UPDATE per stock level per request
that decides who gets a unit, one insert each of lines, movements and events) and one
commit.

Each request still gets its own outcome: a refused one (short stock, unknown SKU, reused
reference) undoes its own writes and fails alone, the rest commit. Should the batch's
transaction itself fail, every request in it is retried on its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mercato.db import utcnow
from mercato.errors import MercatoError
from mercato.group_commit import GroupCommit
from mercato.inventory import lock_objects, reservations
from mercato.inventory.reservations import Ask, ReservationView


@dataclass(frozen=True)
class Settle:
    """Commit or release one reservation."""

    reservation_id: str
    outcome: str  # committed | released
    actor: str = "system"


Outcome = ReservationView | MercatoError


def settle_many(session: Session, settles: Sequence[Settle]) -> list[Outcome]:
    """Commit or release many reservations in one transaction, or raise if any of them
    is refused (the desk then settles each on its own, so each gets its own answer)."""
    outcomes: dict[Settle, ReservationView] = {}
    groups: dict[tuple[str, str], list[Settle]] = defaultdict(list)
    for settle in settles:
        groups[(settle.outcome, settle.actor)].append(settle)
    now = utcnow()
    lock_objects.stock_levels_of_reservations(session, [s.reservation_id for s in settles])
    for (outcome, actor), group in groups.items():
        ids = list(dict.fromkeys(s.reservation_id for s in group))
        views = dict(
            zip(ids, reservations.settle_many(session, ids, outcome, now, actor), strict=True)
        )
        outcomes.update({s: views[s.reservation_id] for s in group})
    return [outcomes[s] for s in settles]


class Desk(GroupCommit[Ask | Settle]):
    """One per API process: reservations and settlements, a batch at a time."""

    async def reserve(self, ask: Ask) -> ReservationView:
        return await self.submit(ask)

    async def settle(self, settle: Settle) -> ReservationView:
        return await self.submit(settle)

    def key(self, request: Ask | Settle):
        if isinstance(request, Settle):
            return request.reservation_id
        return (request.channel, request.reference) if request.reference else None

    def write_batch(self, session: Session, requests: list[Ask | Settle]) -> list[Outcome]:
        if isinstance(requests[0], Settle):
            return settle_many(session, requests)
        return reservations.reserve_many(session, requests)

    def write_one(self, session: Session, request: Ask | Settle) -> ReservationView:
        if isinstance(request, Settle):
            settle = reservations.commit if request.outcome == "committed" else reservations.release
            return settle(session, request.reservation_id, actor=request.actor)
        return reservations.reserve(
            session,
            request.lines,
            channel=request.channel,
            reference=request.reference,
            ttl_seconds=request.ttl_seconds,
            allocation=request.allocation,
            sell=request.sell,
            actor=request.actor,
        )
