"""Messenger and Instagram simulator: one Facebook Page and the Instagram professional
account linked to it (docs/platforms/messenger.md). Mounted at ``/messenger``.

Like Meta:
- every call names a Graph version (the Meta simulator's table) and carries the Page's
  Bearer token (OAuthException 190 otherwise); an unknown object is error 100 subcode 33;
- sends go through ``POST /<ver>/<PAGE_ID>/messages``: ``recipient`` is a person's id
  (Page-scoped on Messenger, Instagram-scoped on Instagram) or a ``comment_id``; unknown
  keys are refused (100); text is at most 2,000 characters on Messenger and 1,000 bytes on
  Instagram; a generic template holds 1 to 10 elements, titles and subtitles of at most
  80 characters and at most 3 buttons;
- a RESPONSE needs the person's message within 24 hours; MESSAGE_TAG with HUMAN_AGENT
  within 7 days, and only for an app granted that permission; otherwise error 10 subcode
  2018278;
- a comment gets one private reply, within 7 days of being written (error 10 subcode
  2534014 for a second one);
- comments are answered on ``/<comment>/replies`` (Instagram) or ``/<comment>/comments``
  (Page), hidden with ``hide`` (Instagram) or ``is_hidden`` (Page), deleted with DELETE.

Test controls under ``/_sandbox``: webhook URLs per platform, the clock, the Human Agent
permission, echoes, people writing, commenting and reading, all posted signed with the
app secret; every accepted message and comment change is kept.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mercato.channels.meta.webhooks import SIGNATURE_HEADER, signature
from mercato.sandbox.common import Simulator, control_router
from mercato.sandbox.meta import VERSIONS

PAGE_ID = "104582615230218"
INSTAGRAM_ID = "17841405822304914"
ACCESS_TOKEN = "page-token"
APP_SECRET = "messenger-app-secret"
WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)
TEXT_MAX = {"messenger": 2000, "instagram": 1000}
CARDS_MAX, CARD_TEXT_MAX, BUTTONS_MAX = 10, 80, 3
QUICK_REPLIES_MAX = 13
OUTSIDE_WINDOW = 2018278
PRIVATE_REPLY_USED = 2534014
OBJECT = {"messenger": "page", "instagram": "instagram"}
ACCOUNT = {"messenger": PAGE_ID, "instagram": INSTAGRAM_ID}
Platform = Literal["messenger", "instagram"]


class Refused(Exception):
    def __init__(self, status: int, code: int, message: str, subcode: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.subcode = status, code, message, subcode

    def response(self) -> JSONResponse:
        error: dict[str, Any] = {
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": "A" + secrets.token_hex(8),
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return JSONResponse({"error": error}, status_code=self.status)


def _invalid(message: str) -> Refused:
    return Refused(400, 100, f"(#100) {message}")


def _post(url: str, content: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url, content=content, headers=headers, timeout=10).status_code


class MessengerSim(Simulator):
    def __init__(self):
        super().__init__()
        self.tokens = {ACCESS_TOKEN}
        self.app_secret = APP_SECRET
        self.clock: datetime | None = None
        self.human_agent = True
        self.echoes = False
        self.webhooks: dict[str, str | None] = {"messenger": None, "instagram": None}
        # person id -> (platform, when they last wrote)
        self.people: dict[str, tuple[str, datetime]] = {}
        # comment id -> {platform, from, text, at, hidden, deleted, private_reply, replies}
        self.comments: dict[str, dict] = {}
        self.sent: list[dict] = []
        self.actions: list[dict] = []  # sender actions (mark_seen, typing_on/off) taken
        self.transport = _post
        self.deliveries: list[int] = []

    def now(self) -> datetime:
        return self.clock or datetime.now(UTC)

    # ------------------------------------------------------------ sending

    def accept(self, body: Any) -> dict:
        if not isinstance(body, dict):
            raise _invalid("The request body must be a JSON object")
        if "sender_action" in body:
            return self.sender_action(body)
        unknown = set(body) - {"recipient", "messaging_type", "tag", "message", "notification_type"}
        if unknown:
            raise _invalid(f"Param {sorted(unknown)[0]} is not a valid parameter")
        recipient, message = body.get("recipient"), body.get("message")
        if not isinstance(recipient, dict) or len(recipient) != 1:
            raise _invalid("param recipient must be non-empty.")
        if not isinstance(message, dict) or not message:
            raise _invalid("param message must be non-empty.")
        with self.lock:
            if "comment_id" in recipient:
                platform, to = self._private_reply(recipient["comment_id"])
            elif "id" in recipient:
                platform, to = self._window(recipient["id"], body)
            else:
                raise _invalid("param recipient must have id or comment_id")
            self._check_message(platform, message)
            mid = ("aWdf" if platform == "instagram" else "m_") + secrets.token_urlsafe(24)
            self.sent.append(
                {
                    "id": mid,
                    "platform": platform,
                    "to": to,
                    "recipient": recipient,
                    "body": body,
                    "at": self.now().isoformat(),
                }
            )
            if "comment_id" in recipient:
                self.comments[recipient["comment_id"]]["private_reply"] = mid
        if self.echoes:  # Meta echoes the message, maybe before the send is answered
            self.post(
                platform,
                messaging(
                    platform,
                    {"sender": {"id": ACCOUNT[platform]}, "recipient": {"id": to}},
                    {"message": {"mid": mid, "is_echo": True, **message}},
                    at=self.now(),
                ),
            )
        return {"recipient_id": to, "message_id": mid}

    def sender_action(self, body: dict) -> dict:
        """``mark_seen``, ``typing_on`` or ``typing_off`` to someone who wrote to the Page
        or the account (docs/platforms/messenger.md "Read receipts")."""
        recipient = body.get("recipient")
        if set(body) != {"recipient", "sender_action"} or not isinstance(recipient, dict):
            raise _invalid("A sender action is recipient and sender_action only")
        if body["sender_action"] not in ("mark_seen", "typing_on", "typing_off"):
            raise _invalid(f"param sender_action {body['sender_action']!r} is not valid")
        with self.lock:
            if recipient.get("id") not in self.people:
                raise Refused(400, 100, "(#100) No matching user found", 2018001)
            self.actions.append({"to": recipient["id"], "action": body["sender_action"]})
        return {"recipient_id": recipient["id"]}

    def _window(self, person: str, body: dict) -> tuple[str, str]:
        known = self.people.get(person)
        if known is None:  # never wrote to the Page or the account
            raise Refused(400, 100, "(#100) No matching user found", 2018001)
        platform, last = known
        kind, tag = body.get("messaging_type"), body.get("tag")
        age = self.now() - last
        if kind == "RESPONSE" and tag is None and age < WINDOW:
            return platform, person
        if kind == "MESSAGE_TAG" and tag == "HUMAN_AGENT":
            if not self.human_agent:
                raise Refused(400, 10, "(#10) Application does not have permission for this action")
            if age < HUMAN_AGENT_WINDOW:
                return platform, person
        elif kind not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            raise _invalid("param messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG")
        raise Refused(
            400, 10, "(#10) This message is sent outside of allowed window.", OUTSIDE_WINDOW
        )

    def _private_reply(self, comment_id: Any) -> tuple[str, str]:
        comment = self.comments.get(comment_id) if isinstance(comment_id, str) else None
        if comment is None or comment["deleted"]:
            raise Refused(400, 100, "(#100) The comment does not exist", 33)
        if comment["private_reply"] is not None:
            raise Refused(
                400, 10, "(#10) This comment already has a private reply.", PRIVATE_REPLY_USED
            )
        if self.now() - comment["at"] >= PRIVATE_REPLY_WINDOW:
            raise Refused(
                400, 10, "(#10) This message is sent outside of allowed window.", OUTSIDE_WINDOW
            )
        return comment["platform"], comment["from"]

    def _check_message(self, platform: str, message: dict) -> None:
        unknown = set(message) - {"text", "attachment", "quick_replies", "metadata"}
        if unknown:
            raise _invalid(f"Param message[{sorted(unknown)[0]}] is not a valid parameter")
        if ("text" in message) == ("attachment" in message):
            raise _invalid("Param message must have exactly one of text or attachment")
        replies = message.get("quick_replies")
        if replies is not None:
            if not isinstance(replies, list) or not 1 <= len(replies) <= QUICK_REPLIES_MAX:
                raise _invalid(f"param message[quick_replies] holds 1 to {QUICK_REPLIES_MAX}")
            for n, reply in enumerate(replies):
                if not isinstance(reply, dict) or reply.get("content_type") != "text":
                    raise _invalid(f"param quick_replies[{n}][content_type] must be text")
                if not isinstance(reply.get("title"), str) or not reply["title"]:
                    raise _invalid(f"param quick_replies[{n}][title] must be non-empty.")
        if "text" in message:
            text = message["text"]
            size = len(text.encode()) if platform == "instagram" else len(text)
            if not isinstance(text, str) or not text.strip():
                raise _invalid("param message[text] must be non-empty.")
            if size > TEXT_MAX[platform]:
                raise _invalid(
                    f"Length of param message[text] must be less than or equal to "
                    f"{TEXT_MAX[platform]}"
                )
            return
        attachment = message["attachment"]
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        if not isinstance(payload, dict):
            raise _invalid("Param message[attachment][payload] must be an object")
        if attachment.get("type") in ("image", "video", "audio", "file"):
            if not str(payload.get("url", "")).startswith("https://"):
                raise _invalid("param attachment[payload][url] must be an https URL")
            return
        if attachment.get("type") != "template":
            raise _invalid("Param message[attachment] must be a template or a media file")
        if payload.get("template_type") != "generic":
            raise _invalid("Param payload[template_type] is not supported here")
        elements = payload.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= CARDS_MAX:
            raise _invalid(f"param elements must have 1 to {CARDS_MAX} elements")
        for n, element in enumerate(elements):
            allowed = {"title", "subtitle", "image_url", "default_action", "buttons"}
            if not isinstance(element, dict) or set(element) - allowed:
                raise _invalid(f"Param elements[{n}] has an unknown field")
            if not isinstance(element.get("title"), str) or not element["title"]:
                raise _invalid(f"param elements[{n}][title] must be non-empty.")
            for field in ("title", "subtitle"):
                if len(element.get(field) or "") > CARD_TEXT_MAX:
                    raise _invalid(f"param elements[{n}][{field}] has more than 80 characters")
            buttons = element.get("buttons") or []
            if len(buttons) > BUTTONS_MAX:
                raise _invalid(f"param elements[{n}][buttons] has more than 3 buttons")
            for button in buttons:
                if button.get("type") == "web_url" and not str(button.get("url", "")).startswith(
                    ("http://", "https://")
                ):
                    raise _invalid("param buttons[url] must be a valid URL")

    def comment_action(self, comment_id: str, platform: str) -> dict:
        comment = self.comments.get(comment_id)
        if comment is None or comment["deleted"] or comment["platform"] != platform:
            raise Refused(
                400,
                100,
                f"Unsupported request. Object with ID '{comment_id}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation.",
                33,
            )
        return comment

    # ------------------------------------------------------------ webhooks back

    def post(self, platform: str, payload: dict, duplicates: int = 0) -> list[int]:
        raw = orjson.dumps(payload)
        headers = {
            SIGNATURE_HEADER: signature(self.app_secret, raw),
            "content-type": "application/json",
        }
        url = self.webhooks.get(platform)
        codes = [self.transport(url, raw, headers) for _ in range(1 + duplicates)] if url else []
        self.deliveries += codes
        return codes


# ---------------------------------------------------------------- payload builders


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def messaging(platform: str, parties: dict, event: dict, *, at: datetime) -> dict:
    """One notification with one ``messaging`` event (``parties``: sender and recipient)."""
    return {
        "object": OBJECT[platform],
        "entry": [
            {
                "id": ACCOUNT[platform],
                "time": _millis(at),
                "messaging": [{**parties, "timestamp": _millis(at), **event}],
            }
        ],
    }


def from_person(platform: str, person: str, event: dict, *, at: datetime) -> dict:
    parties = {"sender": {"id": person}, "recipient": {"id": ACCOUNT[platform]}}
    return messaging(platform, parties, event, at=at)


def comment_change(
    platform: str,
    comment_id: str,
    person: str,
    name: str,
    text: str,
    media_id: str,
    at: datetime,
    *,
    live: bool = False,
) -> dict:
    """A new comment as Instagram (``comments``, ``live_comments``) or a Page (``feed``)
    announces it."""
    if platform == "instagram":
        field = "live_comments" if live else "comments"
        value: dict = {
            "id": comment_id,
            "from": {"id": person, "username": name},
            "text": text,
            "media": {"id": media_id, "media_product_type": "FEED"},
        }
        time = int(at.timestamp())
    else:
        field = "feed"
        value = {
            "from": {"id": person, "name": name},
            "item": "comment",
            "verb": "add",
            "comment_id": comment_id,
            "post_id": f"{PAGE_ID}_{media_id}",
            "parent_id": f"{PAGE_ID}_{media_id}",
            "created_time": int(at.timestamp()),
            "message": text,
        }
        time = _millis(at)
    return {
        "object": OBJECT[platform],
        "entry": [
            {"id": ACCOUNT[platform], "time": time, "changes": [{"field": field, "value": value}]}
        ],
    }


# ---------------------------------------------------------------- app


class WebhookIn(BaseModel):
    messenger: str | None = None
    instagram: str | None = None
    app_secret: str = APP_SECRET


class ClockIn(BaseModel):
    now: datetime | None = None
    advance_hours: float = 0.0


class SettingsIn(BaseModel):
    human_agent: bool = True
    echoes: bool = False


class InboundIn(BaseModel):
    platform: Platform
    sender: str
    text: str | None = None
    # Instagram: the story the person answered (its CDN URL and id).
    story: dict | None = None
    # An attachment the person sent: {"type": "image"|"story_mention"|..., "payload": {...}}
    attachment: dict | None = None
    duplicates: int = 0


class CommentIn(BaseModel):
    platform: Platform
    sender: str
    name: str
    text: str
    media_id: str = "17895695668004550"
    # Instagram: a comment on a live video (``live_comments``).
    live: bool = False
    duplicates: int = 0


class ReadIn(BaseModel):
    platform: Platform
    sender: str
    # Instagram names the message read; Messenger sends a watermark (now).
    mid: str | None = None


def create_app() -> FastAPI:
    app = FastAPI(title="Messenger and Instagram messaging (simulator)")
    sim = MessengerSim()
    app.state.sim = sim
    app.include_router(controls(sim))
    app.include_router(control_router(sim))

    def turned_away(version: str, request: Request) -> Refused | None:
        kind = sim.request_fault()
        if kind == "expired_token":
            return Refused(401, 190, "Error validating access token: Session has expired.", 463)
        if kind == "429":
            return Refused(429, 613, "(#613) Calls to this api have exceeded the rate limit.")
        if kind == "500":
            return Refused(500, 2, "An unexpected error has occurred. Please retry your request.")
        if version not in VERSIONS:
            return Refused(400, 2500, f"Unknown path components: /{version}")
        auth = request.headers.get("authorization") or ""
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in sim.tokens:
            return Refused(401, 190, "Invalid OAuth access token - Cannot parse access token")
        return None

    async def _json(request: Request) -> Any:
        try:
            return orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise _invalid("The request body is not JSON") from None

    @app.post("/{version}/{object_id}/messages")
    async def messages(version: str, object_id: str, request: Request):
        if (refused := turned_away(version, request)) is not None:
            return refused.response()
        try:
            if object_id != PAGE_ID:  # sends go through the Page, for Instagram too
                raise Refused(400, 100, f"Object with ID '{object_id}' does not exist", 33)
            return sim.accept(await _json(request))
        except Refused as refused:
            return refused.response()

    @app.post("/{version}/{comment_id}/{edge}")
    async def reply(version: str, comment_id: str, edge: str, request: Request):
        if (refused := turned_away(version, request)) is not None:
            return refused.response()
        platform = {"replies": "instagram", "comments": "messenger"}.get(edge)
        try:
            if platform is None:
                raise Refused(400, 2500, f"Unknown path components: /{edge}")
            body = await _json(request)
            text = body.get("message") if isinstance(body, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise _invalid("param message must be non-empty.")
            with sim.lock:
                comment = sim.comment_action(comment_id, platform)
                if comment["hidden"] or comment["live"]:
                    raise _invalid("You cannot reply to a hidden comment or on a live video")
                reply_id = str(10**16 + len(sim.comments) + len(comment["replies"]))
                comment["replies"].append({"id": reply_id, "message": text})
            return {"id": reply_id}
        except Refused as refused:
            return refused.response()

    @app.post("/{version}/{comment_id}")
    async def update_comment(version: str, comment_id: str, request: Request):
        if (refused := turned_away(version, request)) is not None:
            return refused.response()
        try:
            body = await _json(request)
            with sim.lock:
                comment = sim.comment_action(
                    comment_id, sim.comments.get(comment_id, {}).get("platform", "")
                )
                field = "hide" if comment["platform"] == "instagram" else "is_hidden"
                if not isinstance(body, dict) or set(body) != {field}:
                    raise _invalid(f"param {field} is required (and nothing else)")
                if not isinstance(body[field], bool):
                    raise _invalid(f"param {field} must be a boolean")
                comment["hidden"] = body[field]
            return {"success": True}
        except Refused as refused:
            return refused.response()

    @app.delete("/{version}/{comment_id}")
    def delete_comment(version: str, comment_id: str, request: Request):
        if (refused := turned_away(version, request)) is not None:
            return refused.response()
        try:
            with sim.lock:
                comment = sim.comment_action(
                    comment_id, sim.comments.get(comment_id, {}).get("platform", "")
                )
                comment["deleted"] = True
            return {"success": True}
        except Refused as refused:
            return refused.response()

    return app


def controls(sim: MessengerSim) -> APIRouter:
    router = APIRouter(prefix="/_sandbox", tags=["sandbox control"])

    @router.put("/webhook")
    def set_webhook(hook: WebhookIn):
        sim.webhooks = {"messenger": hook.messenger, "instagram": hook.instagram}
        sim.app_secret = hook.app_secret
        return sim.webhooks

    @router.put("/clock")
    def set_clock(clock: ClockIn):
        with sim.lock:
            sim.clock = (clock.now or sim.now()) + timedelta(hours=clock.advance_hours)
            return {"now": sim.clock.isoformat()}

    @router.put("/settings")
    def settings(data: SettingsIn):
        sim.human_agent, sim.echoes = data.human_agent, data.echoes
        return data.model_dump()

    @router.post("/inbound")
    def inbound(data: InboundIn):
        """A person writes to the Page or the Instagram account: the window opens now."""
        message: dict = {
            "mid": ("aWdf" if data.platform == "instagram" else "m_") + secrets.token_urlsafe(24)
        }
        if data.text is not None:
            message["text"] = data.text
        if data.story is not None:
            message["reply_to"] = {"story": data.story}
        if data.attachment is not None:
            message["attachments"] = [data.attachment]
        if len(message) == 1:
            return JSONResponse({"error": "text, story or attachment is required"}, 400)
        with sim.lock:
            now = sim.now()
            sim.people[data.sender] = (data.platform, now)
        payload = from_person(data.platform, data.sender, {"message": message}, at=now)
        return {"payload": payload, "deliveries": sim.post(data.platform, payload, data.duplicates)}

    @router.post("/comments")
    def comment(data: CommentIn):
        """A person comments on a post: the webhook, and a comment that can be answered."""
        with sim.lock:
            now = sim.now()
            comment_id = str(17_000_000_000_000_000 + len(sim.comments))
            sim.comments[comment_id] = {
                "platform": data.platform,
                "from": data.sender,
                "text": data.text,
                "at": now,
                "hidden": False,
                "live": data.live,
                "deleted": False,
                "private_reply": None,
                "replies": [],
            }
        payload = comment_change(
            data.platform,
            comment_id,
            data.sender,
            data.name,
            data.text,
            data.media_id,
            now,
            live=data.live,
        )
        return {
            "comment_id": comment_id,
            "payload": payload,
            "deliveries": sim.post(data.platform, payload, data.duplicates),
        }

    @router.post("/reads")
    def read(data: ReadIn):
        with sim.lock:
            now = sim.now()
        mark = {"mid": data.mid} if data.mid else {"watermark": _millis(now)}
        payload = from_person(data.platform, data.sender, {"read": mark}, at=now)
        return {"payload": payload, "deliveries": sim.post(data.platform, payload)}

    @router.get("/messages")
    def sent_messages():
        with sim.lock:
            return {"messages": list(sim.sent), "actions": list(sim.actions)}

    @router.get("/comments")
    def comments():
        with sim.lock:
            return {
                "comments": {
                    cid: {**c, "at": c["at"].isoformat()} for cid, c in sim.comments.items()
                }
            }

    return router
