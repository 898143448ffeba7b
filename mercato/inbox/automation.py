"""Automatic answers, by rules the merchant edits (an account's ``automation``):

- "where is my order?" answered with the person's latest order, its state and tracking,
  in the language they asked in, when their number matches an order;
- outside opening hours, an away message (once per closed spell);
- after a conversation is resolved, a satisfaction question; the 1-5 answer is recorded
  for the conversation and the agent it was assigned to.

Answers are ordinary replies (``sending.send``, author "automation"), so the reply window
and every platform rule apply to them too.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato import events
from mercato.inbox import checkout_links, records, sending
from mercato.inbox.models import Conversation, InboxAccount, Message
from mercato.inbox.schemas import AutomationRules, CheckoutLinkCreate, MessageCreate
from mercato.money import format_plain
from mercato.orders.models import Fulfillment

AUTHOR = "automation"
JOB = "inbox.automate"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# One away message per closed spell: not again within this long.
AWAY_AGAIN_AFTER = timedelta(hours=12)

# How people ask, by language: the answer is written in the language they asked in.
ASKING = {
    "en": r"where('?s| is) my (order|parcel|package)|order status|track(ing)? (my )?order",
    "fr": r"o[uù] (est|en est) ma commande|suivi (de )?(ma )?commande|mon colis",
    "es": r"d[oó]nde est[aá] mi (pedido|paquete)|estado de mi pedido|seguimiento",
    "de": r"wo ist meine (bestellung|sendung|lieferung)|bestellstatus|sendungsverfolgung",
    "pt": r"(cad[eê]|onde est[aá]) (o )?meu (pedido|encomenda)|rastreio|rastreamento",
    "it": r"dov'?[eè] il mio ordine|stato (del(l')?)? ?ordine|tracciamento",
}
_ASKING = {lang: re.compile(pattern, re.IGNORECASE) for lang, pattern in ASKING.items()}

ANSWERS = {
    "en": {
        "order": "Your order #{number} ({total}) {state}.",
        "tracking": " Carrier: {carrier}, tracking number {tracking}.",
        "link": " Follow it here: {url}",
        "unfulfilled": "is being prepared",
        "partially_fulfilled": "is partly on its way",
        "fulfilled": "is on its way",
        "cancelled": "was cancelled",
        "pending": "is waiting for payment",
    },
    "fr": {
        "order": "Votre commande n°{number} ({total}) {state}.",
        "tracking": " Transporteur : {carrier}, numéro de suivi {tracking}.",
        "link": " Suivez-la ici : {url}",
        "unfulfilled": "est en préparation",
        "partially_fulfilled": "est en partie expédiée",
        "fulfilled": "est en route",
        "cancelled": "a été annulée",
        "pending": "attend son paiement",
    },
    "es": {
        "order": "Tu pedido n.º {number} ({total}) {state}.",
        "tracking": " Transportista: {carrier}, número de seguimiento {tracking}.",
        "link": " Síguelo aquí: {url}",
        "unfulfilled": "se está preparando",
        "partially_fulfilled": "está en camino en parte",
        "fulfilled": "está en camino",
        "cancelled": "fue cancelado",
        "pending": "está pendiente de pago",
    },
    "de": {
        "order": "Ihre Bestellung Nr. {number} ({total}) {state}.",
        "tracking": " Versand mit {carrier}, Sendungsnummer {tracking}.",
        "link": " Verfolgen Sie sie hier: {url}",
        "unfulfilled": "wird vorbereitet",
        "partially_fulfilled": "ist teilweise unterwegs",
        "fulfilled": "ist unterwegs",
        "cancelled": "wurde storniert",
        "pending": "wartet auf die Zahlung",
    },
    "pt": {
        "order": "O seu pedido nº {number} ({total}) {state}.",
        "tracking": " Transportadora: {carrier}, código de rastreio {tracking}.",
        "link": " Acompanhe aqui: {url}",
        "unfulfilled": "está a ser preparado",
        "partially_fulfilled": "está parcialmente a caminho",
        "fulfilled": "está a caminho",
        "cancelled": "foi cancelado",
        "pending": "aguarda pagamento",
    },
    "it": {
        "order": "Il tuo ordine n. {number} ({total}) {state}.",
        "tracking": " Corriere: {carrier}, numero di tracciamento {tracking}.",
        "link": " Seguilo qui: {url}",
        "unfulfilled": "è in preparazione",
        "partially_fulfilled": "è in parte in viaggio",
        "fulfilled": "è in viaggio",
        "cancelled": "è stato annullato",
        "pending": "è in attesa di pagamento",
    },
}
LOCALES = {"en": "en_US", "fr": "fr_FR", "es": "es_ES", "de": "de_DE", "pt": "pt_PT", "it": "it_IT"}


def rules_of(account: InboxAccount) -> AutomationRules:
    return AutomationRules.model_validate(account.automation or {})


def wants(account: InboxAccount) -> bool:
    """Does anything here answer on its own? (Otherwise no job is queued per message.)"""
    rules = rules_of(account)
    return rules.order_status or rules.carts or rules.away_message is not None


def asked_language(text: str | None) -> str | None:
    """The language of a "where is my order?" question, or None for anything else."""
    for lang, pattern in _ASKING.items():
        if text and pattern.search(text):
            return lang
    return None


def is_open(rules: AutomationRules, at: datetime) -> bool:
    """Within opening hours (no hours set: always open)."""
    if not rules.hours:
        return True
    local = at.astimezone(ZoneInfo(rules.timezone))
    span = rules.hours.get(DAYS[local.weekday()])
    if not span:
        return False
    opens, closes = (time.fromisoformat(t) for t in span)
    return opens <= local.time() < closes


def answer(session: Session, message_id: str, now: datetime) -> str | None:
    """Answer one inbound message if a rule says so; what was sent ("cart",
    "order_status", "away") or None."""
    message = session.get(Message, message_id)
    if message is None or message.direction != "in":
        return None
    conversation = session.get(Conversation, message.conversation_id)
    account = session.get(InboxAccount, conversation.account_id)
    rules = rules_of(account)
    if message.kind == "order" and rules.carts:
        items = checkout_links.cart_items(session, account, message.content.get("order") or {})
        if items:
            checkout_links.send_link(
                session,
                conversation.id,
                CheckoutLinkCreate(items=items, text=rules.cart_message, author=AUTHOR),
                now,
                automatic=True,
            )
            return "cart"
    lang = asked_language(message.text) if rules.order_status else None
    if lang is not None:
        text = order_status_text(session, conversation, lang)
        if text is not None:
            reply(session, conversation, text, now)
            return "order_status"
    away_lately = conversation.away_sent_at and now - conversation.away_sent_at < AWAY_AGAIN_AFTER
    if rules.away_message and not is_open(rules, now) and not away_lately:
        conversation.away_sent_at = now
        reply(session, conversation, rules.away_message, now)
        return "away"
    return None


def reply(session: Session, conversation: Conversation, text: str, now: datetime) -> Message:
    return sending.send(
        session,
        conversation.id,
        MessageCreate(type="text", text=text, author=AUTHOR),
        now,
        automatic=True,
    )


def order_status_text(session: Session, conversation: Conversation, lang: str) -> str | None:
    """The person's latest order (by their number, or through the conversation's links)
    and where it is, in ``lang``; None when they have no order."""
    [order] = records.orders_of(session, conversation, 1) or [None]
    if order is None:
        return None
    words = ANSWERS[lang]
    if order.status == "cancelled":
        state = words["cancelled"]
    elif order.status == "pending":
        state = words["pending"]
    else:
        state = words[order.fulfillment_status]
    total = f"{format_plain(order.total, order.currency)} {order.currency}"
    text = words["order"].format(number=order.number, total=total, state=state)
    shipped = session.scalar(
        select(Fulfillment)
        .where(Fulfillment.order_id == order.id)
        .order_by(Fulfillment.created_at.desc())
    )
    if shipped is not None and shipped.tracking_number:
        text += words["tracking"].format(
            carrier=shipped.carrier or "-", tracking=shipped.tracking_number
        )
    if shipped is not None and shipped.tracking_url:
        text += words["link"].format(url=shipped.tracking_url)
    return text


# ---------------------------------------------------------------- satisfaction


def ask_satisfaction(session: Session, conversation: Conversation, now: datetime) -> bool:
    """After resolution: ask for a 1-5 rating, if the rules want it and the window allows."""
    account = session.get(InboxAccount, conversation.account_id)
    rules = rules_of(account)
    if not rules.csat or conversation.csat_asked_at is not None:
        return False
    if not sending.window_open(account, conversation, now):
        return False
    conversation.csat_asked_at = now
    reply(session, conversation, rules.csat_question, now)
    return True


RATING = re.compile(r"^\s*([1-5])\s*(/\s*5)?\s*[.!]?\s*$")


def rating(conversation: Conversation, text: str | None) -> int | None:
    """The 1-5 answer to a satisfaction question still waiting for one."""
    if conversation.csat_asked_at is None or conversation.csat_score is not None:
        return None
    found = RATING.match(text or "")
    return int(found.group(1)) if found else None


def record_rating(session: Session, conversation: Conversation, score: int) -> None:
    conversation.csat_score, conversation.csat_agent = score, conversation.assignee
    session.flush()
    events.record(
        session,
        "conversation.rated",
        {
            "conversation_id": conversation.id,
            "score": score,
            "agent": conversation.assignee,
        },
        key=conversation.id,
    )
