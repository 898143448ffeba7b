"""A lean asyncio HTTP/1.1 client for the load benchmarks.

The benches run their load from the same two-core machine as the server, so the
client's own cost decides how much CPU is left for the server: httpx spends more CPU per
request than Mercato's bare endpoint does. This client keeps one keep-alive connection
per simulated buyer and does only what a load generator needs: send a request, read
the status line, headers and a Content-Length or chunked body.
"""

from __future__ import annotations

import asyncio

import orjson


class Response:
    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes):
        self.status_code, self.headers, self.content = status_code, headers, content

    def json(self):
        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


class Connection:
    """One keep-alive connection; requests on it run one after another, as a buyer's do."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None):
        self.host, self.port = host, port
        self.default_headers = headers or {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    @classmethod
    def to(cls, base_url: str, headers: dict[str, str] | None = None) -> Connection:
        host, _, port = base_url.removeprefix("http://").rstrip("/").partition(":")
        return cls(host, int(port or 80), headers)

    async def request(
        self,
        method: str,
        path: str,
        json=None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = orjson.dumps(json) if json is not None else (content or b"")
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
        ]
        if json is not None:
            lines.append("Content-Type: application/json")
        for name, value in {**self.default_headers, **(headers or {})}.items():
            lines.append(f"{name}: {value}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        if self.writer is not None:
            # A kept-alive connection the server may have closed while it sat idle
            # (uvicorn closes them after 5 s): if it answers nothing at all, the request
            # was never read, so it goes again on a new connection.
            self.writer.write(request)
            try:
                return await self._read_response()
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise
                await self.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(request)
        return await self._read_response()

    async def post(self, path: str, **kwargs) -> Response:
        return await self.request("POST", path, **kwargs)

    async def get(self, path: str, **kwargs) -> Response:
        return await self.request("GET", path, **kwargs)

    async def patch(self, path: str, **kwargs) -> Response:
        return await self.request("PATCH", path, **kwargs)

    async def _read_response(self) -> Response:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            content = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            content = await self._read_chunked()
        else:
            content = b""
        if headers.get("connection") == "close":
            await self.close()
        return Response(status, headers, content)

    async def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
