"""WhatsApp Cloud API simulator: send messages, read message templates, and webhooks back
(docs/platforms/whatsapp.md).

Like Meta:
- every call names a Graph version (the Meta simulator's table) and carries a Bearer token;
  a bad token is OAuthException 190, an unknown phone number id error 100 subcode 33;
- a message body is checked against the documented shape of its type: an unknown field
  is refused (100), a missing one (131008), a value out of its limits (131009);
- free-form messages (everything but templates) need the customer service window: a
  message from that customer in the last 24 hours, else 131047;
- a template must exist in the language asked and be APPROVED (132001; paused 132015,
  disabled 132016);
- products must be in the catalog (tests seed it); unknown ones are 131009;
- a file a customer sent is retrieved by its media id (``GET /<ver>/<media id>``, for 7
  days after it was sent) as a download URL that needs the token and lasts 5 minutes;
- errors are Graph errors ``{"error": {message, type, code, error_subcode?, error_data:
  {messaging_product, details}, fbtrace_id}}``.

Test controls under ``/_sandbox``: faults (429, 500, expired_token), templates, catalogs,
the clock, inbound messages (which open the window) and statuses, signed with the app
secret and posted to the webhook URL; every accepted message is kept (``/messages``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from mercato.channels.meta.webhooks import SIGNATURE_HEADER, signature
from mercato.db import new_id
from mercato.sandbox.common import Simulator, control_router
from mercato.sandbox.meta import VERSIONS

# The business the simulator plays (ids from Meta's webhook reference samples).
WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE_NUMBER = "15550783881"
ACCESS_TOKEN = "wa-token"
APP_SECRET = "wa-app-secret"
WINDOW = timedelta(hours=24)
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_ID_LIFETIME = timedelta(days=7)  # media ids in webhooks
READ_WITHIN = timedelta(days=30)  # read receipts for messages received since
MEDIA_URL_LIFETIME = timedelta(minutes=5)

TEXT_BODY_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
FOOTER_MAX = 60
HEADER_TEXT_MAX = 60
SECTION_TITLE_MAX = 24
SECTIONS_MAX = 10
PRODUCTS_MAX = 30
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
LIST_ROWS_MAX = 10
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
TEMPLATE_STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")
TEMPLATE_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")

# Body shapes: key -> (required, kind); kind is a type, a nested shape (dict) or a list
# of one shape. Limits and conditional rules are checked after the shape.
REQ, OPT = True, False
_TEXT_OBJ = {"text": (REQ, str)}
_MEDIA = {"id": (OPT, str), "link": (OPT, str), "caption": (OPT, str)}
_SHAPES: dict[str, dict] = {
    "text": {"body": (REQ, str), "preview_url": (OPT, bool)},
    "template": {
        "name": (REQ, str),
        "language": (REQ, {"code": (REQ, str), "policy": (OPT, str)}),
        "components": (OPT, list),
    },
    "image": _MEDIA,
    "video": _MEDIA,
    "document": {**_MEDIA, "filename": (OPT, str)},
    "audio": {"id": (OPT, str), "link": (OPT, str)},
    "sticker": {"id": (OPT, str), "link": (OPT, str)},
    "reaction": {"message_id": (REQ, str), "emoji": (REQ, str)},
    "location": {
        "latitude": (REQ, (int, float)),
        "longitude": (REQ, (int, float)),
        "name": (OPT, str),
        "address": (OPT, str),
    },
    "interactive": {
        "type": (REQ, str),
        "header": (OPT, {"type": (REQ, str), "text": (OPT, str)}),
        "body": (OPT, _TEXT_OBJ),
        "footer": (OPT, _TEXT_OBJ),
        "action": (REQ, dict),
    },
}
_ACTIONS: dict[str, dict] = {
    "product": {"catalog_id": (REQ, str), "product_retailer_id": (REQ, str)},
    "product_list": {
        "catalog_id": (REQ, str),
        "sections": (
            REQ,
            [{"title": (OPT, str), "product_items": (REQ, [{"product_retailer_id": (REQ, str)}])}],
        ),
    },
    "button": {
        "buttons": (
            REQ,
            [{"type": (REQ, str), "reply": (REQ, {"id": (REQ, str), "title": (REQ, str)})}],
        )
    },
    "list": {
        "button": (REQ, str),
        "sections": (
            REQ,
            [
                {
                    "title": (OPT, str),
                    "rows": (
                        REQ,
                        [{"id": (REQ, str), "title": (REQ, str), "description": (OPT, str)}],
                    ),
                }
            ],
        ),
    },
}
_TOP = {
    "messaging_product": (REQ, str),
    "recipient_type": (OPT, str),
    "to": (REQ, str),
    "type": (OPT, str),
    "context": (OPT, {"message_id": (REQ, str)}),
}


class Refused(Exception):
    """A Graph error to answer with."""

    def __init__(self, status: int, code: int, message: str, details: str | None = None, **more):
        super().__init__(message)
        self.status, self.code, self.details, self.more = status, code, details, more

    def response(self) -> JSONResponse:
        more = dict(self.more)
        error: dict[str, Any] = {
            "message": str(self),
            "type": more.pop("type_", "OAuthException"),
            "code": self.code,
            **more,
        }
        if self.details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        error["fbtrace_id"] = new_id("fbt")
        headers = {}
        if "retry_after" in error:
            headers["Retry-After"] = str(error.pop("retry_after"))
        return JSONResponse({"error": error}, status_code=self.status, headers=headers)


WINDOW_CLOSED = 131047
WINDOW_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)


def _invalid(details: str) -> Refused:
    return Refused(400, 131009, "(#131009) Parameter value is not valid", details)


def _shape(value: Any, shape: Any, path: str) -> None:
    """Raise Refused for the first key the shape does not know, lacks or mistypes."""
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise _invalid(f"Param {path} must be an array")
        for n, item in enumerate(value):
            _shape(item, shape[0], f"{path}[{n}]")
        return
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            raise _invalid(f"Param {path} must be an object")
        for key in value:
            if key not in shape:
                raise Refused(
                    400,
                    100,
                    "(#100) Invalid parameter",
                    f'Unexpected key "{key}" on param "{path}".',
                )
        for key, (required, kind) in shape.items():
            if key in value:
                _shape(value[key], kind, f"{path}['{key}']" if path else key)
            elif required:
                where = f"{path}['{key}']" if path else key
                raise Refused(
                    400,
                    131008,
                    "(#131008) Required parameter is missing",
                    f"Parameter {where} is required.",
                )
        return
    if shape is list or shape is dict:
        if not isinstance(value, shape):
            raise _invalid(f"Param {path} has the wrong type")
        return
    if isinstance(value, bool) and shape is not bool:
        raise _invalid(f"Param {path} has the wrong type")
    if not isinstance(value, shape) or (shape is str and not value.strip()):
        raise _invalid(f"Param {path} is not valid")


def _longest(text: str | None, most: int, path: str) -> None:
    if text is not None and len(text) > most:
        raise _invalid(f"Param {path} must be at most {most} characters long")


class WhatsAppSim(Simulator):
    def __init__(self):
        super().__init__()
        self.tokens = {ACCESS_TOKEN}
        self.phone_numbers = {PHONE_NUMBER_ID: DISPLAY_PHONE_NUMBER}
        # (name, language) -> template as the Business Management API lists it.
        self.templates: dict[tuple[str, str], dict] = {}
        self.catalogs: dict[str, set[str]] = {}
        self.last_inbound: dict[str, datetime] = {}
        self.clock: datetime | None = None
        self.sent: list[dict] = []
        self.webhook_url: str | None = None
        self.app_secret = APP_SECRET
        self.transport = _post
        self.deliveries: list[int] = []
        # "sync": 131047 in the answer; "async": accepted, then a failed status webhook.
        self.window_refusal = "sync"
        # Files customers sent: media id -> {content, mime_type, sha256, at, phone_number_id}.
        self.media: dict[str, dict] = {}
        # Messages customers sent (wamid -> when), and those the business marked read.
        self.received: dict[str, datetime] = {}
        self.read_marks: list[str] = []

    def now(self) -> datetime:
        return self.clock or datetime.now(UTC)

    def window_open(self, wa_id: str) -> bool:
        last = self.last_inbound.get(wa_id)
        return last is not None and self.now() - last < WINDOW

    # ------------------------------------------------------------ received files

    def keep_media(self, media: MediaIn) -> dict:
        """Store a file a customer sends; the media object its message carries."""
        content = base64.b64decode(media.data)
        media_id = str(10**15 + secrets.randbelow(10**15))
        digest = hashlib.sha256(content).hexdigest()
        with self.lock:
            self.media[media_id] = {
                "content": content,
                "mime_type": media.mime_type,
                "sha256": digest,
                "at": self.now(),
                "phone_number_id": PHONE_NUMBER_ID,
            }
        shown = {"id": media_id, "mime_type": media.mime_type, "sha256": digest}
        if media.caption is not None:
            shown["caption"] = media.caption
        if media.filename is not None:
            shown["filename"] = media.filename
        return shown

    def media_hash(self, media_id: str, expires: int) -> str:
        return hmac.new(b"sandbox-media", f"{media_id}.{expires}".encode(), "sha256").hexdigest()

    # ------------------------------------------------------------ sending

    def mark_read(self, body: dict) -> dict:
        """A read receipt: a message a customer sent within the last 30 days, else 131009
        (docs/platforms/whatsapp.md "Read receipts")."""
        if set(body) != {"messaging_product", "status", "message_id"} or body["status"] != "read":
            raise _invalid("A read receipt is messaging_product, status read and message_id")
        with self.lock:
            at = self.received.get(body["message_id"])
            if at is None or self.now() - at > READ_WITHIN:
                raise Refused(
                    400, 131009, "(#131009) Parameter value is not valid", "Invalid message_id"
                )
            self.read_marks.append(body["message_id"])
        return {"success": True}

    def accept(self, phone_number_id: str, body: Any) -> dict:
        if not isinstance(body, dict):
            raise _invalid("The request body must be a JSON object")
        if "status" in body:
            return self.mark_read(body)
        _shape({k: v for k, v in body.items() if k not in _SHAPES}, _TOP, "")
        if body["messaging_product"] != "whatsapp":
            raise _invalid("Param messaging_product must be whatsapp")
        if body.get("recipient_type", "individual") != "individual":
            raise _invalid("Param recipient_type must be individual")
        kind = body.get("type", "text")
        if kind not in _SHAPES:
            raise Refused(400, 100, "(#100) Invalid parameter", f"Param type {kind!r} is not valid")
        others = [k for k in _SHAPES if k in body and k != kind]
        if others:
            raise Refused(
                400, 100, "(#100) Invalid parameter", f'Unexpected key "{others[0]}" on param "".'
            )
        if kind not in body:
            raise Refused(
                400,
                131008,
                "(#131008) Required parameter is missing",
                f"Parameter {kind} is required.",
            )
        _shape(body[kind], _SHAPES[kind], kind)
        getattr(self, f"_check_{kind}", lambda _: None)(body[kind])
        to = body["to"].removeprefix("+")
        late = False
        with self.lock:
            if kind == "template":
                self._template_usable(body["template"])
            elif not self.window_open(to):
                if self.window_refusal == "sync":
                    raise Refused(
                        400, WINDOW_CLOSED, "(#131047) Re-engagement message", WINDOW_DETAILS
                    )
                late = True
            if kind == "interactive":
                self._products_known(body["interactive"])
            wamid = "wamid." + base64.b64encode(secrets.token_bytes(30)).decode()
            self.sent.append(
                {
                    "id": wamid,
                    "phone_number_id": phone_number_id,
                    "to": to,
                    "type": kind,
                    "body": body,
                    "at": self.now().isoformat(),
                    "failed": WINDOW_CLOSED if late else None,
                }
            )
        if late:
            # Accepted, then reported failed by webhook: Meta documents both ways.
            error = graph_error(WINDOW_CLOSED, "Re-engagement message", WINDOW_DETAILS)
            self.post(
                notification(
                    status_value(
                        wamid,
                        to,
                        "failed",
                        at=self.now(),
                        errors=[error],
                        phone_number_id=phone_number_id,
                    )
                )
            )
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": to}],
            "messages": [{"id": wamid}],
        }

    def _check_text(self, text: dict) -> None:
        _longest(text["body"], TEXT_BODY_MAX, "text['body']")

    def _check_image(self, media: dict) -> None:
        if not media.get("id") and not media.get("link"):
            raise Refused(400, 131008, "(#131008) Required parameter is missing", "id or link")

    _check_video = _check_document = _check_audio = _check_sticker = _check_image

    def _check_interactive(self, interactive: dict) -> None:
        kind = interactive["type"]
        if kind not in _ACTIONS:
            raise _invalid(f"Param interactive['type'] {kind!r} is not valid")
        _shape(interactive["action"], _ACTIONS[kind], "interactive['action']")
        body = interactive.get("body", {}).get("text")
        if kind != "product" and body is None:
            raise Refused(
                400,
                131008,
                "(#131008) Required parameter is missing",
                "Parameter interactive['body'] is required.",
            )
        _longest(body, INTERACTIVE_BODY_MAX, "interactive['body']['text']")
        _longest(
            interactive.get("footer", {}).get("text"), FOOTER_MAX, "interactive['footer']['text']"
        )
        header = interactive.get("header")
        if header is not None:
            if header["type"] != "text" or "text" not in header:
                raise _invalid("Param interactive['header'] must be a text header")
            _longest(header["text"], HEADER_TEXT_MAX, "interactive['header']['text']")
        action = interactive["action"]
        if kind == "product_list":
            if header is None:
                raise Refused(
                    400,
                    131008,
                    "(#131008) Required parameter is missing",
                    "Parameter interactive['header'] is required.",
                )
            self._sections(action["sections"], "product_items", PRODUCTS_MAX)
        elif kind == "list":
            self._sections(action["sections"], "rows", LIST_ROWS_MAX)
            _longest(action["button"], BUTTON_TITLE_MAX, "interactive['action']['button']")
            for n, section in enumerate(action["sections"]):
                for r, row in enumerate(section["rows"]):
                    _longest(row["title"], ROW_TITLE_MAX, f"sections[{n}]['rows'][{r}]['title']")
                    _longest(
                        row.get("description"),
                        ROW_DESCRIPTION_MAX,
                        f"sections[{n}]['rows'][{r}]['description']",
                    )
        elif kind == "button":
            if not 1 <= len(action["buttons"]) <= BUTTONS_MAX:
                raise _invalid(
                    f"Param interactive['action']['buttons'] holds 1 to {BUTTONS_MAX} buttons"
                )
            for n, button in enumerate(action["buttons"]):
                _longest(button["reply"]["title"], BUTTON_TITLE_MAX, f"buttons[{n}]['title']")

    @staticmethod
    def _sections(sections: list[dict], items: str, most: int) -> None:
        if not 1 <= len(sections) <= SECTIONS_MAX:
            raise _invalid(f"Param interactive['action']['sections'] holds 1 to {SECTIONS_MAX}")
        if sum(len(s[items]) for s in sections) > most:
            raise _invalid(f"At most {most} {items} in all sections")
        for n, section in enumerate(sections):
            if not section[items]:
                raise _invalid(f"Param sections[{n}]['{items}'] is empty")
            if len(sections) > 1 and "title" not in section:
                raise Refused(
                    400,
                    131008,
                    "(#131008) Required parameter is missing",
                    f"Parameter sections[{n}]['title'] is required with several sections.",
                )
            _longest(section.get("title"), SECTION_TITLE_MAX, f"sections[{n}]['title']")

    def _template_usable(self, template: dict) -> None:
        name, language = template["name"], template["language"]["code"]
        found = self.templates.get((name, language))
        if found is not None and found["status"] == "PAUSED":
            raise Refused(400, 132015, "(#132015) Template is Paused", f"{name} ({language})")
        if found is not None and found["status"] == "DISABLED":
            raise Refused(400, 132016, "(#132016) Template is disabled", f"{name} ({language})")
        if found is None or found["status"] != "APPROVED":
            raise Refused(
                404,
                132001,
                "(#132001) Template name does not exist in the translation",
                f"template name ({name}) does not exist in {language}",
            )
        for part in ("header", "body"):
            text = next(
                (c.get("text") or "" for c in found["components"] if c.get("type") == part.upper()),
                "",
            )
            expected = len(set(PLACEHOLDER.findall(text)))
            given = next(
                (
                    c.get("parameters") or []
                    for c in template.get("components") or []
                    if str(c.get("type", "")).lower() == part
                ),
                [],
            )
            if len(given) != expected:
                raise Refused(
                    400,
                    132000,
                    "(#132000) Number of parameters does not match the expected number of params",
                    f"{part}: number of localizable_params ({len(given)}) does not match the "
                    f"expected number of params ({expected})",
                )

    def _products_known(self, interactive: dict) -> None:
        action = interactive["action"]
        if "catalog_id" not in action:
            return
        catalog = self.catalogs.get(action["catalog_id"])
        if catalog is None:
            raise _invalid(f"Catalog {action['catalog_id']} is not linked to this account")
        wanted = (
            [action["product_retailer_id"]]
            if "product_retailer_id" in action
            else [
                item["product_retailer_id"]
                for section in action["sections"]
                for item in section["product_items"]
            ]
        )
        missing = [rid for rid in wanted if rid not in catalog]
        if missing:
            raise _invalid(f"Products not found in catalog: {', '.join(missing)}")

    # ------------------------------------------------------------ webhooks back

    def post(self, payload: dict, duplicates: int = 0) -> list[int]:
        """Sign and post one notification to the webhook URL (1 + duplicates times)."""
        raw = orjson.dumps(payload)
        headers = {
            SIGNATURE_HEADER: signature(self.app_secret, raw),
            "content-type": "application/json",
        }
        codes = []
        if self.webhook_url:
            for _ in range(1 + duplicates):
                codes.append(self.transport(self.webhook_url, raw, headers))
        self.deliveries += codes
        return codes


def _post(url: str, content: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url, content=content, headers=headers, timeout=10).status_code


# ---------------------------------------------------------------- payload builders


def wamid() -> str:
    return "wamid." + base64.b64encode(secrets.token_bytes(30)).decode()


def notification(*values: dict, waba_id: str = WABA_ID) -> dict:
    """One webhook body; several values are batched as separate entries, as Meta may."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": v, "field": "messages"}]} for v in values],
    }


