"""WhatsApp Cloud API client (docs/platforms/whatsapp.md §3-§5): send a message, read the
message templates. I/O only (``channels.meta.graph``).

Meta documents no idempotency key for sends: a key given to ``send`` is not sent (an
unknown parameter would be refused), and a 5xx retried after Meta accepted the message
can deliver it twice."""

from __future__ import annotations

from mercato.channels.http import AuthExpired, PlatformError
from mercato.channels.meta.graph import GraphClient, GraphError

# Graph error codes (docs/platforms/whatsapp.md §5).
WINDOW_CLOSED = 131047  # more than 24 h since the customer's last message: use a template
TEMPLATE_CODES = range(132000, 132017)  # template missing, paused, disabled, bad params...
RECIPIENT_CODES = frozenset({131026, 131030})  # undeliverable; not in the allowed list
TEMPLATE_FIELDS = "name,language,status,category,components"
PAGE = 100


class WhatsAppError(GraphError):
    platform = "WhatsApp"

    @property
    def window_closed(self) -> bool:
        """Free-form messages refused: the customer service window is shut."""
        return self.code == WINDOW_CLOSED

    @property
    def template_problem(self) -> bool:
        return self.code in TEMPLATE_CODES

    @property
    def recipient_unreachable(self) -> bool:
        """Not a WhatsApp user, or otherwise unable to receive from this business."""
        return self.code in RECIPIENT_CODES


class WhatsAppTokenError(WhatsAppError, AuthExpired):
    """The access token is expired or revoked: the merchant must reconnect the channel."""


WhatsAppError.token_error = WhatsAppTokenError


class WhatsAppClient(GraphClient):
    error = WhatsAppError

    def __init__(self, base_url: str, phone_number_id: str, access_token: str):
        if not phone_number_id:
            raise PlatformError("the WhatsApp channel needs a phone_number_id")
        super().__init__(base_url, access_token)
        self.phone_number_id = phone_number_id

    def send(self, body: dict) -> str:
        """Send one message body (see mapping.py); the wamid Meta gave it. Meta documents
        no idempotency key for sends: a retry after a lost answer (5xx, timeout) may
        deliver a message twice, the lesser harm for a chat than losing it."""
        answer = self.call("POST", f"/{self.phone_number_id}/messages", json=body)
        messages = answer.get("messages")
        if not messages or not isinstance(messages[0], dict) or not messages[0].get("id"):
            raise WhatsAppError("the answer holds no message id", 200)
        return messages[0]["id"]

    def mark_read(self, message_id: str) -> None:
        """The customer's message (and those before it) shown read: two blue ticks
        (docs/platforms/whatsapp.md "Read receipts")."""
        body = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        answer = self.call("POST", f"/{self.phone_number_id}/messages", json=body)
        if answer.get("success") is not True:
            raise WhatsAppError("the platform did not confirm the read receipt", 200)

    def templates(self, waba_id: str) -> list[dict]:
        """Every message template of the WhatsApp Business Account: name, language,
        status (APPROVED, PENDING, REJECTED, PAUSED, DISABLED...) and category."""
        out: list[dict] = []
        params: dict = {"fields": TEMPLATE_FIELDS, "limit": PAGE}
        while True:
            page = self.call("GET", f"/{waba_id}/message_templates", params=params)
            out += [
                {key: t.get(key) for key in ("id", *TEMPLATE_FIELDS.split(","))}
                for t in page.get("data", [])
            ]
            after = (page.get("paging") or {}).get("cursors", {}).get("after")
            if not after or not (page.get("paging") or {}).get("next"):
                return out
            params = {**params, "after": after}

    def media_url(self, media_id: str) -> tuple[str, int | None]:
        """Where a received file can be downloaded (for 5 minutes), and its size in bytes
        when Meta gives it (docs/platforms/whatsapp.md, "Received media")."""
        answer = self.call("GET", f"/{media_id}", params={"phone_number_id": self.phone_number_id})
        url = answer.get("url")
        if not isinstance(url, str) or not url:
            raise WhatsAppError("the media answer holds no url", 200)
        size = answer.get("file_size")
        return url, int(size) if str(size).isdigit() else None
