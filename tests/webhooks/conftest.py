"""A local webhook receiver (127.0.0.1 only)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # (request) -> status code, or (status code, body); 200 unless a test says otherwise.
    respond: Callable[[Received], int | tuple[int, bytes]] = lambda _request: 200
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
        return list(self.requests)


def serve(receiver_factory: Callable[[str], Receiver] = Receiver):
    """Start a receiver; returns (receiver, server)."""
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-request: nothing was delivered
                self.close_connection = True
                return
            request = Received({k.lower(): v for k, v in self.headers.items()}, body, self.path)
            receiver = holder["receiver"]
            answer = receiver.respond(request)
            status, reply = answer if isinstance(answer, tuple) else (answer, b"ok")
            with receiver.arrived:
                receiver.requests.append(request)
                receiver.arrived.notify_all()
            self.send_response(status)
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["receiver"] = receiver_factory(f"http://127.0.0.1:{server.server_port}/hooks")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return holder["receiver"], server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec, server = serve()
    yield rec
    server.shutdown()
    server.server_close()
