"""WhatsApp Cloud API client (docs/platforms/whatsapp.md §3-§5): send a message, read the
message templates. I/O only; retries on 429/5xx are channels.http's.

Paths start with the Graph version, one setting for every Meta channel
(``MERCATO_META_GRAPH_VERSION``). Meta documents no idempotency key for sends: a key given
to ``send`` is not sent (an unknown parameter would be refused), and a 5xx retried after
Meta accepted the message can deliver it twice."""

from __future__ import annotations

from mercato.channels import http as channel_http
from mercato.channels.http import AuthExpired, PlatformError
from mercato.config import get_settings

# Graph error codes (docs/platforms/whatsapp.md §5).
WINDOW_CLOSED = 131047  # more than 24 h since the customer's last message: use a template
TEMPLATE_CODES = range(132000, 132017)  # template missing, paused, disabled, bad params...
RECIPIENT_CODES = frozenset({131026, 131030})  # undeliverable; not in the allowed list
TOKEN_CODES = frozenset({190})
TEMPLATE_FIELDS = "name,language,status,category"
PAGE = 100


class WhatsAppError(PlatformError):
    """Meta refused a request, or reported a send as failed: the Graph error, kept whole."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        *,
        code: int | None = None,
        subcode: int | None = None,
        title: str | None = None,
        details: str | None = None,
        fbtrace_id: str | None = None,
    ):
        super().__init__(message, status)
        self.code = code
        self.subcode = subcode
        self.title = title
        self.message = message
        self.details = details
        self.fbtrace_id = fbtrace_id

    @classmethod
    def from_error(cls, error: dict, status: int | None = None) -> WhatsAppError:
        """From a Graph ``error`` object, or an entry of a failed status's ``errors``."""
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else data
        code = error.get("code")
        kind = WhatsAppTokenError if code in TOKEN_CODES or status == 401 else cls
        return kind(
            str(error.get("message") or error.get("title") or f"HTTP {status}"),
            status,
            code=code if isinstance(code, int) else None,
            subcode=error.get("error_subcode"),
            title=error.get("title"),
            details=details if isinstance(details, str) else None,
            fbtrace_id=error.get("fbtrace_id"),
        )

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

    def __str__(self) -> str:
        code = f"(#{self.code}) " if self.code is not None else ""
        more = f": {self.details}" if self.details else ""
        return f"WhatsApp: {'' if code.strip() in self.message else code}{self.message}{more}"


class WhatsAppTokenError(WhatsAppError, AuthExpired):
    """The access token is expired or revoked: the merchant must reconnect the channel."""


class WhatsAppClient:
    def __init__(self, base_url: str, phone_number_id: str, access_token: str):
        if not phone_number_id:
            raise PlatformError("the WhatsApp channel needs a phone_number_id")
        self.version = get_settings().meta_graph_version
        self.phone_number_id = phone_number_id
        self.http = channel_http.open_client(base_url)
        self.headers = {"Authorization": f"Bearer {access_token}"}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> WhatsAppClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs) -> dict:
        response = channel_http.send(
            self.http, method, f"/{self.version}{path}", headers=self.headers, **kwargs
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            raise WhatsAppError.from_error(error, response.status_code)
        if response.status_code >= 400 or not isinstance(body, dict):
            raise WhatsAppError(f"HTTP {response.status_code}", response.status_code)
        return body

    def send(self, body: dict) -> str:
        """Send one message body (see mapping.py); the wamid Meta gave it. Meta documents
        no idempotency key for sends: a retry after a lost answer (5xx, timeout) may
        deliver a message twice, the lesser harm for a chat than losing it."""
        answer = self._call("POST", f"/{self.phone_number_id}/messages", json=body)
        messages = answer.get("messages")
        if not messages or not isinstance(messages[0], dict) or not messages[0].get("id"):
            raise WhatsAppError("the answer holds no message id", 200)
        return messages[0]["id"]

    def templates(self, waba_id: str) -> list[dict]:
        """Every message template of the WhatsApp Business Account: name, language,
        status (APPROVED, PENDING, REJECTED, PAUSED, DISABLED...) and category."""
        out: list[dict] = []
        params: dict = {"fields": TEMPLATE_FIELDS, "limit": PAGE}
        while True:
            page = self._call("GET", f"/{waba_id}/message_templates", params=params)
            out += [
                {key: t.get(key) for key in ("id", *TEMPLATE_FIELDS.split(","))}
                for t in page.get("data", [])
            ]
            after = (page.get("paging") or {}).get("cursors", {}).get("after")
            if not after or not (page.get("paging") or {}).get("next"):
                return out
            params = {**params, "after": after}
