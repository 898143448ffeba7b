"""Request bodies for ``POST /<ver>/<PAGE_ID>/messages`` on Messenger and Instagram
(docs/platforms/messenger.md §3). Pure functions; each refuses what Meta documents it
would refuse, with ValueError("<field>: <why>"), before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass

# Documented limits.
TEXT_MAX = {"messenger": 2000, "instagram": 1000}  # characters; Instagram: UTF-8 bytes
CARD_TITLE_MAX = 80
CARD_SUBTITLE_MAX = 80
CARDS_MAX = 10
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
COMMENT_MAX = 2200  # characters of an Instagram comment [S]
HUMAN_AGENT = "HUMAN_AGENT"
QUICK_REPLIES_MAX = 13  # [V M-QR]
QUICK_REPLY_TITLE_MAX = 20  # characters [V M-QR]


@dataclass(frozen=True)
class Card:
    """One element of a generic template: a product with its picture and page."""

    title: str
    url: str
    subtitle: str | None = None
    image_url: str | None = None
    button: str = "View"


def _size(platform: str, text: str) -> int:
    return len(text.encode()) if platform == "instagram" else len(text)


def _text(platform: str, field: str, value: str | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: required")
    most = TEXT_MAX[platform]
    if _size(platform, value) > most:
        unit = "bytes" if platform == "instagram" else "characters"
        raise ValueError(f"{field}: {_size(platform, value)} {unit}, at most {most}")
    return value


def _envelope(recipient: str, tag: str | None) -> dict:
    """A reply within 24 h is a RESPONSE; later, a person's reply carries HUMAN_AGENT."""
    if not isinstance(recipient, str) or not recipient.strip():
        raise ValueError("recipient: required")
    out: dict = {"recipient": {"id": recipient}}
    if tag is None:
        out["messaging_type"] = "RESPONSE"
    elif tag == HUMAN_AGENT:
        out["messaging_type"], out["tag"] = "MESSAGE_TAG", HUMAN_AGENT
    else:
        raise ValueError(f"tag: {tag!r} is not a tag Mercato sends")
    return out


def text(platform: str, recipient: str, body: str, *, tag: str | None = None) -> dict:
    return {**_envelope(recipient, tag), "message": {"text": _text(platform, "text", body)}}


def quick_replies(
    platform: str, recipient: str, body: str, titles: list[str], *, tag: str | None = None
) -> dict:
    """Text with up to 13 quick replies: a tap comes back as a message with that text
    (and our payload)."""
    if not 1 <= len(titles) <= QUICK_REPLIES_MAX:
        raise ValueError(f"buttons: 1 to {QUICK_REPLIES_MAX} quick replies, not {len(titles)}")
    replies = []
    for n, title in enumerate(titles):
        if not title.strip() or len(title) > QUICK_REPLY_TITLE_MAX:
            raise ValueError(f"buttons[{n}]: 1 to {QUICK_REPLY_TITLE_MAX} characters")
        replies.append({"content_type": "text", "title": title, "payload": f"b{n + 1}"})
    out = text(platform, recipient, body, tag=tag)
    out["message"]["quick_replies"] = replies
    return out


def image(platform: str, recipient: str, url: str, *, tag: str | None = None) -> dict:
    """An image by its public https link (Meta fetches it; no caption on this platform)."""
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValueError("image_url: an https link Meta can fetch")
    attachment = {"type": "image", "payload": {"url": url, "is_reusable": True}}
    return {**_envelope(recipient, tag), "message": {"attachment": attachment}}


def private_reply(platform: str, comment_id: str, body: str) -> dict:
    """The one message a business may send privately to someone who commented (within
    7 days of the comment); the platform links it to the post."""
    if not isinstance(comment_id, str) or not comment_id.strip():
        raise ValueError("comment_id: required")
    return {
        "recipient": {"comment_id": comment_id},
        "message": {"text": _text(platform, "text", body)},
    }


def comment_reply(comment_id: str, body: str) -> dict:
    """A public answer under a comment: what Mercato keeps of it (the comment answered
    and the ``message`` posted to its replies edge)."""
    if not isinstance(comment_id, str) or not comment_id.strip():
        raise ValueError("comment_id: required")
    if not isinstance(body, str) or not body.strip():
        raise ValueError("text: required")
    if len(body) > COMMENT_MAX:
        raise ValueError(f"text: {len(body)} characters, at most {COMMENT_MAX}")
    return {"comment_id": comment_id, "message": body}


def cards(platform: str, recipient: str, items: list[Card], *, tag: str | None = None) -> dict:
    """A generic template: one card, or a carousel of up to 10."""
    if not 1 <= len(items) <= CARDS_MAX:
        raise ValueError(f"cards: 1 to {CARDS_MAX} products, not {len(items)}")
    elements = []
    for n, card in enumerate(items):
        where = f"cards[{n}]"
        if not card.title.strip():
            raise ValueError(f"{where}.title: required")
        element: dict = {
            "title": _fit(card.title, CARD_TITLE_MAX),
            "default_action": {"type": "web_url", "url": card.url},
            "buttons": [
                {"type": "web_url", "url": card.url, "title": _fit(card.button, BUTTON_TITLE_MAX)}
            ],
        }
        if card.subtitle:
            element["subtitle"] = _fit(card.subtitle, CARD_SUBTITLE_MAX)
        if card.image_url:
            element["image_url"] = card.image_url
        elements.append(element)
    payload = {"template_type": "generic", "elements": elements}
    return {
        **_envelope(recipient, tag),
        "message": {"attachment": {"type": "template", "payload": payload}},
    }


def _fit(value: str, most: int) -> str:
    """Titles are the product's words: shortened to the limit with an ellipsis rather
    than refused (the agent did not write them)."""
    return value if len(value) <= most else value[: most - 1].rstrip() + "…"
