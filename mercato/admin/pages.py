"""The dashboard: server-rendered pages over the domain services (thin handlers)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sse_starlette.sse import EventSourceResponse

from mercato import wakeups
from mercato.admin import analytics_view, attention, charts, editing, service
from mercato.admin.models import AdminSession
from mercato.analytics import clv_runs, dashboard, reports
from mercato.catalog import collections as catalog_collections
from mercato.catalog import media as catalog_media
from mercato.catalog import service as catalog
from mercato.catalog.bulk import BulkEdit, edit_variants
from mercato.channels import check, feed_rules, health, inclusion
from mercato.channels import service as channels
from mercato.channels.capabilities import orders_note
from mercato.channels.orders import why_no_orders
from mercato.channels.schemas import (
    READ_FIELDS,
    RULE_FIELDS,
    FeedPreviewRequest,
    FeedRule,
    FeedRulesUpdate,
)
from mercato.config import get_settings
from mercato.db import utcnow
from mercato.errors import MercatoError, NotFound, Unauthorized, dotted
from mercato.events import stream
from mercato.events.service import EventFilters
from mercato.inbox import (
    accounts,
    canned,
    checkout_links,
    comments,
    conversations,
    media,
    notes,
    sending,
    windows,
)
from mercato.inbox.models import CONVERSATION_STATUSES
from mercato.inbox.schemas import (
    CannedReplyIn,
    CartItem,
    CheckoutLinkCreate,
    CommentReply,
    ConversationUpdate,
    MessageCreate,
    NoteCreate,
    TemplateChoice,
)
from mercato.inventory import reports as inventory
from mercato.mail import service as mail
from mercato.money import format_plain
from mercato.orders import fulfillment, lifecycle, queries, refunds
from mercato.orders.bulk import bulk_action
from mercato.orders.schemas import FulfillmentCreate, RefundCreate, RefundLine, TrackingUpdate
from mercato.recommendations import experiments, product_sets, training
from mercato.recommendations import rules as recommendation_rules
from mercato.recommendations import serving as recommendations
from mercato.recommendations.schemas import ExperimentCreate, ProductSetCreate, RuleCreate
from mercato.segments import service as segments
from mercato.web.requests import PostedForm
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession
from mercato.webhooks import service as webhooks
from mercato.webhooks.schemas import Redeliver

HERE = Path(__file__).parent
COOKIE = "mercato_admin"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["money"] = lambda minor, currency: (
    f"{format_plain(minor, currency)} {currency}" if minor is not None else "–"
)
templates.env.filters["amount"] = lambda minor, currency: (
    "" if minor is None else format_plain(minor, currency)
)
templates.env.filters["when"] = lambda at: f"{at:%Y-%m-%d %H:%M}" if at else "–"
templates.env.filters["clock"] = lambda at: f"{at:%H:%M} UTC"
# Orders whose payment still holds money to give back: the refund form is offered (on
# the order's page and beside a conversation).
REFUNDABLE_PAYMENTS = ("paid", "partially_refunded")
# Products the thread suggests sending (the buyer's own list, or what sells).
SUGGESTED_PRODUCTS = 4
templates.env.globals["file_shown_as"] = media.shown_as
templates.env.globals["template_variables"] = accounts.variables
templates.env.filters["number"] = lambda value: "" if value is None else f"{value.normalize():f}"


def fix_link(product_id: str, variant_id: str, platform_field: str) -> str:
    """The product page at the field a platform attribute is made from."""
    ours = check.CATALOG_FIELDS.get(platform_field)
    if ours in ("title", "description_html"):
        return f"/admin/catalog/{product_id}#f-{ours}"
    return f"/admin/catalog/{product_id}#" + (f"f-{variant_id}-{ours}" if ours else "edit")


templates.env.globals["fix_link"] = fix_link
templates.env.tests["refundable"] = lambda order: order.payment_status in REFUNDABLE_PAYMENTS

router = APIRouter(prefix="/admin", include_in_schema=False)
static = StaticFiles(directory=HERE / "static")


class LoginRequired(Exception):
    """Rendered as a redirect to the login page (see app.py)."""


def _admin(request: Request, session: ReadSession) -> AdminSession:
    """The signed-in session, if its token may see this page (the scope the API asks)."""
    try:
        admin = service.current(session, request.cookies.get(COOKIE))
    except Unauthorized:
        raise LoginRequired() from None
    service.require(admin, service.page_scope(request.url.path))
    if request.method == "GET" and admin.can("inbox:read"):
        # The navigation's "Inbox (n)": one COUNT over the conversations.
        request.state.inbox_unread = conversations.unread_total(session)
    return admin


Admin = Annotated[AdminSession, Depends(_admin)]


def _page(
    request: Request, name: str, admin: AdminSession | None, http_status: int = 200, **context
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {
            "admin": admin,
            "message": request.query_params.get("msg"),
            "error": request.query_params.get("error"),
            **context,
        },
        status_code=http_status,
    )


def _back(path: str, *, msg: str | None = None, error: str | None = None) -> RedirectResponse:
    note = f"?msg={quote(msg)}" if msg else (f"?error={quote(error)}" if error else "")
    return RedirectResponse(f"{path}{note}", status_code=303)


# ---------------------------------------------------------------- login


@router.get("/login")
def login_page(request: Request):
    return _page(request, "login.html", None)


@router.post("/login")
def login(request: Request, session: WriteSession, token: Annotated[str, Form()]):
    try:
        opened = service.log_in(session, token)
    except MercatoError as exc:
        session.rollback()
        return _page(request, "login.html", None, error=exc.detail)
    response = RedirectResponse(service.home(opened.session), status_code=303)
    response.set_cookie(
        COOKIE,
        opened.cookie,
        httponly=True,
        samesite="strict",
        path="/admin",
        secure=request.app.state.settings.base_url.startswith("https://"),
        max_age=int(service.SESSION_LIFETIME.total_seconds()),
    )
    return response


@router.post("/logout")
def logout(request: Request, session: WriteSession, admin: Admin, csrf: Annotated[str, Form()]):
    service.check_csrf(admin, csrf)
    service.log_out(session, request.cookies.get(COOKIE))
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(COOKIE, path="/admin")
    return response


# ---------------------------------------------------------------- overview


@router.get("")
def overview(request: Request, session: ReadSession, admin: Admin):
    now = utcnow()
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = now.replace(second=0, microsecond=0) - timedelta(minutes=59)
    sales = queries.sales_by_channel(session, start_of_day)
    latest = queries.list_orders(session, queries.OrderFilters(), limit=10).items
    return _page(
        request,
        "overview.html",
        admin,
        sales=sales,
        attention=attention.today(session, admin.can),
        per_minute=queries.orders_per_minute(session, since, since + timedelta(hours=1)),
        chart_start=since.isoformat(),
        latest=latest,
        names=queries.channel_names(
            session, [row.channel for row in sales] + [o.channel for o in latest]
        ),
        # For orders arriving live: each channel by its name, never its id.
        channel_names={c.id: c.name for c in channels.list_channels(session, removed=True)},
    )


@router.get("/stream")
def live_orders(request: Request, admin: Admin, sessions: SessionFactories):
    """New order events for the overview (the dashboard's share of the event stream)."""
    wakeups.listen(request.app.state.engine)
    filters = EventFilters(types=["order.created", "order.cancelled", "order.fulfilled"])
    return EventSourceResponse(
        stream.follow(sessions.read, filters, None),
        ping=15,
        headers={"Cache-Control": "no-store"},
    )


# ---------------------------------------------------------------- orders


@router.get("/orders")
def order_list(
    request: Request,
    session: ReadSession,
    admin: Admin,
    status: str | None = None,
    channel: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    since: Annotated[str | None, Query(alias="from")] = None,
    until: Annotated[str | None, Query(alias="to")] = None,
):
    """Newest first, filtered by status, channel, text and days placed (the store's zone)."""
    first, last = _day(since), _day(until)
    zone = reports.store_zone()
    filters = queries.OrderFilters(
        status=status or None,
        channel=channel or None,
        q=q or None,
        placed_since=reports.day_start(first, zone) if first else None,
        placed_before=reports.day_start(last + timedelta(days=1), zone) if last else None,
    )
    page = queries.list_orders(session, filters, cursor=cursor, limit=50)
    return _page(
        request,
        "orders.html",
        admin,
        page=page,
        names=queries.channel_names(session, (o.channel for o in page.items)),
        channels=channels.list_channels(session),
        note=why_no_orders(session, channel),
        status=status or "",
        channel=channel or "",
        q=q or "",
        since=first.isoformat() if first else "",
        until=last.isoformat() if last else "",
    )


def _day(value: str | None) -> date | None:
    """A day from a filter form (an unreadable one is no filter)."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/orders/{order_id}")
def order_detail(request: Request, order_id: str, session: ReadSession, admin: Admin):
    order = queries.get_order(session, order_id)
    return _page(
        request,
        "order.html",
        admin,
        order=order,
        channel_name=queries.channel_names(session, [order.channel])[order.channel],
        fulfillments=queries.fulfillments_of(session, order.id),
        refunds=queries.refunds_of(session, order.id),
    )


def _order_action(
    session, order_id: str, admin: AdminSession, csrf: str, action, back: str | None = None
) -> RedirectResponse:
    """One order action in the request's transaction (``session``; None when the action
    opens its own); a refusal rolls all of it back. Then back to the order's page (or
    ``back``)."""
    service.check_csrf(admin, csrf)
    path = back or f"/admin/orders/{order_id}"
    try:
        service.require(admin, "orders:write")
        return _back(path, msg=action())
    except MercatoError as exc:
        if session is not None:
            session.rollback()
        return _back(path, error=_said(exc))


def _said(exc: MercatoError) -> str:
    details = "; ".join(e.message for e in exc.errors)
    return f"{exc.detail} {details}".strip()


def _actor(admin: AdminSession) -> str:
    return f"dashboard:{admin.token.name}"


@router.post("/orders/{order_id}/fulfil")
def fulfil(
    order_id: str,
    session: WriteSession,
    admin: Admin,
    csrf: Annotated[str, Form()],
    carrier: Annotated[str, Form()] = "",
    tracking_number: Annotated[str, Form()] = "",
    tracking_url: Annotated[str, Form()] = "",
):
    def act():
        fulfillment.fulfil(
            session,
            order_id,
            FulfillmentCreate(
                carrier=carrier.strip() or None,
                tracking_number=tracking_number.strip() or None,
                tracking_url=tracking_url.strip() or None,
            ),
            actor=_actor(admin),
        )
        return "Fulfilled."

    return _order_action(session, order_id, admin, csrf, act)


@router.post("/orders/{order_id}/fulfillments/{fulfillment_id}/tracking")
def tracking(
    order_id: str,
    fulfillment_id: str,
    session: WriteSession,
    admin: Admin,
    csrf: Annotated[str, Form()],
    carrier: Annotated[str, Form()] = "",
    tracking_number: Annotated[str, Form()] = "",
    tracking_url: Annotated[str, Form()] = "",
):
    def act():
        fulfillment.update_tracking(
            session,
            order_id,
            fulfillment_id,
            TrackingUpdate(
                carrier=carrier.strip(),
                tracking_number=tracking_number.strip() or None,
                tracking_url=tracking_url.strip() or None,
            ),
            actor=_actor(admin),
        )
        return "Tracking saved; the platform is told."

    try:
        return _order_action(session, order_id, admin, csrf, act)
    except ValueError:  # no carrier: the schema refuses it
        return _back(f"/admin/orders/{order_id}", error="Name the carrier.")


@router.post("/orders/{order_id}/cancel")
def cancel(
    order_id: str,
    session: WriteSession,
    admin: Admin,
    csrf: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    restock: Annotated[str, Form()] = "on",
):
    def act():
        lifecycle.cancel(session, order_id, reason or None, restock == "on", actor=_actor(admin))
        return "Cancelled."

    return _order_action(session, order_id, admin, csrf, act)


@router.post("/orders/{order_id}/refund")
def refund(order_id: str, form: PostedForm, sessions: SessionFactories, admin: Admin):
    """Refund chosen quantities of lines (each restocked or not), or everything left."""
    return _refund(order_id, form, sessions, admin)


def _refund(order_id: str, form, sessions, admin: AdminSession, back: str | None = None):
    """The refund form (the order page's, or the inbox thread's: no lines, everything
    left), refunded by the orders' refund service."""
    lines = []
    for line_id in form.getlist("line_id"):
        quantity = form.get(f"quantity:{line_id}") or "0"
        if quantity.isdigit() and int(quantity) > 0:
            restock = form.get(f"restock:{line_id}") == "on"
            lines.append(RefundLine(line_id=line_id, quantity=int(quantity), restock=restock))
    data = RefundCreate(
        lines=lines or None,
        reason=str(form.get("reason") or "") or None,
        shipping=form.get("shipping") == "on" and bool(lines),
        restock=form.get("restock") == "on",
    )

    def act():
        made = refunds.refund(sessions.write, order_id, data, actor=_actor(admin))
        shown = f"{format_plain(made.amount, made.currency)} {made.currency}"
        if made.status == "pending":
            return f"Refund of {shown} sent; waiting for the payment provider's answer."
        return f"Refunded {shown}."

    return _order_action(None, order_id, admin, str(form.get("csrf") or ""), act, back)


