"""Messenger and Instagram client (docs/platforms/messenger.md §3-§5): send a message or a
private reply through the Page, answer a comment in public, hide or delete it. I/O only
(``channels.meta.graph``); Meta documents no idempotency key for any of these."""

from __future__ import annotations

from mercato.channels.http import AuthExpired, PlatformError
from mercato.channels.meta.graph import GraphClient, GraphError

# Graph error codes and subcodes (docs/platforms/messenger.md §5).
WINDOW_SUBCODE = 2018278  # sent outside the allowed window [S]
PRIVATE_REPLY_SENT_SUBCODE = 2534014  # a comment already has its private reply [S]
UNAVAILABLE_CODE = 551  # the person is not available (blocked the Page, left) [S]


class MessengerError(GraphError):
    platform = "Messenger"

    @property
    def window_closed(self) -> bool:
        return self.subcode == WINDOW_SUBCODE

    @property
    def recipient_unreachable(self) -> bool:
        return self.code == UNAVAILABLE_CODE


class MessengerTokenError(MessengerError, AuthExpired):
    """The Page access token is expired or revoked: the merchant must reconnect."""


MessengerError.token_error = MessengerTokenError


class MessengerClient(GraphClient):
    """One Page (Messenger) or the Page an Instagram account is linked to: sends go
    through ``/<PAGE_ID>/messages`` with the Page access token (Facebook Login)."""

    error = MessengerError

    def __init__(self, base_url: str, platform: str, page_id: str, access_token: str):
        if not page_id:
            raise PlatformError(f"the {platform} account needs its Page id")
        super().__init__(base_url, access_token)
        self.platform = platform
        self.page_id = page_id

    def send(self, body: dict) -> str:
        """Send one message body (mapping.py); the ``message_id`` Meta gave it."""
        answer = self.call("POST", f"/{self.page_id}/messages", json=body)
        if not isinstance(answer.get("message_id"), str):
            raise MessengerError("the answer holds no message_id", 200)
        return answer["message_id"]

    def mark_seen(self, person_id: str) -> None:
        """The person's latest message shown seen (sender action ``mark_seen``,
        docs/platforms/messenger.md "Read receipts")."""
        body = {"recipient": {"id": person_id}, "sender_action": "mark_seen"}
        self.call("POST", f"/{self.page_id}/messages", json=body)

    def reply_to_comment(self, comment_id: str, text: str) -> str:
        """A public answer under the comment; the new comment's id. Instagram answers on
        ``/<comment>/replies``, a Page on ``/<comment>/comments``."""
        edge = "replies" if self.platform == "instagram" else "comments"
        answer = self.call("POST", f"/{comment_id}/{edge}", json={"message": text})
        if not isinstance(answer.get("id"), str):
            raise MessengerError("the answer holds no comment id", 200)
        return answer["id"]

    def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        """Hidden from everyone but its author and their friends; shown again with False."""
        field = "hide" if self.platform == "instagram" else "is_hidden"
        self._succeeded(self.call("POST", f"/{comment_id}", json={field: hidden}))

    def delete_comment(self, comment_id: str) -> None:
        self._succeeded(self.call("DELETE", f"/{comment_id}"))

    @staticmethod
    def _succeeded(answer: dict) -> None:
        if answer.get("success") is not True:
            raise MessengerError("the platform did not confirm the change", 200)
