"""Meta's data deletion request callback: its ``signed_request``, verified and read
(docs/platforms/meta.md, "Data deletion request callback"). Plain data: no database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def _decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parse_signed_request(signed_request: str, app_secret: str) -> dict[str, Any] | None:
    """The request's payload when the app secret signed it, else None."""
    signature, dot, payload = (signed_request or "").strip().partition(".")
    if not dot or not app_secret:
        return None
    expected = hmac.new(app_secret.encode(), payload.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _decode(signature)):
            return None
        data = json.loads(_decode(payload))
    except ValueError:  # bad base64 or JSON
        return None
    if not isinstance(data, dict) or str(data.get("algorithm", "")).upper() != "HMAC-SHA256":
        return None
    return data


def signed_request(payload: dict[str, Any], app_secret: str) -> str:
    """What Meta sends (for the simulator and tests)."""
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    digest = hmac.new(app_secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() + "." + encoded
