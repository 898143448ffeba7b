"""TikTok Shop webhook signatures (PLATFORMS.md §3.3): the ``Authorization`` header holds
hex HMAC-SHA256(app_secret, app_key + raw body)."""

from __future__ import annotations

import hashlib
import hmac


def signature(app_key: str, app_secret: str, raw_body: bytes) -> str:
    return hmac.new(app_secret.encode(), app_key.encode() + raw_body, hashlib.sha256).hexdigest()


def verify(app_key: str, app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """Constant-time check of the raw bytes as received (never re-serialised JSON).
    Without both the app key and a secret nothing verifies: an empty key signs anything."""
    if not app_key or not app_secret:
        return False
    return hmac.compare_digest(signature(app_key, app_secret, raw_body), (header or "").strip())
