"""Channel credentials encrypted at rest (Fernet, keyed from the configured secret key)."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken

from mercato.config import get_settings

_CONTEXT = b"mercato/channel-credentials/v1"


def _fernet() -> Fernet:
    # Derived, not the raw key: the same secret key also signs other things.
    secret = get_settings().resolved_secret_key().encode()
    key = hashlib.sha256(_CONTEXT + b"\0" + secret).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(credentials: dict[str, str]) -> str:
    if not credentials:
        return ""
    return _fernet().encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def decrypt(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise ValueError(
            "channel credentials cannot be decrypted: the secret key changed"
        ) from None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
