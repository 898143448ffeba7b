"""What every Meta webhook shares (docs/platforms/whatsapp.md §2, messenger.md §2): the
subscription challenge and the ``X-Hub-Signature-256`` check on the raw bytes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Hub-Signature-256"


def signature(app_secret: str, raw: bytes) -> str:
    """The header value Meta sends for ``raw``: ``sha256=`` + hex HMAC-SHA256."""
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def verify_signature(app_secret: str, raw: bytes, header: str | None) -> bool:
    """Constant-time check of the raw bytes as received (re-serialised JSON never
    matches). Without a secret nothing verifies: an empty key would sign anything."""
    if not app_secret or not header:
        return False
    return hmac.compare_digest(signature(app_secret, raw), header.strip())


def verify_challenge(params: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo when Meta subscribes the callback with our token;
    None (answer 403) otherwise."""
    token = params.get("hub.verify_token") or ""
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return None
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    return params.get("hub.challenge")
