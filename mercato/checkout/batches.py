"""Checkouts started at the same moment, and orders of checkouts paid at the same
moment, written together (``mercato.group_commit``, one batcher of each per API process).

During a drop every buyer holds and then sells the same SKU, and a transaction that
holds or sells keeps that SKU's stock level locked from its UPDATE to its commit: one
buyer at a time, each paying for a whole transaction.

- ``StartBatcher``: the checkouts started while a batch was being written, in one
  transaction (``service.start_many``: one read of their variants, one ``reserve_many``,
  one insert of checkouts and one of lines).
- ``PlacementBatcher``: the orders of the attempts paid meanwhile, in one transaction
  (``completion.place_many``: one lock of their checkouts and one of their payments, one
  ``create_orders``, one UPDATE of the stock level). Steps 1 and 2 of the payment saga
  are unchanged (``completion.pay``): the payment is recorded as pending and committed
  before the provider is asked, with no transaction open then.

Each request keeps its own answer; a refused one wrote nothing (a paid attempt whose
order cannot be placed is refunded, as alone: ``refund_unplaced``). Should a batch's
transaction fail, each of its requests is written alone (``service.create_checkout``,
``completion.place``).
"""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from mercato.checkout import completion, paying, service
from mercato.checkout.completion import Placement
from mercato.checkout.schemas import CheckoutComplete
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


class PlacementBatcher(GroupCommit[Placement]):
    def key(self, placement: Placement) -> str:
        return placement.checkout_id

    def write_batch(self, session: Session, placements: list[Placement]) -> list:
        return completion.place_many(session, placements)

    def write_one(self, session: Session, placement: Placement) -> paying.Completion:
        return completion.place(session, placement.payment_id, placement.intent, placement.now)


async def complete(
    batcher: PlacementBatcher,
    sessions: sessionmaker[Session],
    token: str,
    data: CheckoutComplete,
    *,
    attempt_key: str,
    return_url: str,
    client: dict | None = None,
) -> paying.Completion:
    """``completion.complete`` with its order placed by ``batcher``."""
    now = utcnow()
    paid = await run_in_threadpool(
        partial(
            completion.pay,
            sessions,
            token,
            data,
            attempt_key=attempt_key,
            return_url=return_url,
            now=now,
            client=client,
        )
    )
    if isinstance(paid, paying.Completion):
        return paid
    attempt, intent = paid
    try:
        done = await batcher.submit(Placement(attempt.checkout_id, attempt.payment_id, intent, now))
    except MercatoError as exc:
        reason = exc.detail
    else:
        return await run_in_threadpool(completion.after_placed, sessions, done)
    log.warning("Payment %s was charged but its order not placed: %s", attempt.payment_id, reason)
    return await run_in_threadpool(
        completion.refund_unplaced, sessions, attempt.payment_id, intent, reason
    )