@router.post("/orders/bulk")
def bulk(form: PostedForm, sessions: SessionFactories, admin: Admin):
    """Fulfil, cancel or refund the selected orders, each on its own: one refused order
    changes nothing of its own and does not stop the others."""
    service.check_csrf(admin, str(form.get("csrf") or ""))
    try:
        service.require(admin, "orders:write")
    except MercatoError as exc:
        return _back("/admin/orders", error=_said(exc))
    ids = [str(i) for i in form.getlist("order_id")][:200]

    try:
        outcome = bulk_action(
            sessions.write,
            ids,
            str(form.get("action") or ""),
            carrier=str(form.get("carrier") or "").strip() or None,
            actor=_actor(admin),
        )
    except MercatoError as exc:
        return _back("/admin/orders", error=_said(exc))
    done = f"{outcome.done} order(s) {outcome.verb}."
    if outcome.refused:
        return _back("/admin/orders", error=f"{done} Refused: " + "; ".join(outcome.refused))
    return _back("/admin/orders", msg=done)


# ---------------------------------------------------------------- inbox


@router.get("/inbox")
def inbox(
    request: Request,
    session: ReadSession,
    admin: Admin,
    status: str | None = None,
    unread: str | None = None,
    assignee: str | None = None,
    label: str | None = None,
    waiting: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
):
    """Conversations, latest activity first, each with its latest message; searchable."""
    page = conversations.list_conversations(
        session,
        status=status or None,
        assignee=assignee or None,
        unread={"yes": True, "no": False}.get(unread or ""),
        label=label or None,
        waiting=True if waiting == "yes" else None,
        q=(q or "")[:200] or None,
        cursor=cursor or None,
        last_message=True,
    )
    return _page(
        request,
        "inbox.html",
        admin,
        page=page,
        statuses=CONVERSATION_STATUSES,
        labels=conversations.labels_in_use(session),
        status=status or "",
        unread=unread or "",
        assignee=assignee or "",
        label=label or "",
        waiting=waiting or "",
        q=q or "",
    )


