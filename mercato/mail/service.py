"""Mail from events: which events make which mail (storefront buyers only: a platform's
buyers hear from the platform), and delivering one mail (one attempt, logged)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from mercato import jobs
from mercato.checkout.models import Checkout
from mercato.config import get_settings
from mercato.customers.models import LoginLink
from mercato.db import transaction, utcnow
from mercato.errors import NotFound
from mercato.mail import compose, transport
from mercato.mail.models import Mail, MailAttempt
from mercato.orders.models import Order

SEND_JOB = "mail.send"
STOREFRONT = "storefront"
# Event type -> (mail kind, the payload's detail field naming what the mail is about).
ORDER_MAILS = {
    "order.created": ("order_confirmation", None),
    "order.fulfilled": ("shipping_confirmation", "fulfillment_id"),
    "order.refunded": ("refund", "refund_id"),
}


def queue_for(session: Session, batch: Sequence[Row]) -> int:
    """Make the mails these events call for, each with its send job (in the dispatcher's
    transaction: a mail exists iff its hand-over commits). Returns how many."""
    made = []
    for event in batch:
        mail = _mail_for(session, event)
        if (
            mail is not None
            and session.scalar(
                select(func.count()).select_from(Mail).where(Mail.event_id == event.id)
            )
            == 0
        ):
            session.add(mail)
            made.append(mail)
    session.flush()
    for mail in made:
        jobs.enqueue(session, SEND_JOB, {"mail_id": mail.id})
    return len(made)


def _mail_for(session: Session, event: Row) -> Mail | None:
    payload = event.payload
    if event.type == "customer.login_link_requested":
        link = session.get(LoginLink, payload.get("login_link_id"))
        if link is None or not payload.get("email"):
            return None
        return Mail(
            kind="sign_in",
            to_address=payload["email"],
            locale=_checkout_locale(session, checkout_id=link.checkout_id),
            reference=link.id,
            event_id=event.id,
        )
    if event.type not in ORDER_MAILS or payload.get("channel") != STOREFRONT:
        return None
    order = session.get(Order, payload.get("order_id"))
    if order is None or not order.customer_email:
        return None
    kind, field = ORDER_MAILS[event.type]
    reference = (payload.get("detail") or {}).get(field) if field else None
    if field and reference is None:
        return None
    return Mail(
        kind=kind,
        to_address=order.customer_email,
        locale=_checkout_locale(session, order_id=order.id),
        order_id=order.id,
        reference=reference,
        event_id=event.id,
    )


def _checkout_locale(
    session: Session, *, checkout_id: str | None = None, order_id: str | None = None
) -> str:
    """The buyer's language: the one their checkout was made in."""
    query = select(Checkout.locale)
    query = (
        query.where(Checkout.id == checkout_id)
        if checkout_id
        else query.where(Checkout.order_id == order_id)
    )
    return (session.scalar(query) if checkout_id or order_id else None) or "en"


# ---------------------------------------------------------------- delivering


class Undelivered(Exception):
    """This attempt failed (logged); the job tries again later."""


def deliver(sessions: sessionmaker[Session], mail_id: str, *, last_attempt: bool) -> str:
    """One attempt at a mail: sent over SMTP, or kept in the local outbox when no SMTP
    server is configured. The SMTP conversation runs with no transaction open."""
    settings = get_settings()
    with sessions() as session:
        mail = session.get(Mail, mail_id)
        if mail is None or mail.status in ("sent", "kept", "failed"):
            return "done already"
        rendered = compose.render(session, mail)
        message = _message(mail, rendered, settings.mail_from)
    if not settings.smtp_host:
        outcome, detail = "kept", "no SMTP server configured: kept in the local outbox"
    else:
        try:
            outcome, detail = "sent", transport.send(settings, message)
        except transport.MailNotSent as exc:
            outcome, detail = "failed", str(exc)
    with transaction(sessions) as session:
        mail = session.get(Mail, mail_id)
        mail.attempts += 1
        mail.subject = rendered.subject
        mail.log.append(MailAttempt(at=utcnow(), outcome=outcome, detail=detail))
        if outcome == "failed":
            mail.last_error = detail
            mail.status = "failed" if last_attempt else "queued"
        else:
            mail.status, mail.sent_at, mail.last_error = outcome, utcnow(), None
    if outcome == "failed" and not last_attempt:
        raise Undelivered(detail)
    return outcome


def _message(mail: Mail, rendered: compose.Rendered, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = rendered.subject
    message["Message-ID"] = make_msgid(
        idstring=mail.id, domain=sender.rpartition("@")[2].strip(">") or None
    )
    message.set_content(rendered.text)
    return message


# ---------------------------------------------------------------- the outbox


@dataclass
class Shown:
    mail: Mail
    rendered: compose.Rendered


def outbox(session: Session, limit: int = 100, before: datetime | None = None) -> list[Mail]:
    query = select(Mail).order_by(Mail.created_at.desc(), Mail.id.desc()).limit(limit)
    if before is not None:
        query = query.where(Mail.created_at < before)
    return list(session.scalars(query))


def show(session: Session, mail_id: str) -> Shown:
    mail = session.scalar(select(Mail).options(selectinload(Mail.log)).where(Mail.id == mail_id))
    if mail is None:
        raise NotFound(f"No mail {mail_id!r}.")
    return Shown(mail, compose.render(session, mail))
