"""Inbox input and output shapes. Credentials go in, never out."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mercato.events.service import EventPayload

Platform = Literal["whatsapp", "messenger", "instagram", "tiktok"]
ConversationStatus = Literal["open", "pending", "snoozed", "resolved"]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w.-]+$")]
HttpUrl = Annotated[str, Field(max_length=500, pattern=r"^https?://\S+$")]
PlatformId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\d+$")]
Secret = Annotated[str, Field(min_length=1, max_length=2000)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AccountCreate(_Input):
    platform: Platform = "whatsapp"
    name: Name
    # WhatsApp: the phone number id and the WhatsApp Business Account id from Meta.
    phone_number_id: PlatformId | None = None
    business_account_id: PlatformId | None = None
    # Messenger: the Facebook Page. Instagram: the professional account and the Page it
    # is linked to (messages go through the Page, with the Page access token).
    page_id: PlatformId | None = None
    instagram_account_id: PlatformId | None = None
    # Messenger and Instagram: Meta granted the app the Human Agent permission, so a
    # person's reply may go up to 7 days after the customer's last message.
    human_agent: bool = False
    # Meta: the access token, the app's secret (webhook signatures) and the verify token
    # chosen for the webhook subscription. TikTok Shop needs none: its channel's are used.
    access_token: Secret | None = None
    app_secret: Secret | None = None
    verify_token: Secret | None = None
    base_url: HttpUrl = "https://graph.facebook.com"
    # WhatsApp: the Meta channel whose catalog is connected to this number (product
    # messages). TikTok: the shop's TikTok channel (required).
    catalog_channel_id: str | None = None

    @model_validator(mode="after")
    def _ids_of_the_platform(self) -> AccountCreate:
        meta = ("access_token", "app_secret", "verify_token")
        needed = {
            "whatsapp": ("phone_number_id", *meta),
            "messenger": ("page_id", *meta),
            "instagram": ("instagram_account_id", "page_id", *meta),
            "tiktok": ("catalog_channel_id",),
        }[self.platform]
        missing = [f for f in needed if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.platform} account needs {', '.join(missing)}")
        return self


class AccountPublic(_Output):
    id: str
    platform: Platform
    name: str
    external_id: str
    business_id: str | None
    human_agent: bool
    base_url: str
    catalog_channel_id: str | None
    automation: dict[str, Any]
    # Where the platform must send this account's webhooks.
    webhook_path: str
    created_at: datetime


class TemplatePublic(_Output):
    name: str
    language: str
    status: str
    category: str | None
    components: list[Any]


class MessagePublic(_Output):
    id: str
    conversation_id: str
    direction: Literal["in", "out", "note"]
    platform_message_id: str | None
    reply_to_id: str | None
    # in, out, or note (the team's own, never sent)
    kind: str
    text: str | None
    content: dict[str, Any]
    status: str
    author: str | None
    error: dict[str, Any] | None
    at: datetime
    status_at: datetime | None


class ConversationPublic(_Output):
    id: str
    account_id: str
    platform: Platform
    contact_id: str
    contact_name: str | None
    phone: str | None
    customer_id: str | None
    status: ConversationStatus
    assignee: str | None
    unread: int
    last_inbound_at: datetime | None
    last_message_at: datetime
    first_reply_at: datetime | None
    marketing_consent_at: datetime | None
    marketing_consent_source: str | None
    marketing_opt_out_at: datetime | None
    csat_score: int | None
    csat_agent: str | None
    # Free-form replies are allowed until then (None: only templates now).
    window_closes_at: datetime | None
    # Messenger and Instagram: after that, a person's reply still goes (tagged
    # HUMAN_AGENT) until then, when the account has Meta's permission.
    human_agent_until: datetime | None = None
    # Whether a free-form reply may be sent now (TikTok Shop sets no time window: it
    # answers each send itself).
    reply_open: bool = False
    # Since when the person has waited for an answer (None: nobody waits), and whether
    # that is longer than the account's first-response target.
    waiting_since: datetime | None = None
    overdue: bool = False
    # The resolution timer: from the start of this spell (the first message, or the one
    # that reopened it) to the account's resolution target.
    opened_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_due_at: datetime | None = None
    resolution_overdue: bool = False
    labels: list[str] = []
    created_at: datetime


class OrderSummary(_Output):
    id: str
    number: int
    channel: str
    status: str
    payment_status: str
    fulfillment_status: str
    total: int
    currency: str
    placed_at: datetime


class ThreadPublic(ConversationPublic):
    """A conversation with its latest messages (oldest first) and the person's orders."""

    messages: list[MessagePublic]
    # Older messages remain: ask again with ``before`` the first one shown.
    earlier: bool = False
    orders: list[OrderSummary]
    # What may be sent when the window is closed.
    templates: list[TemplatePublic]