@router.get("/inbox/replies")
def canned_replies(request: Request, session: ReadSession, admin: Admin):
    """The team's saved replies, and their variables."""
    return _page(
        request,
        "inbox_replies.html",
        admin,
        replies=canned.list_all(session),
        variables=canned.VARIABLES,
    )


@router.post("/inbox/replies")
def save_canned_reply(form: PostedForm, session: WriteSession, admin: Admin):
    def save() -> str:
        data = CannedReplyIn(name=str(form.get("name") or ""), text=str(form.get("text") or ""))
        if form.get("id"):
            canned.update(session, str(form["id"]), data)
        else:
            canned.create(session, data)
        return f"Saved “{data.name}”."

    csrf = str(form.get("csrf") or "")
    return _form_action(session, admin, csrf, "inbox:write", "/admin/inbox/replies", save)


@router.post("/inbox/replies/{reply_id}/delete")
def delete_canned_reply(
    reply_id: str, session: WriteSession, admin: Admin, csrf: Annotated[str, Form()]
):
    service.check_csrf(admin, csrf)
    try:
        service.require(admin, "inbox:write")
        canned.delete(session, reply_id)
    except MercatoError as exc:
        session.rollback()
        return _back("/admin/inbox/replies", error=_said(exc))
    return _back("/admin/inbox/replies", msg="Deleted.")


