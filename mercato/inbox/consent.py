"""Marketing consent per conversation (one person on one channel): given with its time and
source, withdrawn at once by an opt-out keyword, checked before any marketing message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mercato import events
from mercato.errors import MercatoError
from mercato.inbox.models import Conversation

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


def record(session: Session, conversation: Conversation, given: bool, source: str, at: datetime):
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


def may_market(conversation: Conversation) -> bool:
    return (
        conversation.marketing_consent_at is not None and conversation.marketing_opt_out_at is None
    )


def check_marketing(conversation: Conversation) -> None:
    if not may_market(conversation):
        raise NoMarketingConsent(
            "This person has not agreed to marketing on this channel, or opted out: "
            "send a utility template or a reply instead."
        )
