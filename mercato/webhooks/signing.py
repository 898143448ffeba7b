"""Standard Webhooks signing and the encryption of endpoint secrets at rest.

``webhook-signature`` is a space-separated list of ``v1,<base64 HMAC-SHA256>`` over
``"{webhook-id}.{webhook-timestamp}.{body}"``, one entry per valid secret, so that a
receiver holding either the old or the new secret verifies during a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mercato.config import get_settings

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24  # the spec allows 24 to 64
SECRET_PATTERN = re.compile(r"^whsec_[A-Za-z0-9+/]{32,88}={0,2}$")


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def is_valid_secret(secret: str) -> bool:
    if not SECRET_PATTERN.match(secret):
        return False
    try:
        return 24 <= len(secret_key_bytes(secret)) <= 64
    except ValueError:
        return False


def signature_header(msg_id: str, timestamp: int, body: bytes, secrets_: list[str]) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1,"
        + base64.b64encode(hmac.new(secret_key_bytes(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets_
    )


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    # A key of its own for this use, derived from the installation's secret key.
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"mercato webhook endpoint secrets"
    ).derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(plaintext: str) -> str:
    return _fernet(get_settings().resolved_secret_key()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(get_settings().resolved_secret_key()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise RuntimeError(
            "a webhook secret cannot be decrypted: was MERCATO_SECRET_KEY changed?"
        ) from None
