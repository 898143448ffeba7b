"""TikTok Shop request signing (PLATFORMS.md §3.1)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

UNSIGNED = ("sign", "access_token")


def sign(
    app_secret: str,
    path: str,
    params: Mapping[str, str],
    body: bytes = b"",
    multipart: bool = False,
) -> str:
    """Hex HMAC-SHA256 of ``secret + path + sorted {key}{value} + body + secret``.

    ``body`` must be the exact bytes sent; multipart bodies are not signed.
    """
    joined = "".join(f"{key}{params[key]}" for key in sorted(params) if key not in UNSIGNED)
    message = path.encode() + joined.encode() + (b"" if multipart else body)
    wrapped = app_secret.encode() + message + app_secret.encode()
    return hmac.new(app_secret.encode(), wrapped, hashlib.sha256).hexdigest()


def verify(
    app_secret: str,
    path: str,
    params: Mapping[str, str],
    body: bytes,
    given: str,
    multipart: bool = False,
) -> bool:
    return hmac.compare_digest(sign(app_secret, path, params, body, multipart), given or "")
