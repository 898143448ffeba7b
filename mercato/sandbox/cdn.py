"""An image host for the simulators: any path answers a small PNG drawn from the path, so
platforms that take image files (TikTok Shop) can be fed from catalog image URLs. Point
``MERCATO_MEDIA_ORIGIN`` at it (``http://127.0.0.1:8100/cdn``). A file named
``missing…`` answers 404 (an image that is gone)."""

from __future__ import annotations

import hashlib
import struct
import zlib

from fastapi import FastAPI
from fastapi.responses import Response

SIDE = 120  # TikTok takes 100x100 and up


def png(seed: str, side: int = SIDE) -> bytes:
    """A one-colour ``side``×``side`` PNG, the colour taken from ``seed``."""
    red, green, blue = hashlib.sha256(seed.encode()).digest()[:3]
    row = b"\x00" + bytes((red, green, blue)) * side
    pixels = zlib.compress(row * side)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def create_app() -> FastAPI:
    app = FastAPI(title="Image host (simulator)")

    @app.get("/{path:path}")
    def image(path: str):
        if path.rsplit("/", 1)[-1].startswith("missing"):
            return Response(status_code=404)
        return Response(png(path), media_type="image/png")

    return app
