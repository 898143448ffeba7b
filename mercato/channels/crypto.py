"""Channel credentials encrypted at rest (Fernet, keyed from the configured secret key)."""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken

from mercato.crypto import derived_key

_CONTEXT = b"mercato/channel-credentials/v1"


def _fernet() -> Fernet:
    # Derived, not the raw key: the same secret key also signs other things.
    return Fernet(base64.urlsafe_b64encode(derived_key(_CONTEXT)))


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
