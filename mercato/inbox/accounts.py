"""Connecting a messaging account (a WhatsApp Business number, a Facebook Page, an
Instagram professional account), its secrets encrypted at rest, and the templates the
platform approved for it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import InvalidToken
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mercato.channels import http as channel_http
from mercato.channels import tokens
from mercato.channels.http import PlatformError
from mercato.channels.messenger.client import MessengerClient
from mercato.channels.models import Channel
from mercato.channels.service import credentials as channel_credentials
from mercato.channels.tiktok.chat import ChatClient
from mercato.channels.whatsapp import mapping as whatsapp
from mercato.channels.whatsapp.client import WhatsAppClient
from mercato.crypto import derived_key, fernet
from mercato.db import Sessions, utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.inbox.models import InboxAccount, MessageTemplate
from mercato.inbox.schemas import AccountCreate, AutomationRules

_CONTEXT = b"mercato/inbox-credentials/v1"
PlatformClient = WhatsAppClient | MessengerClient | ChatClient
WEBHOOK_PATH = "/webhooks/{platform}/{account_id}"


@dataclass(frozen=True)
class Credentials:
    access_token: str
    app_secret: str
    verify_token: str


def _encrypt(credentials: Credentials) -> str:
    return fernet(_CONTEXT).encrypt(json.dumps(credentials.__dict__).encode()).decode()


def credentials(account: InboxAccount) -> Credentials:
    return _decrypted(account.credentials_encrypted, derived_key(_CONTEXT))


@lru_cache(maxsize=64)
def _decrypted(token: str, key: bytes) -> Credentials:
    """Kept per ciphertext and key: every batch of a webhook burst checks its signatures
    with the same account's secret (the decryption was 1.5 % of the inbox's API CPU)."""
    try:
        return Credentials(**json.loads(fernet(_CONTEXT).decrypt(token)))
    except InvalidToken:
        raise ValueError("inbox credentials cannot be decrypted: the secret key changed") from None


def webhook_path(account: InboxAccount) -> str:
    return WEBHOOK_PATH.format(platform=account.platform, account_id=account.id)


def create_account(session: Session, data: AccountCreate) -> InboxAccount:
    if data.catalog_channel_id is not None:
        wanted = "tiktok" if data.platform == "tiktok" else "meta"
        channel = session.get(Channel, data.catalog_channel_id)
        if channel is None or channel.kind != wanted:
            why = "TikTok Shop chats need the shop's TikTok channel."
            raise ValidationFailed(
                why if wanted == "tiktok" else "Product messages need a Meta catalog.",
                [FieldError(("catalog_channel_id",), f"is not a {wanted} channel")],
            )
    external_id, business_id = {
        "whatsapp": (data.phone_number_id, data.business_account_id),
        "messenger": (data.page_id, None),
        "instagram": (data.instagram_account_id, data.page_id),
        "tiktok": (data.catalog_channel_id, None),
    }[data.platform]
    account = InboxAccount(
        platform=data.platform,
        name=data.name,
        external_id=external_id,
        business_id=business_id,
        human_agent=data.human_agent,
        base_url=data.base_url.rstrip("/"),
        catalog_channel_id=data.catalog_channel_id,
        credentials_encrypted=(
            ""
            if data.platform == "tiktok"
            else _encrypt(Credentials(data.access_token, data.app_secret, data.verify_token))
        ),
    )
    try:
        with session.begin_nested():
            session.add(account)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"An account named {data.name!r} or for {data.platform} id {external_id} exists."
        ) from None
    return account


def list_accounts(session: Session) -> list[InboxAccount]:
    return list(session.scalars(select(InboxAccount).order_by(InboxAccount.created_at)))


def get_account(session: Session, account_id: str, platform: str | None = None) -> InboxAccount:
    account = session.get(InboxAccount, account_id)
    if account is None or platform not in (None, account.platform):
        raise NotFound(f"No {platform or 'inbox'} account {account_id!r}.")
    return account


def set_automation(session: Session, account_id: str, rules: AutomationRules) -> InboxAccount:
    account = get_account(session, account_id)
    account.automation = rules.model_dump(mode="json", exclude_defaults=True)
    session.flush()
    return account


def client(
    session: Session, account: InboxAccount, sessions: Sessions
) -> WhatsAppClient | MessengerClient | ChatClient:
    """The platform client of the account. TikTok's goes through its shop's channel, whose
    token is refreshed (and stored, through ``sessions``) when it is about to expire."""
    if account.platform == "tiktok":
        channel = session.get(Channel, account.catalog_channel_id)
        if channel is None:
            raise PlatformError("the TikTok Shop channel of this inbox account was removed")
        http = channel_http.open_client(channel.base_url)
        settings = dict(channel.settings or {})
        return tokens.for_channel(
            sessions,
            channel.id,
            channel.kind,
            lambda fresh: ChatClient(settings, fresh, http),
            channel_credentials(channel),
            http,
        )
    token = credentials(account).access_token
    if account.platform == "whatsapp":
        return WhatsAppClient(account.base_url, account.external_id, token)
    # Messenger sends as the Page; Instagram through the Page it is linked to.
    page_id = account.business_id if account.platform == "instagram" else account.external_id
    return MessengerClient(account.base_url, account.platform, page_id, token)


def templates(session: Session, account_id: str) -> list[MessageTemplate]:
    return list(
        session.scalars(
            select(MessageTemplate)
            .where(MessageTemplate.account_id == account_id)
            .order_by(MessageTemplate.name, MessageTemplate.language)
        )
    )


def approved_template(
    session: Session, account_id: str, name: str, language: str
) -> MessageTemplate | None:
    return session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.account_id == account_id,
            MessageTemplate.name == name,
            MessageTemplate.language == language,
            MessageTemplate.status == "APPROVED",
        )
    )


@dataclass(frozen=True)
class TemplateVariables:
    """What the composer asks for a template: its texts and their variables in order."""

    header: str | None
    header_names: list[str]
    body: str | None
    body_names: list[str]


def variables(template: MessageTemplate) -> TemplateVariables:
    header = whatsapp.template_text(template.components, "HEADER")
    body = whatsapp.template_text(template.components, "BODY")
    return TemplateVariables(
        header, whatsapp.placeholders(header), body, whatsapp.placeholders(body)
    )


def replace_templates(session: Session, account_id: str, found: list[dict]) -> int:
    """The account's templates as the platform lists them now (name, language, status,
    category, components each)."""
    session.execute(delete(MessageTemplate).where(MessageTemplate.account_id == account_id))
    now = utcnow()
    session.add_all(
        MessageTemplate(
            account_id=account_id,
            name=t["name"],
            language=t["language"],
            status=t["status"],
            category=t.get("category"),
            components=t.get("components") or [],
            updated_at=now,
        )
        for t in found
    )
    session.flush()
    return len(found)
