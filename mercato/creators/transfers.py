"""Payouts sent to creators' connected Stripe accounts (Stripe Connect transfers).

With Stripe configured (``mercato payments configure stripe``) and a creator's
``stripe_account`` set (acct_...), paying a period writes the transfer beside the payout
in the same transaction, pending, with its idempotency key; only then is Stripe asked
(POST /v1/transfers: amount, currency, destination, the payout id as ``transfer_group``
and in ``metadata``), in a transaction of its own. The answer is written back: paid with
Stripe's transfer id, or refused with Stripe's words. A transfer is never left untold:

- no answer (a lost connection, Stripe's own error): it stays pending and a retry sends
  the same idempotency key, so Stripe creates it at most once;
- refused: nothing moved. Stripe keeps the answer of a key it began executing (a
  refusal included) and refuses a key sent again with other parameters, so a retry of a
  refused transfer goes under the next key (``<payout id>:2``...), to the creator's
  account as it is then.

Without Stripe configured or without an account, payouts are the CSV statement only.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mercato.creators.models import Creator, Payout, Transfer
from mercato.db import Sessions, new_id, transaction, utcnow
from mercato.errors import Conflict, NotFound
from mercato.events import service as events
from mercato.payments import service as payments
from mercato.payments.providers import ProviderError, ProviderUnreachable
from mercato.payments.stripe_provider import StripeProvider

PENDING, PAID, REFUSED = "pending", "paid", "refused"


def connect(session: Session) -> StripeProvider | None:
    """Stripe, when it is configured (active for payments or not)."""
    try:
        found = payments.provider(session, "stripe")
    except ProviderError:
        return None
    return found if isinstance(found, StripeProvider) else None


def key_of(payout_id: str, attempt: int) -> str:
    return f"mercato-creator-payout:{payout_id}" + (f":{attempt}" if attempt > 1 else "")


def plan(session: Session, creator: Creator, payout: Payout) -> Transfer | None:
    """The payout's transfer, pending (in the payout's transaction), when it goes to a
    connected account: Stripe configured, an account set, an amount above 0."""
    if not creator.stripe_account or payout.amount <= 0 or connect(session) is None:
        return None
    now = utcnow()
    made = Transfer(
        id=new_id("ctr"),
        payout_id=payout.id,
        destination=creator.stripe_account,
        amount=payout.amount,
        currency=payout.currency,
        idempotency_key=key_of(payout.id, 1),
        status=PENDING,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(made)
    payout.transfer = made
    session.flush()
    return made


def send(sessions: Sessions | sessionmaker[Session], payout_id: str) -> Transfer:
    """Ask Stripe for the payout's transfer (again): pending or refused ones only."""
    write = Sessions.of(sessions).write
    with transaction(write) as session:
        found = session.scalar(
            select(Transfer).where(Transfer.payout_id == payout_id).with_for_update()
        )
        if found is None:
            if session.get(Payout, payout_id) is None:
                raise NotFound(f"No payout {payout_id!r}.")
            raise Conflict(
                "This payout has no Stripe transfer: its creator had no connected account, "
                "Stripe was not configured, or it paid nothing."
            )
        if found.status == PAID:
            session.expunge(found)
            return found
        stripe = connect(session)
        if stripe is None:
            raise Conflict("Stripe is not configured (mercato payments configure stripe).")
        if found.status == REFUSED:
            # Nothing moved: the next key, to the creator's account as it is now.
            creator = session.scalar(
                select(Creator)
                .join(Payout, Payout.creator_id == Creator.id)
                .where(Payout.id == payout_id)
            )
            if creator is not None and creator.stripe_account:
                found.destination = creator.stripe_account
            found.idempotency_key = key_of(payout_id, found.attempts + 1)
            found.status = PENDING
        found.attempts += 1
        found.updated_at = utcnow()
        ask = (found.amount, found.currency, found.destination, found.idempotency_key)
    amount, currency, destination, key = ask
    status, ref, error = PENDING, None, None
    try:
        ref = stripe.transfer(
            amount,
            currency,
            destination,
            key,
            transfer_group=payout_id,
            description=f"Creator payout {payout_id}",
            metadata={"payout_id": payout_id},
        )
        status = PAID
    except ProviderUnreachable as exc:
        error = str(exc)
    except ProviderError as exc:
        status, error = REFUSED, str(exc)
    with transaction(write) as session:
        found = session.scalar(
            select(Transfer).where(Transfer.payout_id == payout_id).with_for_update()
        )
        if found.status != PAID:  # a concurrent retry's success stands
            found.status, found.transfer_ref, found.error = status, ref, error
            found.updated_at = utcnow()
            if status != PENDING:
                events.record(
                    session,
                    f"payout.transfer_{status}",
                    {
                        "payout_id": payout_id,
                        "transfer_id": ref,
                        "destination": destination,
                        "amount": amount,
                        "currency": currency,
                        "error": error,
                    },
                    key=payout_id,
                )
        session.flush()
        session.expunge(found)
    return found


def pending(session: Session) -> list[str]:
    """Payouts whose transfer has had no answer (to send again)."""
    return list(session.scalars(select(Transfer.payout_id).where(Transfer.status == PENDING)))
