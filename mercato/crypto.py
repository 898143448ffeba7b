"""Hashing and signing with the configured secret key, one way for every domain.

A secret Mercato hands out (API token, checkout token, feed token, admin cookie) is
stored as ``hash_token(secret)``, never as itself. A value Mercato signs (buyer cookie,
sign-in link, shop form) is signed with a key derived for its purpose (``context``), so
one purpose's signature never passes for another's. A secret Mercato must read again
(platform credentials, provider keys) is encrypted with ``fernet(context)``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet

from mercato.config import get_settings


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def derived_key(context: bytes) -> bytes:
    """A key for one purpose, derived from the configured secret key."""
    return hashlib.sha256(context + b"\0" + get_settings().resolved_secret_key().encode()).digest()


def fernet(context: bytes) -> Fernet:
    """Encryption at rest for one purpose (channel credentials, payment provider keys)."""
    return Fernet(base64.urlsafe_b64encode(derived_key(context)))


def sign(context: bytes, message: str) -> str:
    return hmac.new(derived_key(context), message.encode(), hashlib.sha256).hexdigest()


def signed(context: bytes, message: str, signature: str | None) -> bool:
    """Whether ``signature`` is ``message``'s, compared in constant time."""
    return hmac.compare_digest(sign(context, message), signature or "")
