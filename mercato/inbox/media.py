"""Files people send (photos, videos, voice notes, documents, stickers), shown to the
team without keeping a copy: fetched from the platform when asked, with no transaction
open while it answers.

- WhatsApp: the message names a media id; Meta gives a download URL for it (valid 5
  minutes) and the file needs the account's token; media ids in webhooks expire after 7
  days (docs/platforms/whatsapp.md, "Received media").
- Messenger and Instagram: the attachment carries its CDN URL (docs/platforms/messenger.md
  §2), fetched without a token; Meta's CDN links expire too.
"""

from __future__ import annotations

from dataclasses import dataclass

from mercato.channels.http import PlatformError, PlatformUnavailable
from mercato.channels.meta.graph import GraphError, TooLarge
from mercato.db import Sessions, transaction
from mercato.errors import MercatoError, NotFound, PlatformRefused
from mercato.inbox import accounts, records
from mercato.inbox.models import Message

# WhatsApp's largest media (documents) are 100 MB; the dashboard shows up to this much.
MAX_BYTES = 25 * 1024 * 1024
# How each platform's kind is shown: inline as an image, video or sound, or as a file.
_WHATSAPP = {
    "image": "image",
    "sticker": "image",
    "video": "video",
    "audio": "audio",
    "document": "file",
}
_META = {
    "image": "image",
    "video": "video",
    "audio": "audio",
    "story_mention": "image",
    "file": "file",
}


@dataclass(frozen=True)
class Attachment:
    content: bytes
    mime_type: str
    shown_as: str  # image, video, audio or file
    filename: str | None


def shown_as(platform: str, message: Message) -> str | None:
    """How the dashboard shows the file a received message carries, or None without one."""
    if message.direction != "in":
        return None
    kind = message.kind
    if platform == "whatsapp":
        body = message.content.get(kind)
        if not isinstance(body, dict) or not body.get("id"):
            return None
        return _WHATSAPP.get(kind)
    if platform in ("messenger", "instagram") and _attachment_url(message.content):
        return _META.get(kind)
    return None


def fetch(sessions: Sessions, message_id: str) -> Attachment:
    """The file of a received message, from its platform. A refusal (an expired media
    id, a link that is gone) is the platform's words, changing nothing."""
    with transaction(sessions.read) as session:
        message = records.message(session, message_id)
        account = accounts.get_account(session, message.account_id)
        shown = shown_as(account.platform, message)
        if shown is None:
            raise NotFound(f"Message {message_id!r} carries no file.")
        client = accounts.client(session, account, sessions)
        platform, kind, content = account.platform, message.kind, dict(message.content)
    try:
        with client:
            if platform == "whatsapp":
                url, size = client.media_url(content[kind]["id"])
                if size is not None and size > MAX_BYTES:
                    raise TooLarge(size, MAX_BYTES)
                file = client.download(url, MAX_BYTES, signed_in=True)
            else:
                file = client.download(_attachment_url(content), MAX_BYTES, signed_in=False)
    except TooLarge as exc:
        raise FileTooLarge(str(exc)) from None
    except GraphError as exc:
        raise PlatformRefused(str(exc), extra={"error": exc.as_record()}) from None
    except (PlatformUnavailable, PlatformError) as exc:
        raise PlatformRefused(f"{platform} could not give the file: {exc}") from None
    filename = content.get(kind, {}).get("filename") if platform == "whatsapp" else None
    return Attachment(file.content, file.mime_type, shown, filename)


def response_headers(attachment: Attachment) -> dict[str, str]:
    """Shown inline only when it is what it claims to be (an image as an image...); any
    other file is downloaded, never rendered as a page of ours."""
    family = attachment.mime_type.split("/")[0]
    inline = attachment.shown_as == family and attachment.mime_type != "image/svg+xml"
    name = (attachment.filename or "").replace('"', "").replace("\\", "")
    disposition = "inline" if inline else "attachment"
    return {
        "Content-Disposition": f'{disposition}; filename="{name}"' if name else disposition,
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=300",
    }


class FileTooLarge(MercatoError):
    slug = "file-too-large"
    title = "The file is too large to show"
    status = 413


def _attachment_url(content: dict) -> str | None:
    attachments = content.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return None
    payload = attachments[0].get("payload") if isinstance(attachments[0], dict) else None
    url = payload.get("url") if isinstance(payload, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
