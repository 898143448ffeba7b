"""Meta webhook verification (PLATFORMS.md §1.4): the subscribe challenge and
``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>``."""

from __future__ import annotations

import hashlib
import hmac


def signature_header(app_secret: str, raw_body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """Constant-time check of the raw bytes as received (never re-serialised JSON)."""
    return hmac.compare_digest(signature_header(app_secret, raw_body), (header or "").strip())


def challenge(params: dict[str, str], verify_token: str) -> str | None:
    """The body to answer a subscription check with, or None (answer 403)."""
    if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
        params.get("hub.verify_token", ""), verify_token
    ):
        return params.get("hub.challenge")
    return None
