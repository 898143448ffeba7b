"""Checkouts started at the same moment, and orders of checkouts paid at the same
moment, written together (``mercato.group_commit``, one batcher of each per API process).

During a drop every buyer holds and then sells the same SKU, and a transaction that
holds or sells keeps that SKU's stock level locked from its UPDATE to its commit: one
buyer at a time, each paying for a whole transaction.

- ``StartBatcher``: the checkouts started while a batch was being written, in one
  transaction (``service.start_many``: one read of their variants, one ``reserve_many``,
  one insert of checkouts and one of lines).
- ``UpdateBatcher``: the details buyers send meanwhile (``PATCH``), in one transaction
  (``service.update_many``: one read of their checkouts, one of their variants, their
  changes flushed together).
- ``BeginBatcher``: the attempts to pay made meanwhile, their payments recorded as
  pending in one transaction (``completion.begin_many``: one lock of their checkouts,
  one read of their earlier payments, one insert), committed before any provider is
  asked; the provider is then asked for each with no transaction open.
- ``PlacementBatcher``: the orders of the attempts paid meanwhile, in one transaction
  (``completion.place_many``: one lock of their checkouts and one of their payments, one
  ``create_orders``, one UPDATE of the stock level).

Each request keeps its own answer; a refused one wrote nothing (a paid attempt whose
order cannot be placed is refunded, as alone: ``refund_unplaced``). Should a batch's
transaction fail, or one of its attempts be refused, each of its requests is written
alone (``service.create_checkout``, ``completion.pay``'s first step, ``completion.place``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from mercato.checkout import completion, paying, service
from mercato.checkout.completion import Begin, Placement
from mercato.checkout.schemas import CheckoutComplete, CheckoutUpdate
from mercato.checkout.service import NewCheckout, Start
from mercato.db import utcnow
from mercato.errors import MercatoError
from mercato.group_commit import GroupCommit

log = logging.getLogger(__name__)


class StartBatcher(GroupCommit[Start]):
    def key(self, start: Start) -> str | None:
        # A visitor's checkouts are counted before each is written (limits): one a batch.
        return start.visitor

    def write_batch(self, session: Session, starts: list[Start]) -> list:
        return service.start_many(session, starts)

    def write_one(self, session: Session, start: Start) -> NewCheckout:
        return service.create_checkout(
            session,
            start.data,
            visitor=start.visitor,
            prices=start.prices,
            admission_ticket=start.admission_ticket,
        )


@dataclass(frozen=True)
class Update:
    token: str
    data: CheckoutUpdate


class UpdateBatcher(GroupCommit[Update]):
    refused_alone = (MercatoError,)  # one refused: only its own transaction may answer it

    def key(self, update: Update) -> str:
        return update.token

    def write_batch(self, session: Session, updates: list[Update]) -> list:
        return service.update_many(session, [(u.token, u.data) for u in updates])

    def write_one(self, session: Session, update: Update) -> service.View:
        return service.view(session, service.update_checkout(session, update.token, update.data))


class BeginBatcher(GroupCommit[Begin]):
    refused_alone = (MercatoError,)  # one refused: only its own transaction may answer it

    def key(self, begin: Begin) -> str:
        return begin.token

    def write_batch(self, session: Session, begins: list[Begin]) -> list:
        return completion.begin_many(session, begins)

    def write_one(self, session: Session, begin: Begin):
        return completion.begin_one(session, begin)


class PlacementBatcher(GroupCommit[Placement]):
    def key(self, placement: Placement) -> str:
        return placement.checkout_id

    def write_batch(self, session: Session, placements: list[Placement]) -> list:
        return completion.place_many(session, placements)

    def write_one(self, session: Session, placement: Placement) -> paying.Completion:
        return completion.place(session, placement.payment_id, placement.intent, placement.now)


async def complete(
    beginner: BeginBatcher,
    placer: PlacementBatcher,
    sessions: sessionmaker[Session],
    token: str,
    data: CheckoutComplete,
    *,
    attempt_key: str,
    return_url: str,
    client: dict | None = None,
) -> paying.Completion:
    """``completion.complete`` with its payment recorded by ``beginner`` and its order
    placed by ``placer``."""
    now = utcnow()
    begun = await beginner.submit(Begin(token, data, attempt_key, return_url, now, client))
    if isinstance(begun, paying.Completion):
        return begun
    intent = await run_in_threadpool(completion.charge, sessions, begun)
    try:
        done = await placer.submit(Placement(begun.checkout_id, begun.payment_id, intent, now))
    except MercatoError as exc:
        reason = exc.detail
    else:
        if done.fraud_cancel is None:  # nothing more to do: no trip to the thread pool
            return done
        return await run_in_threadpool(completion.after_placed, sessions, done)
    log.warning("Payment %s was charged but its order not placed: %s", begun.payment_id, reason)
    return await run_in_threadpool(
        completion.refund_unplaced, sessions, begun.payment_id, intent, reason
    )