@router.get("/inbox/stream")
def inbox_stream(
    request: Request, admin: Admin, sessions: SessionFactories, conversation: str | None = None
):
    """Message and conversation events (of one conversation, if named) for the inbox
    pages, which re-read what changed."""
    wakeups.listen(request.app.state.engine)
    filters = EventFilters(types=["message.*", "conversation.*"], key=conversation or None)
    return EventSourceResponse(
        stream.follow(sessions.read, filters, None),
        ping=15,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/inbox/{conversation_id}")
def conversation_page(
    request: Request,
    conversation_id: str,
    session: ReadSession,
    admin: Admin,
    before: str | None = None,
):
    """The thread, the person's orders and a composer that knows the reply window.
    Reading it changes nothing: it is marked read by a POST (see inbox.js)."""
    thread = conversations.thread(session, conversation_id, before or None)
    suggested = []
    if admin.can("recommendations:read"):
        _, suggested = recommendations.for_customer(session, thread.conversation.customer_id)
    return _page(
        request,
        "inbox_thread.html",
        admin,
        thread=thread,
        suggested=suggested[:SUGGESTED_PRODUCTS],
        window=windows.WINDOWS[thread.platform],
        statuses=CONVERSATION_STATUSES,
        replies=canned.list_all(session),
    )


@router.get("/inbox/files/{message_id}")
def received_file(message_id: str, sessions: SessionFactories, admin: Admin):
    """A file in the thread, fetched from the platform as the page shows it."""
    try:
        attachment = media.fetch(sessions, message_id)
    except MercatoError as exc:
        return Response(_said(exc), status_code=exc.status, media_type="text/plain")
    return Response(
        attachment.content,
        media_type=attachment.mime_type,
        headers=media.response_headers(attachment),
    )


def _inbox_action(session, conversation_id: str, admin: AdminSession, csrf: str, action):
    """One conversation action, back to the thread (see ``_form_action``)."""
    path = f"/admin/inbox/{conversation_id}"
    return _form_action(session, admin, csrf, "inbox:write", path, action)


def _form_action(
    session, admin: AdminSession, csrf: str, scope: str, path: str, action
) -> RedirectResponse:
    """A form's action in the request's transaction, then back to ``path`` saying what
    ``action`` returned; a refusal (a rule, a platform's, or a form that makes no valid
    request) keeps nothing and is said instead."""
    service.check_csrf(admin, csrf)
    try:
        service.require(admin, scope)
        return _back(path, msg=action())
    except MercatoError as exc:
        session.rollback()
        return _back(path, error=_said(exc))
    except ValueError as exc:  # the schemas refuse the form's values
        session.rollback()
        return _back(path, error=_refused(exc))


def _refused(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"] else e["msg"]
            for e in exc.errors()
        ).replace("Value error, ", "")
    return str(exc)


def _author(admin: AdminSession) -> str:
    return admin.token.name


@router.post("/inbox/{conversation_id}/messages")
def reply(
    conversation_id: str,
    session: WriteSession,
    admin: Admin,
    csrf: Annotated[str, Form()],
    kind: Annotated[str, Form(alias="type")],
    text: Annotated[str, Form()] = "",
    sku: Annotated[str, Form()] = "",
    template: Annotated[str, Form()] = "",
    canned_reply: Annotated[str, Form()] = "",
    choices: Annotated[str, Form()] = "",
    image_url: Annotated[str, Form()] = "",
    order: Annotated[str, Form()] = "",
    parameters: Annotated[list[str] | None, Form()] = None,
    header_parameters: Annotated[list[str] | None, Form()] = None,
):
    """A text, a product card (by SKU), an order card (TikTok), a saved reply or, outside
    the window, an approved template."""

    def act():
        if kind == "canned":
            data = MessageCreate(type="canned", canned_reply=canned_reply, author=_author(admin))
        elif kind == "template":
            name, _, language = template.partition("|")
            data = MessageCreate(
                type="template",
                template=TemplateChoice(
                    name=name,
                    language=language,
                    parameters=[p.strip() for p in parameters or []],
                    header_parameters=[p.strip() for p in header_parameters or []],
                ),
                author=_author(admin),
            )
        else:
            data = MessageCreate(
                type=kind,
                text=text.strip() or None,
                sku=sku.strip() or None,
                # "Saturday, Monday": the buttons offered under the text
                choices=[c.strip() for c in choices.split(",") if c.strip()] or None,
                image_url=image_url.strip() or None,
                order=order.strip() or None,
                author=_author(admin),
            )
        sending.send(session, conversation_id, data)
        return "Queued; it is on its way."

    return _inbox_action(session, conversation_id, admin, csrf, act)


def _cart(items: str) -> list[CartItem]:
    """``TEE-M:2, MUG-1`` -> two items (a quantity of 1 when none is written)."""
    cart = []
    for entry in filter(None, (e.strip() for e in items.replace("\n", ",").split(","))):
        sku, colon, quantity = entry.rpartition(":")
        if not colon:
            sku, quantity = entry, "1"
        if not quantity.strip().isdigit():
            raise ValueError(f"items: {entry!r} is not SKU:quantity")
        cart.append(CartItem(sku=sku.strip(), quantity=int(quantity)))
    return cart


@router.post("/inbox/{conversation_id}/checkout-links")
def checkout_link(
    conversation_id: str,
    session: WriteSession,
    admin: Admin,
    csrf: Annotated[str, Form()],
    items: Annotated[str, Form()],
    coupon: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    comment_id: Annotated[str, Form()] = "",
):
    """A link to the shop's checkout with these items (and coupon) in the cart; to a
    comment's author as its private reply when a comment is named."""

    def act():
        data = CheckoutLinkCreate(
            items=_cart(items),
            coupon=coupon.strip() or None,
            text=text.strip() or None,
            author=_author(admin),
            comment_id=comment_id or None,
        )
        checkout_links.send_link(session, conversation_id, data)
        return "Checkout link queued."

    return _inbox_action(session, conversation_id, admin, csrf, act)


@router.post("/inbox/{conversation_id}/comments/{message_id}/replies")
def reply_to_comment(
    conversation_id: str,
    message_id: str,
    session: WriteSession,
    admin: Admin,
    csrf: Annotated[str, Form()],
    text: Annotated[str, Form()],
    private: Annotated[str, Form()] = "",
):
    """Answer a comment under it, or privately (once)."""

    def act():
        data = CommentReply(text=text.strip(), private=private == "on", author=_author(admin))
        comments.reply(session, message_id, data)
        return "Private reply queued." if data.private else "Public reply queued."

    return _inbox_action(session, conversation_id, admin, csrf, act)


@router.post("/inbox/{conversation_id}/comments/{message_id}/{action}")
def moderate_comment(
    conversation_id: str,
    message_id: str,
    action: comments.Moderation,
    sessions: SessionFactories,
    admin: Admin,
    csrf: Annotated[str, Form()],
):
    """Hide, show or delete a comment on the platform, at once."""
    service.check_csrf(admin, csrf)
    path = f"/admin/inbox/{conversation_id}"
    try:
        service.require(admin, "inbox:write")
        comments.moderate(sessions, message_id, action)
    except MercatoError as exc:
        return _back(path, error=_said(exc))
    done = {"hide": "Hidden.", "show": "Shown again.", "delete": "Deleted."}
    return _back(path, msg=done[action])


@router.post("/inbox/{conversation_id}/notes")
def add_note(
    conversation_id: str,
    session: WriteSession,
    admin: Admin,
    csrf: Annotated[str, Form()],
    text: Annotated[str, Form()],
):
    """An internal note: the team sees it in the thread, the person never does."""

    def act():
        notes.add(session, conversation_id, NoteCreate(text=text.strip(), author=_author(admin)))
        return "Note added."

    return _inbox_action(session, conversation_id, admin, csrf, act)


@router.post("/inbox/{conversation_id}/update")
def update_conversation(
    conversation_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    """Status, assignee (empty: nobody) or read, whichever the form posts."""

    def act():
        labels = None
        if "labels" in form:  # "vip, return": the conversation's labels, all of them
            labels = [x.strip() for x in str(form["labels"]).split(",") if x.strip()]
        data = ConversationUpdate(
            **{field: str(form[field]) for field in ("status", "assignee") if field in form},
            read=form.get("read") == "on" or None,
            labels=labels,
        )
        shown = conversations.update(session, conversation_id, data)
        if data.status:
            return f"Status: {shown.status}."
        if "assignee" in data.model_fields_set:
            return f"Assigned to {shown.assignee}." if shown.assignee else "Unassigned."
        if labels is not None:
            return "Labels: " + (", ".join(shown.labels) or "none") + "."
        return "Marked read."

    return _inbox_action(session, conversation_id, admin, str(form.get("csrf") or ""), act)


@router.post("/inbox/{conversation_id}/orders/{order_id}/refund")
def refund_from_thread(
    conversation_id: str, order_id: str, form: PostedForm, sessions: SessionFactories, admin: Admin
):
    """The order page's refund, asked from the conversation (orders:write, as there)."""
    return _refund(order_id, form, sessions, admin, back=f"/admin/inbox/{conversation_id}")


# ---------------------------------------------------------------- analytics


@router.get("/analytics")
def analytics(
    request: Request,
    session: ReadSession,
    admin: Admin,
    since: Annotated[str | None, Query(alias="from")] = None,
    until: Annotated[str | None, Query(alias="to")] = None,
    grain: str | None = None,
):
    """Revenue and orders by channel over days, weeks or months (the store's zone), the
    funnel, the attribution models side by side and the KPIs with their formulas."""
    asked = {"from": since or "", "to": until or "", "grain": grain or "day"}
    try:
        period, grain = dashboard.period_of(since, until, grain)
    except MercatoError as exc:
        return _page(request, "analytics.html", admin, http_status=400, asked=asked, problem=exc)
    view = dashboard.overview(session, period, grain, reports.currency(None))
    asked = {"from": str(period.start), "to": str(period.end), "grain": grain}
    try:
        clv = clv_runs.as_json(session, clv_runs.latest(session, view.currency), 0)
    except NotFound:
        clv = None
    return _page(
        request, "analytics.html", admin, asked=asked, clv=clv, **analytics_view.context(view)
    )


# ---------------------------------------------------------------- recommendations


@router.get("/recommendations")
def recommendations_page(request: Request, session: ReadSession, admin: Admin):
    """Each trained version's models scored on held-out orders beside the "own top-10"
    baseline, training on demand, and the merchant's rules."""
    rules = recommendation_rules.list_rules(session)
    tests = experiments.list_experiments(session)
    return _page(
        request,
        "recommendations.html",
        admin,
        versions=training.versions(session),
        rules=rules,
        titles=recommendation_rules.titles(session, rules),
        experiments=[experiments.results(session, e) for e in tests],
        strategies=recommendations.STRATEGIES,
        formulas=experiments.FORMULAS,
        product_sets=product_sets.list_sets(session),
        meta_channels={c.id: c.name for c in channels.list_channels(session) if c.kind == "meta"},
        segments={s.id: s.name for s in segments.list_segments(session)},
    )


@router.post("/recommendations/product-sets")
def add_product_set(form: PostedForm, session: WriteSession, admin: Admin):
    def add() -> str:
        data = ProductSetCreate(
            channel_id=str(form.get("channel_id") or ""),
            segment_id=str(form.get("segment_id") or ""),
            size=int(form.get("size") or 50),
        )
        made = product_sets.create(session, data)
        return f"Product set {made.name} added: the worker sends it to Meta next."

    csrf = str(form.get("csrf") or "")
    path = "/admin/recommendations"
    return _form_action(session, admin, csrf, "recommendations:write", path, add)


@router.post("/recommendations/product-sets/push")
def push_product_sets(session: WriteSession, admin: Admin, csrf: Annotated[str, Form()]):
    def push() -> str:
        product_sets.queue_push(session)
        return "Product sets queued: the worker sends what changed."

    path = "/admin/recommendations"
    return _form_action(session, admin, csrf, "recommendations:write", path, push)


@router.post("/recommendations/product-sets/{product_set_id}/delete")
def remove_product_set(
    product_set_id: str, session: WriteSession, admin: Admin, csrf: Annotated[str, Form()]
):
    def remove() -> str:
        product_sets.remove(session, product_set_id)
        return "Product set removed (and from Meta by the worker)."

    path = "/admin/recommendations"
    return _form_action(session, admin, csrf, "recommendations:write", path, remove)


@router.post("/recommendations/experiments")
def start_recommendation_experiment(form: PostedForm, session: WriteSession, admin: Admin):
    def start() -> str:
        data = ExperimentCreate(
            name=str(form.get("name") or ""),
            arm_a=str(form.get("arm_a") or ""),
            arm_b=str(form.get("arm_b") or ""),
            share_b=int(form.get("share_b") or 50),
        )
        experiments.start(session, data)
        return f"Experiment started: {data.name}."

    csrf = str(form.get("csrf") or "")
    path = "/admin/recommendations"
    return _form_action(session, admin, csrf, "recommendations:write", path, start)


@router.post("/recommendations/experiments/{experiment_id}/stop")
def stop_recommendation_experiment(
    experiment_id: str, session: WriteSession, admin: Admin, csrf: Annotated[str, Form()]
):
    def stop() -> str:
        return f"Experiment stopped: {experiments.stop(session, experiment_id).name}."

    path = "/admin/recommendations"
    return _form_action(session, admin, csrf, "recommendations:write", path, stop)


@router.post("/recommendations/train")
def train_recommendations(session: WriteSession, admin: Admin, csrf: Annotated[str, Form()]):
    service.check_csrf(admin, csrf)
    service.require(admin, "recommendations:write")
    training.queue(session)
    return _back("/admin/recommendations", msg="Training queued: the worker runs it next.")


@router.post("/recommendations/rules")
def add_recommendation_rule(form: PostedForm, session: WriteSession, admin: Admin):
    def add() -> str:
        product = catalog.get_product_by_handle(session, str(form.get("handle") or "").strip())
        data = RuleCreate(
            product_id=product.id,
            action=str(form.get("action") or ""),
            list=str(form.get("list") or ""),
            weight=float(form.get("weight") or 1),
        )
        recommendation_rules.add(session, data)
        return f"Rule added: {data.action} {product.title}."

    csrf = str(form.get("csrf") or "")
    path = "/admin/recommendations"
    return _form_action(session, admin, csrf, "recommendations:write", path, add)


@router.post("/recommendations/rules/{rule_id}/delete")
def remove_recommendation_rule(
    rule_id: str, session: WriteSession, admin: Admin, csrf: Annotated[str, Form()]
):
    service.check_csrf(admin, csrf)
    service.require(admin, "recommendations:write")
    recommendation_rules.remove(session, rule_id)
    return _back("/admin/recommendations", msg="Rule removed.")


# ---------------------------------------------------------------- mail


@router.get("/mail")
def mail_outbox(request: Request, session: ReadSession, admin: Admin):
    """Mail to buyers: sent, kept in the local outbox (no SMTP server), or failing."""
    return _page(
        request,
        "mail.html",
        admin,
        mails=mail.outbox(session),
        smtp=get_settings().smtp_host,
    )


@router.get("/mail/{mail_id}")
def mail_detail(request: Request, mail_id: str, session: ReadSession, admin: Admin):
    return _page(request, "mail_detail.html", admin, shown=mail.show(session, mail_id))


# ---------------------------------------------------------------- catalog


@router.get("/catalog")
def catalog_list(
    request: Request,
    session: ReadSession,
    admin: Admin,
    q: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
):
    page = catalog.list_products(
        session, catalog.ProductFilters(status=status or None, q=q or None), cursor=cursor, limit=50
    )
    shown = channels.list_channels(session) if admin.can("channels:read") else []
    names = {c.id: c.name for c in shown}
    kept_off = {
        p.id: sorted(names[c] for c in inclusion.excluded_of_product(session, p.id) if c in names)
        for p in page.items
    }
    return _page(
        request,
        "catalog.html",
        admin,
        page=page,
        q=q or "",
        status=status or "",
        channels=shown,
        kept_off=kept_off,
    )


@router.post("/catalog/bulk")
def catalog_bulk(form: PostedForm, session: WriteSession, admin: Admin):
    """The selected variants' prices changed by a percentage and/or their products' status,
    and/or the variants taken onto or kept off a channel: every one or none."""
    service.check_csrf(admin, str(form.get("csrf") or ""))
    percent = str(form.get("percent") or "").strip().replace(",", ".")
    variant_ids = [str(v) for v in form.getlist("variant_id")]
    channel_id = str(form.get("channel") or "")
    on_channel = str(form.get("inclusion") or "")
    said = []
    try:
        service.require(admin, "catalog:write")
        try:
            edit = BulkEdit(
                variant_ids,
                Decimal(percent) if percent else None,
                str(form.get("status") or "") or None,
            )
        except InvalidOperation:
            return _back("/admin/catalog", error=f"percent: {percent!r} is not a number")
        if channel_id or on_channel:
            service.require(admin, "channels:write")
            if not (channel_id and on_channel in ("include", "exclude")):
                return _back(
                    "/admin/catalog", error="channel: choose a channel and include or exclude"
                )
            done = inclusion.set_included(
                session, channel_id, on_channel == "include", variant_ids, actor=_actor(admin)
            )
            said.append(
                f"{done.selected} variant(s) "
                + ("taken onto " if done.included else "kept off ")
                + f"{done.channel.name} ({done.changed} changed); its next sync "
                + ("sends them." if done.included else "takes them down there.")
            )
        if edit.percent is not None or edit.status is not None or not said:
            said.insert(
                0, f"{edit_variants(session, edit)} variant(s) edited; every channel is told."
            )
    except MercatoError as exc:
        session.rollback()
        return _back("/admin/catalog", error=_said(exc))
    return _back("/admin/catalog", msg=" ".join(said))


def _product_page(request, session, admin, product_id: str, posted=None, refused=None):
    product = catalog.get_product(session, product_id)
    places, on_hand = editing.stock_shown(session, product)
    errors = {dotted(e.loc): e.message for e in refused.errors} if refused else {}
    return _page(
        request,
        "product.html",
        admin,
        product=product,
        posted=posted or {},
        errors=errors,
        locations=places,
        on_hand=on_hand,
        checks=check.check_product(session, product.id, [v.id for v in product.variants]),
        collections=catalog_collections.list_collections(session, limit=250).items,
        member_of=set(catalog_collections.of_products(session, [product.id])[product.id]),
        max_image_bytes=catalog_media.MAX_BYTES,
        error=refused.detail if refused else request.query_params.get("error"),
    )


@router.get("/catalog/{product_id}")
def product_detail(request: Request, product_id: str, session: ReadSession, admin: Admin):
    return _product_page(request, session, admin, product_id)


@router.post("/catalog/{product_id}")
def product_edit(
    request: Request, product_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    """The product page's form saved, or shown again with each refusal by its field and
    nothing changed; then the page checks the product against every channel again."""
    service.check_csrf(admin, str(form.get("csrf") or ""))
    try:
        _save_product_form(session, admin, product_id, form)
    except MercatoError as exc:
        session.rollback()
        page = _product_page(request, session, admin, product_id, dict(form), exc)
        page.status_code = exc.status
        return page
    return _back(f"/admin/catalog/{product_id}", msg="Saved; checked again on every channel.")


@router.post("/catalog/{product_id}/check")
def product_check(product_id: str, form: PostedForm, session: WriteSession, admin: Admin):
    """Validation as the merchant types: the form run through the very save of
    ``product_edit``, then rolled back; each refusal by its field (JSON)."""
    service.check_csrf(admin, str(form.get("csrf") or ""))
    errors: dict[str, str] = {}
    try:
        _save_product_form(session, admin, product_id, form)
    except MercatoError as exc:
        errors = {dotted(e.loc): e.message for e in exc.errors} or {"": exc.detail}
    finally:
        session.rollback()  # a check keeps nothing, whatever it found
    return JSONResponse({"errors": errors})


def _save_product_form(session, admin: AdminSession, product_id: str, form) -> None:
    """The product page's form through the API's save, with the rights it needs (stock
    counts changed need inventory:write too)."""
    service.require(admin, "catalog:write")
    product = catalog.get_product(session, product_id)
    edit = editing.read_form(form, product, editing.stock_shown(session, product)[1])
    if edit.stock:
        service.require(admin, "inventory:write")
    editing.save(session, product_id, edit, _actor(admin))


# ---------------------------------------------------------------- inventory


@router.get("/inventory")
def inventory_page(request: Request, session: ReadSession, admin: Admin, sku: str | None = None):
    if not sku:
        return _page(
            request,
            "inventory.html",
            admin,
            sku="",
            view=None,
            lowest=inventory.lowest_stock(session),
        )
    try:
        view = inventory.inventory_by_sku(session, sku.strip())
    except MercatoError as exc:
        return _page(
            request, "inventory.html", admin, sku=sku, view=None, lowest=[], error=exc.detail
        )
    return _page(
        request,
        "inventory.html",
        admin,
        sku=sku,
        view=view,
        holds=inventory.holds_of(session, view.variant_id),
        ledger=inventory.ledger_of(session, view.variant_id),
    )


# ---------------------------------------------------------------- channels


@router.get("/channels")
def channel_list(request: Request, session: ReadSession, admin: Admin):
    rows = [
        (channels.to_public(c), channels.verdict_counts(session, c.id))
        for c in channels.list_channels(session)
    ]
    return _page(request, "channels.html", admin, rows=rows)


@router.get("/channels/{channel_id}")
def channel_detail(
    request: Request,
    channel_id: str,
    session: ReadSession,
    admin: Admin,
    verdict: str | None = None,
    cursor: str | None = None,
    field: str | None = None,
    rule: str | None = None,
    after: str | None = None,
):
    """The channel's to-do list (every cause of rejections and warnings, with the items it
    concerns by title; one cause's items page by page) and its items."""
    channel = channels.get_channel(session, channel_id)
    return _channel_page(request, session, admin, channel, verdict, cursor, field, rule, after)


def _channel_page(
    request: Request,
    session,
    admin: AdminSession,
    channel,
    verdict: str | None = None,
    cursor: str | None = None,
    field: str | None = None,
    rule: str | None = None,
    after: str | None = None,
    **extra,
):
    page = channels.list_listings(
        session, channel.id, channels.ListingFilters(verdict=verdict or None), cursor, limit=50
    )
    listings = page.items
    if field is not None and rule is not None:
        items, next_after = channels.issue_page(session, channel.id, field, rule, after)
    else:
        items, next_after = None, None
    return _page(
        request,
        "channel.html",
        admin,
        channel=channels.to_public(channel),
        orders_note=orders_note(channel.kind),
        counts=channels.verdict_counts(session, channel.id),
        groups=channels.issue_groups(session, channel.id),
        cause_items=items,
        cause=(field, rule),
        next_after=next_after,
        listings=listings,
        next_cursor=page.next_cursor,
        verdict=verdict or "",
        named=channels.named_listings(session, listings),
        rules=feed_rules.rules_of(session, channel.id)[1],
        health=_health_chart(health.history(session, channel.id, utcnow())),
        rule_fields=RULE_FIELDS,
        read_fields=READ_FIELDS,
        **extra,
    )


def _health_chart(days) -> dict:
    """The channel's verdicts per day: a chart and the table beside it."""
    labels = [f"{d.day:%d %b}" for d in days]
    series = [(v, [getattr(d, v) for d in days]) for v in health.VERDICTS]
    chart = charts.stacked_columns(
        "Items by verdict, per day", labels, series, lambda n: f"{n:g}", "table-health", whole=True
    )
    return {"chart": chart, "days": days, "verdicts": health.VERDICTS}


def _rule_of(form) -> FeedRule:
    """One rule from the channel page's form: at most one condition, one action."""
    text = {k: str(form.get(k) or "").strip() for k in form}
    when = []
    if text.get("when_field") and text.get("when_op"):
        when.append(
            {
                "field": text["when_field"],
                "op": text["when_op"],
                "value": text.get("when_value") or None,
            }
        )
    then = {"action": text.get("action", ""), "field": text.get("field") or None}
    for key in ("value", "find", "template"):
        if text.get(key):
            then[key] = text[key]
    return FeedRule.model_validate({"name": text.get("name") or None, "when": when, "then": then})


@router.post("/channels/{channel_id}/feed-rules")
def add_feed_rule(
    request: Request, channel_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    """Preview a rule on the channel's items (nothing saved), or add it after the others."""
    service.check_csrf(admin, str(form.get("csrf") or ""))
    channel = channels.get_channel(session, channel_id)
    path = f"/admin/channels/{channel.id}"
    _, saved = feed_rules.rules_of(session, channel.id)
    try:
        proposed = [*saved, _rule_of(form)]
    except ValueError as exc:
        return _back(path, error=_refused(exc))
    if form.get("do") == "preview":
        service.require(admin, "channels:read")
        preview = check.preview_rules(
            session, channel.id, FeedPreviewRequest(rules=proposed, limit=50)
        )
        session.rollback()
        return _channel_page(request, session, admin, channel, preview=preview, asked=form)

    def add() -> str:
        feed_rules.save(session, channel.id, FeedRulesUpdate(rules=proposed), _actor(admin))
        return f"Rule {len(proposed)} added: the next publish sends what it changes."

    csrf = str(form.get("csrf") or "")
    return _form_action(session, admin, csrf, "channels:write", path, add)


@router.post("/channels/{channel_id}/feed-rules/{number}/delete")
def remove_feed_rule(
    channel_id: str,
    number: int,
    session: WriteSession,
    admin: Admin,
    csrf: Annotated[str, Form()],
):
    channel = channels.get_channel(session, channel_id)

    def remove() -> str:
        _, saved = feed_rules.rules_of(session, channel.id)
        if not 1 <= number <= len(saved):
            raise MercatoError(f"No rule {number}.")
        del saved[number - 1]
        feed_rules.save(session, channel.id, FeedRulesUpdate(rules=saved), _actor(admin))
        return f"Rule {number} removed."

    path = f"/admin/channels/{channel.id}"
    return _form_action(session, admin, csrf, "channels:write", path, remove)


# ---------------------------------------------------------------- webhooks


@router.get("/webhooks")
def webhook_list(request: Request, session: ReadSession, admin: Admin):
    return _page(request, "webhooks.html", admin, endpoints=webhooks.list_endpoints(session))


@router.get("/webhooks/{endpoint_id}")
def webhook_detail(
    request: Request, endpoint_id: str, session: ReadSession, admin: Admin, state: str | None = None
):
    endpoint = webhooks.get_endpoint(session, endpoint_id)
    deliveries = webhooks.list_deliveries(
        session, webhooks.DeliveryFilters(endpoint_id=endpoint.id, state=state or None), limit=50
    ).items
    return _page(
        request,
        "webhook.html",
        admin,
        endpoint=endpoint,
        deliveries=[(d, webhooks.list_attempts(session, d.id)) for d in deliveries],
        state=state or "",
    )


@router.post("/webhooks/{endpoint_id}/redeliver")
def redeliver(
    endpoint_id: str,
    session: WriteSession,
    admin: Admin,
    csrf: Annotated[str, Form()],
    event_id: Annotated[str, Form()],
):
    service.check_csrf(admin, csrf)
    path = f"/admin/webhooks/{endpoint_id}"
    try:
        service.require(admin, "webhooks:write")
        webhooks.redeliver(session, endpoint_id, Redeliver(event_id=event_id))
    except MercatoError as exc:
        session.rollback()
        return _back(path, error=exc.detail)
    return _back(path, msg=f"Event {event_id} queued for redelivery.")


def login_redirect(request: Request, _: LoginRequired) -> Response:
    return RedirectResponse("/admin/login", status_code=303)
