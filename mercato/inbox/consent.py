"""Marketing consent per conversation (one person on one channel): given with its time and
source, withdrawn at once by an opt-out keyword, checked before any marketing message.

Each answer is also the person's, on their profile (``customers.consent``: marketing by
this platform, source "inbox", the words that gave it), and it is the profile's consent in
force that a marketing message needs: an opt-out given anywhere stops it at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mercato import events
from mercato.customers import consent as profile_consent
from mercato.errors import FieldError, MercatoError
from mercato.inbox.models import Conversation, InboxAccount

# A message that is only one of these words withdraws (or gives) marketing consent.
OPT_OUT = frozenset(
    {
        "stop",
        "stop all",
        "unsubscribe",
        "opt out",
        "optout",
        "cancel",
        "end",
        "quit",
        "arret",
        "arrêt",
        "baja",
        "parar",
        "sair",
        "alto",
        "abmelden",
        "stopp",
    }
)
OPT_IN = frozenset({"start", "subscribe", "unstop"})
MARKETING = "MARKETING"  # the template category Meta gives marketing templates


class NoMarketingConsent(MercatoError):
    slug = "no-marketing-consent"
    title = "No marketing consent"
    status = 409


def keyword(text: str | None) -> str | None:
    """'out' or 'in' when the whole message is an opt-out or opt-in keyword."""
    word = " ".join((text or "").strip().strip(".!").lower().split())
    if word in OPT_OUT:
        return "out"
    if word in OPT_IN:
        return "in"
    return None


def _need(session: Session, conversation: Conversation) -> profile_consent.Need | None:
    """Marketing on the conversation's platform, when consent is kept per that channel."""
    account = session.get(InboxAccount, conversation.account_id)
    channel = account.platform if account else None
    if channel not in profile_consent.MARKETING_CHANNELS:
        return None
    return profile_consent.Need("marketing", channel)


def record(session: Session, conversation: Conversation, given: bool, source: str, at: datetime):
    need = _need(session, conversation)
    if conversation.customer_id and need:
        profile_consent.record(
            session,
            conversation.customer_id,
            need,
            given,
            source="inbox",
            wording=source,
            reference=f"conversation:{conversation.id}",
            now=at,
        )
    if given:
        conversation.marketing_consent_at, conversation.marketing_consent_source = at, source
        conversation.marketing_opt_out_at = None
    else:
        conversation.marketing_opt_out_at = at
    session.flush()
    events.record(
        session,
        "conversation.consent_given" if given else "conversation.consent_withdrawn",
        {"conversation_id": conversation.id, "source": source, "at": at.isoformat()},
        key=conversation.id,
    )


def may_market(session: Session, conversation: Conversation) -> bool:
    """The person's consent to marketing on this platform, in force on their profile; a
    conversation with no profile (or a platform without per-channel consent) by its own."""
    need = _need(session, conversation)
    if conversation.customer_id and need:
        return profile_consent.allows(session, conversation.customer_id, need)
    return (
        conversation.marketing_consent_at is not None and conversation.marketing_opt_out_at is None
    )


def check_marketing(session: Session, conversation: Conversation) -> None:
    if not may_market(session, conversation):
        need = _need(session, conversation) or profile_consent.Need("marketing", "")
        where = f" by {need.channel}" if need.channel else " on this channel"
        raise NoMarketingConsent(
            f"This person has not agreed to marketing{where}, or opted out: "
            "send a utility template or a reply instead.",
            [FieldError(("consent",), f"no consent to marketing{where}")],
            {"purpose": "marketing", "channel": need.channel},
        )