Label = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[\w][\w .:-]*$")]


class ConversationUpdate(_Input):
    status: ConversationStatus | None = None
    # The conversation's labels, all of them (an empty list removes every label).
    labels: list[Label] | None = Field(default=None, max_length=20)
    assignee: Annotated[str, Field(max_length=100)] | None = None
    # True marks every message read (unread back to 0).
    read: bool | None = None
    # Marketing consent given (with where and how: the wording or form the person agreed
    # to) or withdrawn.
    marketing_consent: bool | None = None
    consent_source: Annotated[str, Field(min_length=1, max_length=255)] | None = None

    @model_validator(mode="after")
    def _source_of_consent(self) -> ConversationUpdate:
        if self.marketing_consent and not self.consent_source:
            raise ValueError("giving marketing consent needs consent_source")
        return self


class TemplateChoice(_Input):
    name: Annotated[str, Field(min_length=1, max_length=512)]
    language: Annotated[str, Field(min_length=2, max_length=16)]
    # The values of the variables of the template's body ({{1}}, {{2}}... or
    # {{first_name}}...) in the order they appear, and of its text header's.
    parameters: list[str] = Field(default_factory=list, max_length=100)
    header_parameters: list[str] = Field(default_factory=list, max_length=10)
    # Or the whole send in the platform's component shape (media headers, buttons...).
    components: list[dict[str, Any]] = Field(default_factory=list)


class ProductSection(_Input):
    title: Annotated[str, Field(min_length=1, max_length=24)]
    skus: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(min_length=1)


class ListRow(_Input):
    title: Annotated[str, Field(min_length=1, max_length=24)]
    description: Annotated[str, Field(min_length=1, max_length=72)] | None = None


class ListSection(_Input):
    title: Annotated[str, Field(min_length=1, max_length=24)] | None = None
    rows: list[ListRow] = Field(min_length=1, max_length=10)


class MessageCreate(_Input):
    """A reply: ``type`` says which of the other fields it needs."""

    type: Literal[
        "text", "template", "product", "product_list", "canned", "buttons", "list", "image", "order"
    ]
    text: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    template: TemplateChoice | None = None
    # product: one SKU; product_list: sections of SKUs under a header.
    sku: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    header: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    sections: list[ProductSection] | None = None
    # buttons: the choices offered under the text (WhatsApp: 1 to 3 reply buttons;
    # Messenger and Instagram: up to 13 quick replies); a tap comes back as the person's
    # message.
    choices: list[Annotated[str, Field(min_length=1, max_length=20)]] | None = Field(
        default=None, max_length=13
    )
    # list (WhatsApp): the button's label and the rows it opens, in sections.
    button: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    rows: list[ListSection] | None = Field(default=None, max_length=10)
    # image: a public https link to a JPEG or PNG (``text`` is its caption on WhatsApp).
    image_url: HttpUrl | None = None
    # order (TikTok Shop): the order shown as TikTok's order card; Mercato's order id or
    # TikTok's own.
    order: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    # canned: the saved reply's name; its variables are filled in from the conversation.
    canned_reply: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    author: Annotated[str, Field(max_length=100)] | None = None

    @model_validator(mode="after")
    def _needs(self) -> MessageCreate:
        needed = {
            "text": ("text",),
            "template": ("template",),
            "product": ("sku",),
            "product_list": ("header", "text", "sections"),
            "canned": ("canned_reply",),
            "buttons": ("text", "choices"),
            "list": ("text", "button", "rows"),
            "image": ("image_url",),
            "order": ("order",),
        }[self.type]
        missing = [f for f in needed if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.type} message needs {', '.join(missing)}")
        return self