def _value(phone_number_id: str) -> dict:
    return {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": DISPLAY_PHONE_NUMBER,
            "phone_number_id": phone_number_id,
        },
    }


def message_value(
    wa_id: str,
    message: dict,
    *,
    name: str | None = None,
    message_id: str | None = None,
    at: datetime | None = None,
    context_id: str | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict:
    """The ``value`` of an inbound message: ``message`` holds its ``type`` and the object
    named by it, e.g. ``{"type": "text", "text": {"body": "Hi"}}``."""
    shaped = {
        "from": wa_id,
        "id": message_id or wamid(),
        "timestamp": str(int((at or datetime.now(UTC)).timestamp())),
        **message,
    }
    if context_id:
        shaped["context"] = {"from": DISPLAY_PHONE_NUMBER, "id": context_id}
    value = _value(phone_number_id)
    value["contacts"] = [{"profile": {"name": name or wa_id}, "wa_id": wa_id}]
    value["messages"] = [shaped]
    return value


def text_message(wa_id: str, body: str, **kwargs) -> dict:
    return notification(message_value(wa_id, {"type": "text", "text": {"body": body}}, **kwargs))


def order_message(
    wa_id: str, catalog_id: str, items: list[dict], text: str | None = None, **kwargs
) -> dict:
    """A cart sent from a product message: items hold product_retailer_id, quantity,
    item_price and currency."""
    order: dict = {"catalog_id": catalog_id, "product_items": items}
    if text:
        order["text"] = text
    return notification(message_value(wa_id, {"type": "order", "order": order}, **kwargs))


def status_value(
    message_id: str,
    recipient_id: str,
    status: str,
    *,
    at: datetime | None = None,
    errors: list[dict] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict:
    shaped: dict = {
        "id": message_id,
        "status": status,
        "timestamp": str(int((at or datetime.now(UTC)).timestamp())),
        "recipient_id": recipient_id,
    }
    if errors:
        shaped["errors"] = errors
    value = _value(phone_number_id)
    value["statuses"] = [shaped]
    return value


def graph_error(code: int, title: str, details: str) -> dict:
    """An entry of a failed status's ``errors``."""
    return {"code": code, "title": title, "message": title, "error_data": {"details": details}}


# ---------------------------------------------------------------- app


class TemplateIn(BaseModel):
    name: str
    language: str
    status: str = "APPROVED"
    category: str = "UTILITY"
    # As Meta lists them: [{"type": "BODY", "text": "Hi {{1}}, ..."}, ...]
    components: list[dict] = []


class CatalogIn(BaseModel):
    retailer_ids: list[str]


class ClockIn(BaseModel):
    now: datetime | None = None
    advance_hours: float = 0.0


class SettingsIn(BaseModel):
    window_refusal: str = "sync"


class WebhookIn(BaseModel):
    url: str | None
    app_secret: str = APP_SECRET


class InboundIn(BaseModel):
    wa_id: str
    name: str | None = None
    text: str | None = None
    order: dict | None = None
    media: MediaIn | None = None
    message: dict | None = None  # any other documented message object, with its "type"
    context_id: str | None = None
    duplicates: int = 0


class MediaIn(BaseModel):
    """A file the customer sends (base64), as a message of ``type``."""

    type: str = "image"  # image, video, audio, document or sticker
    mime_type: str = "image/png"
    data: str
    caption: str | None = None
    filename: str | None = None


class StatusesIn(BaseModel):
    message_id: str
    statuses: list[str] = ["sent", "delivered", "read"]
    reverse: bool = False
    error: dict | None = None  # a failed status's error entry
    duplicates: int = 0


def create_app() -> FastAPI:
    app = FastAPI(title="WhatsApp Cloud API (simulator)")
    sim = WhatsAppSim()
    app.state.sim = sim
    app.include_router(controls(sim))
    app.include_router(control_router(sim))

    def turned_away(version: str, request: Request) -> Refused | None:
        kind = sim.request_fault()
        if kind == "expired_token":
            return Refused(
                401, 190, "Error validating access token: Session has expired.", error_subcode=463
            )
        if kind == "429":
            return Refused(
                429,
                130429,
                "(#130429) Rate limit hit",
                "Cloud API message throughput has been reached.",
                retry_after=sim.retry_after,
            )
        if kind == "500":
            return Refused(500, 131000, "(#131000) Something went wrong", "Unknown error")
        if version not in VERSIONS:
            return Refused(400, 2500, f"Unknown path components: /{version}")
        ends = VERSIONS[version]
        if ends is not None and sim.now().date() >= ends:
            return Refused(400, 2635, f"(#2635) You are calling a deprecated version {version}.")
        auth = request.headers.get("authorization") or ""
        if not auth:
            return Refused(400, 104, "An access token is required to request this resource.")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in sim.tokens:
            return Refused(401, 190, "Invalid OAuth access token - Cannot parse access token")
        return None

    @app.post("/{version}/{phone_number_id}/messages")
    async def messages(version: str, phone_number_id: str, request: Request):
        if (refused := turned_away(version, request)) is not None:
            return refused.response()
        if phone_number_id not in sim.phone_numbers:
            return Refused(
                400,
                100,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation.",
                error_subcode=33,
                type_="GraphMethodException",
            ).response()
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _invalid("The request body is not JSON").response()
        try:
            return sim.accept(phone_number_id, body)
        except Refused as refused:
            return refused.response()

    @app.get("/{version}/{media_id}")
    def media_url(version: str, media_id: str, request: Request, phone_number_id: str = ""):
        if (refused := turned_away(version, request)) is not None:
            return refused.response()
        with sim.lock:
            media = sim.media.get(media_id)
            now = sim.now()
        gone = media is None or now - media["at"] > MEDIA_ID_LIFETIME
        if gone or phone_number_id not in ("", media["phone_number_id"]):
            return Refused(
                400,
                100,
                f"Unsupported get request. Object with ID '{media_id}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation.",
                error_subcode=33,
                type_="GraphMethodException",
            ).response()
        expires = int((now + MEDIA_URL_LIFETIME).timestamp())
        url = request.url_for("download_media").include_query_params(
            mid=media_id, ext=expires, hash=sim.media_hash(media_id, expires)
        )
        return {
            "messaging_product": "whatsapp",
            "url": str(url),
            "mime_type": media["mime_type"],
            "sha256": media["sha256"],
            "file_size": len(media["content"]),
            "id": media_id,
        }

    @app.get("/whatsapp_business/attachments/", name="download_media")
    def download_media(request: Request, mid: str = "", ext: int = 0, hash: str = ""):
        auth = request.headers.get("authorization") or ""
        if auth.removeprefix("Bearer ") not in sim.tokens:
            return Refused(
                401, 190, "Invalid OAuth access token - Cannot parse access token"
            ).response()
        with sim.lock:
            media = sim.media.get(mid)
            now = sim.now()
        signed = hmac.compare_digest(hash, sim.media_hash(mid, ext))
        if media is None or not signed or now.timestamp() > ext:
            return Response(status_code=404)
        return Response(media["content"], media_type=media["mime_type"])

    @app.get("/{version}/{waba_id}/message_templates")
    def message_templates(
        version: str,
        waba_id: str,
        request: Request,
        fields: str = "",
        limit: int = 25,
        after: str | None = None,
    ):
        if (refused := turned_away(version, request)) is not None:
            return refused.response()
        if waba_id != WABA_ID:
            return Refused(
                400,
                100,
                f"Unsupported get request. Object with ID '{waba_id}' does not exist.",
                error_subcode=33,
                type_="GraphMethodException",
            ).response()
        known = ("id", "name", "language", "status", "category", "components", "parameter_format")
        wanted = [f for f in fields.split(",") if f] or [
            "name",
            "language",
            "status",
            "category",
            "id",
        ]
        unknown = [f for f in wanted if f not in known]
        if unknown:
            return Refused(
                400, 100, f"(#100) Tried accessing nonexisting field ({unknown[0]})"
            ).response()
        with sim.lock:
            listed = sorted(sim.templates.values(), key=lambda t: t["id"])
        start = next((n + 1 for n, t in enumerate(listed) if t["id"] == after), 0)
        page = listed[start : start + max(1, limit)]
        data = [{k: t.get(k) for k in ["id", *wanted] if k in t} for t in page]
        paging: dict = {}
        if page:
            paging["cursors"] = {"before": page[0]["id"], "after": page[-1]["id"]}
            if start + len(page) < len(listed):
                paging["next"] = str(request.url.include_query_params(after=page[-1]["id"]))
        return {"data": data, "paging": paging}

    return app


def controls(sim: WhatsAppSim) -> APIRouter:
    router = APIRouter(prefix="/_sandbox", tags=["sandbox control"])

    @router.post("/templates")
    def add_template(template: TemplateIn):
        if template.status not in TEMPLATE_STATUSES or template.category not in TEMPLATE_CATEGORIES:
            return JSONResponse({"error": "unknown status or category"}, status_code=400)
        with sim.lock:
            key = (template.name, template.language)
            known = sim.templates.get(key)
            sim.templates[key] = {
                "id": known["id"] if known else str(10**15 + len(sim.templates)),
                **template.model_dump(),
            }
            return sim.templates[key]

    @router.put("/catalogs/{catalog_id}")
    def put_catalog(catalog_id: str, catalog: CatalogIn):
        with sim.lock:
            sim.catalogs[catalog_id] = set(catalog.retailer_ids)
        return {"catalog_id": catalog_id, "retailer_ids": sorted(catalog.retailer_ids)}

    @router.put("/clock")
    def set_clock(clock: ClockIn):
        with sim.lock:
            sim.clock = (clock.now or sim.now()) + timedelta(hours=clock.advance_hours)
            return {"now": sim.clock.isoformat()}

    @router.put("/settings")
    def settings(data: SettingsIn):
        if data.window_refusal not in ("sync", "async"):
            return JSONResponse({"error": "window_refusal is sync or async"}, status_code=400)
        sim.window_refusal = data.window_refusal
        return data.model_dump()

    @router.put("/webhook")
    def set_webhook(hook: WebhookIn):
        sim.webhook_url, sim.app_secret = hook.url, hook.app_secret
        return {"url": sim.webhook_url}

    @router.post("/inbound")
    def inbound(data: InboundIn):
        """A customer writes: the window opens now, and the message is posted signed."""
        if data.text is not None:
            message = {"type": "text", "text": {"body": data.text}}
        elif data.order is not None:
            message = {"type": "order", "order": data.order}
        elif data.media is not None:
            message = {"type": data.media.type, data.media.type: sim.keep_media(data.media)}
        elif data.message is not None and isinstance(data.message.get("type"), str):
            message = data.message
        else:
            return JSONResponse({"error": "text, order or message is required"}, status_code=400)
        with sim.lock:
            now = sim.now()
            sim.last_inbound[data.wa_id] = now
        payload = notification(
            message_value(data.wa_id, message, name=data.name, at=now, context_id=data.context_id)
        )
        with sim.lock:
            sim.received[payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]] = now
        return {"payload": payload, "deliveries": sim.post(payload, data.duplicates)}

    @router.post("/statuses")
    def statuses(data: StatusesIn):
        """Statuses of a message we accepted, one notification each, in order or reversed."""
        with sim.lock:
            sent = next((m for m in sim.sent if m["id"] == data.message_id), None)
            now = sim.now()
        if sent is None:
            return JSONResponse({"error": "no such message"}, status_code=404)
        payloads = [
            notification(
                status_value(
                    data.message_id,
                    sent["to"],
                    status,
                    at=now + timedelta(seconds=n),
                    errors=[data.error] if status == "failed" and data.error else None,
                    phone_number_id=sent["phone_number_id"],
                )
            )
            for n, status in enumerate(data.statuses)
        ]
        if data.reverse:
            payloads.reverse()
        return {
            "payloads": payloads,
            "deliveries": [c for p in payloads for c in sim.post(p, data.duplicates)],
        }

    @router.get("/messages")
    def sent_messages():
        with sim.lock:
            return {"messages": list(sim.sent), "read": list(sim.read_marks)}

    return router
