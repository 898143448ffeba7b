"""Talking to Meta's Graph API for messaging (WhatsApp, Messenger, Instagram): the version
in every path, the Bearer token, and Graph errors kept whole. I/O only; retries on
429/5xx are channels.http's.

Paths start with the Graph version, one setting for every Meta channel
(``MERCATO_META_GRAPH_VERSION``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mercato.channels import http as channel_http
from mercato.channels.http import PlatformError
from mercato.config import get_settings

TOKEN_CODES = frozenset({190})


class GraphError(PlatformError):
    """Meta refused a request, or reported a send as failed: the Graph error, kept whole."""

    platform = "Meta"

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

    # The subclass raised for an expired or revoked token (also channels.http's
    # AuthExpired: the merchant must reconnect), set by each platform's module.
    token_error: ClassVar[type[GraphError] | None] = None

    @classmethod
    def from_error(cls, error: dict, status: int | None = None) -> GraphError:
        """From a Graph ``error`` object, or an entry of a failed status's ``errors``."""
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else data
        code = error.get("code")
        expired = code in TOKEN_CODES or status == 401
        kind = cls.token_error if expired and cls.token_error else cls
        subcode = error.get("error_subcode")
        return kind(
            str(error.get("message") or error.get("title") or f"HTTP {status}"),
            status,
            code=code if isinstance(code, int) else None,
            subcode=subcode if isinstance(subcode, int) else None,
            title=error.get("title") or error.get("error_user_title"),
            details=details if isinstance(details, str) else error.get("error_user_msg"),
            fbtrace_id=error.get("fbtrace_id"),
        )

    def as_record(self) -> dict:
        """What the inbox keeps on a refused message: code, title, Meta's words."""
        return {"code": self.code, "title": self.title, "message": str(self)}

    def __str__(self) -> str:
        code = f"(#{self.code}) " if self.code is not None else ""
        more = f": {self.details}" if self.details else ""
        head = "" if code.strip() in self.message else code
        return f"{self.platform}: {head}{self.message}{more}"


class GraphClient:
    """One account's Graph session: ``call`` answers the JSON body or raises ``error``."""

    error: type[GraphError] = GraphError

    def __init__(self, base_url: str, access_token: str):
        self.version = get_settings().meta_graph_version
        self.http = channel_http.open_client(base_url)
        self.headers = {"Authorization": f"Bearer {access_token}"}

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = channel_http.send(
            self.http, method, f"/{self.version}{path}", headers=self.headers, **kwargs
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            raise self.error.from_error(error, response.status_code)
        if response.status_code >= 400 or not isinstance(body, dict):
            raise self.error(f"HTTP {response.status_code}", response.status_code)
        return body

    def download(self, url: str, limit: int, *, signed_in: bool) -> File:
        """A file a person sent, read whole up to ``limit`` bytes (``TooLarge`` past it).
        WhatsApp's media URLs want the Bearer token; Messenger's and Instagram's
        attachment URLs are plain CDN links, given no token."""
        headers = self.headers if signed_in else {}
        with self.http.stream("GET", url, headers=headers) as response:
            if response.status_code >= 400:
                raise self.error(
                    f"the file answered HTTP {response.status_code}", response.status_code
                )
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise TooLarge(int(declared), limit)
            content = bytearray()
            for chunk in response.iter_bytes():
                content += chunk
                if len(content) > limit:
                    raise TooLarge(len(content), limit)
            kind = response.headers.get("content-type", "application/octet-stream")
        return File(bytes(content), kind.split(";")[0].strip() or "application/octet-stream")


@dataclass(frozen=True)
class File:
    content: bytes
    mime_type: str


class TooLarge(PlatformError):
    """A file bigger than Mercato shows."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"the file is {size:,} bytes; at most {limit:,} are shown here")
        self.size, self.limit = size, limit