class NoteCreate(_Input):
    """An internal note in the thread: the team sees it, the person never does."""

    text: Annotated[str, Field(min_length=1, max_length=4000)]
    author: Annotated[str, Field(max_length=100)] | None = None


class CannedReplyIn(_Input):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    # Variables: {name}, {order}, {order_status}, {tracking}.
    text: Annotated[str, Field(min_length=1, max_length=4000)]


class CannedReplyPublic(_Output):
    id: str
    name: str
    text: str
    created_at: datetime
    updated_at: datetime


class CommentReply(_Input):
    """An answer to a comment: under it, in public, or privately to the person who wrote
    it (once per comment, within 7 days)."""

    text: Annotated[str, Field(min_length=1, max_length=2200)]
    private: bool = False
    author: Annotated[str, Field(max_length=100)] | None = None


class CartItem(_Input):
    sku: Annotated[str, Field(min_length=1, max_length=255)]
    quantity: Annotated[int, Field(ge=1, le=100)] = 1


class CheckoutLinkCreate(_Input):
    """A link to the shop's checkout with these items (and coupon) in the cart."""

    items: list[CartItem] = Field(min_length=1, max_length=50)
    coupon: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    # Written before the link in the message.
    text: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    author: Annotated[str, Field(max_length=100)] | None = None
    # Messenger and Instagram: send it as the private reply to this comment (a message id
    # of the conversation) instead of in the chat.
    comment_id: Annotated[str, Field(min_length=1, max_length=40)] | None = None


class MessageChanged(EventPayload):
    message_id: str
    conversation_id: str
    account_id: str
    direction: str
    kind: str
    status: str
    text: str | None = None
    error: dict[str, Any] | None = None


class ConversationChanged(EventPayload):
    conversation_id: str
    account_id: str
    contact_id: str
    status: str
    assignee: str | None = None


class AutomationRules(_Input):
    """What the inbox answers on its own."""

    # Answer "where is my order?" with the latest order's state and tracking.
    order_status: bool = False
    # Opening hours in ``timezone``: day (mon..sun) -> ["09:00", "18:00"]; a day left
    # out is closed. None: always open.
    timezone: str = "UTC"
    hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[str]] | None = None
    away_message: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    # Answer a cart sent from the catalog (a WhatsApp "order" message) with a link to
    # the shop's checkout holding it.
    carts: bool = False
    cart_message: Annotated[str, Field(min_length=1, max_length=500)] = (
        "Here is your cart, ready to pay:"
    )
    # Service level: an answer is due this many minutes after a person starts waiting
    # (conversations past it show overdue). None: no target.
    first_response_minutes: Annotated[int, Field(ge=1, le=10080)] | None = None
    # ... and resolved this many minutes after it opened (or reopened). None: no target.
    resolution_minutes: Annotated[int, Field(ge=1, le=43200)] | None = None
    # After a conversation is resolved, ask for a rating from 1 to 5.
    csat: bool = False
    csat_question: Annotated[str, Field(min_length=1, max_length=1024)] = (
        "How did we do? Reply with a number from 1 (poor) to 5 (great)."
    )

    @model_validator(mode="after")
    def _valid_hours(self) -> AutomationRules:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown zone {self.timezone!r}") from None
        for day, span in (self.hours or {}).items():
            try:
                opens, closes = (time.fromisoformat(t) for t in span)
            except ValueError:
                raise ValueError(f"hours.{day}: two times, opening and closing (HH:MM)") from None
            if opens >= closes:
                raise ValueError(f"hours.{day}: opens before it closes")
        return self


class ConversationPage(BaseModel):
    items: list[ConversationPublic]
    next_cursor: str | None = None
