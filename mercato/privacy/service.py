"""Data subject requests: logged with their deadline, answered by an export or an
erasure, each step in the audit log."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.channels.meta import deletion
from mercato.db import utcnow
from mercato.errors import BadSignature, Conflict, FieldError, NotFound, ValidationFailed
from mercato.inbox import accounts
from mercato.inbox.models import InboxAccount
from mercato.privacy import erasure, export, finding
from mercato.privacy.models import PrivacyRequest
from mercato.privacy.schemas import PrivacyRequestCreate
from mercato.system import audit

# How long each law gives to answer.
DEADLINES = {"gdpr": timedelta(days=30), "ccpa": timedelta(days=45), "lgpd": timedelta(days=15)}
# Inbox accounts whose Meta app may send its data deletion callback.
META_PLATFORMS = ("messenger", "instagram", "whatsapp")
# Request field -> kind of identifier (mercato.personal.KINDS).
SUBJECT_KINDS = {
    "email": "email",
    "phone": "phone",
    "customer_id": "customer",
    "platform_user_id": "platform_user",
}


def open_request(
    session: Session,
    data: PrivacyRequestCreate,
    actor: str,
    source: str = "merchant",
    now: datetime | None = None,
) -> PrivacyRequest:
    now = now or utcnow()
    subject = {k: v for k in SUBJECT_KINDS if (v := getattr(data, k))}
    if not subject:
        raise ValidationFailed(
            "Say whom the request is about.",
            [
                FieldError(
                    ("body", "email"), "give an email, phone, customer_id or platform_user_id"
                )
            ],
        )
    if "phone" in subject:
        subject["phone"] = _e164(subject["phone"])
    if "email" in subject:
        subject["email"] = finding.normalise("email", subject["email"])
    request = PrivacyRequest(
        kind=data.kind,
        regime=data.regime,
        subject=subject,
        source=source,
        status="open",
        received_at=now,
        due_at=now + DEADLINES[data.regime],
    )
    session.add(request)
    session.flush()
    audit.record(session, actor, "requested", request.id, f"{data.kind} ({data.regime})", now)
    return request


def get_request(session: Session, request_id: str) -> PrivacyRequest:
    request = session.get(PrivacyRequest, request_id)
    if request is None:
        raise NotFound(f"No privacy request {request_id}.")
    return request


def list_requests(session: Session, status: str | None = None) -> list[PrivacyRequest]:
    query = select(PrivacyRequest).order_by(PrivacyRequest.due_at, PrivacyRequest.id)
    if status:
        query = query.where(PrivacyRequest.status == status)
    return list(session.scalars(query))


def export_request(
    session: Session, request_id: str, actor: str, now: datetime | None = None
) -> bytes:
    """The zip archive of everything held about the request's person."""
    now = now or utcnow()
    request = _lock(session, request_id)
    if request.kind != "access":
        raise Conflict(f"Request {request.id} is an erasure; only access requests export.")
    found = finding.find(session, identifiers(request))
    about = {
        "id": request.id,
        "regime": request.regime,
        "received_at": request.received_at.isoformat(),
        "exported_at": now.isoformat(),
        "subject": request.subject,
    }
    archive = export.archive(found, about)
    request.status, request.completed_at = "completed", now
    request.outcome = {"exported": found.count()}
    audit.record(session, actor, "exported", request.id, _summary(found.count()), now)
    return archive


def erase_request(
    session: Session, request_id: str, actor: str, now: datetime | None = None
) -> PrivacyRequest:
    """Everything held about the person erased, in the caller's one transaction."""
    now = now or utcnow()
    request = _lock(session, request_id)
    if request.kind != "erasure":
        raise Conflict(f"Request {request.id} is an access request; it exports, not erases.")
    if request.status != "open":
        raise Conflict(f"Request {request.id} is already {request.status}.")
    found = finding.find(session, identifiers(request))
    done = erasure.erase(session, found)
    session.refresh(request)  # its subject may have been hashed among the requests found
    request.subject = erasure.hashed(request.subject) if not _hashed(request) else request.subject
    request.status, request.completed_at = "completed", now
    request.outcome = {"erased": done}
    audit.record(session, actor, "erased", request.id, _summary(done), now)
    return request


def new_confirmation_code() -> str:
    return secrets.token_hex(16)


def identifiers(request: PrivacyRequest) -> dict[str, list[str]]:
    return {
        kind: [request.subject[field]]
        for field, kind in SUBJECT_KINDS.items()
        if request.subject.get(field)
    }


def _lock(session: Session, request_id: str) -> PrivacyRequest:
    request = session.get(PrivacyRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(f"No privacy request {request_id}.")
    return request


def _hashed(request: PrivacyRequest) -> bool:
    return all(str(v).startswith("sha256:") for v in request.subject.values())


def _e164(phone: str) -> str:
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationFailed(
            "The phone number is not one.",
            [FieldError(("body", "phone"), "give a valid number in international form, +...")],
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {n}" for table, n in counts.items()) or "nothing found"


def honour_meta_deletion(
    session: Session, account_id: str, signed: str, now: datetime | None = None
) -> PrivacyRequest:
    """Meta's data deletion callback for the app of an inbox account: the person its
    signed request names, erased. A request the app secret did not sign changes nothing."""
    now = now or utcnow()
    account = session.get(InboxAccount, account_id)
    if account is None or account.platform not in META_PLATFORMS:
        raise NotFound(f"No Meta inbox account {account_id!r}.")
    data = deletion.parse_signed_request(signed, accounts.credentials(account).app_secret)
    if data is None or not str(data.get("user_id") or "").strip():
        raise BadSignature("The signed_request is not signed by this account's Meta app.")
    asked = PrivacyRequestCreate(
        kind="erasure", regime="gdpr", platform_user_id=str(data["user_id"])
    )
    request = open_request(session, asked, "meta", source="meta", now=now)
    request.confirmation_code = new_confirmation_code()
    return erase_request(session, request.id, "meta", now)


def by_confirmation_code(session: Session, code: str) -> PrivacyRequest:
    request = session.scalar(select(PrivacyRequest).where(PrivacyRequest.confirmation_code == code))
    if request is None:
        raise NotFound("No deletion request has this confirmation code.")
    return request
