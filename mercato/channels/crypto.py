"""Channel credentials encrypted at rest (Fernet, keyed from the configured secret key)."""

from __future__ import annotations

import json

from cryptography.fernet import InvalidToken

from mercato.crypto import fernet

_CONTEXT = b"mercato/channel-credentials/v1"


def encrypt(credentials: dict[str, str]) -> str:
    if not credentials:
        return ""
    return fernet(_CONTEXT).encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def decrypt(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(fernet(_CONTEXT).decrypt(token.encode()))
    except InvalidToken:
        raise ValueError(
            "channel credentials cannot be decrypted: the secret key changed"
        ) from None
