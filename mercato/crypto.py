"""Hashing and signing with the configured secret key, one way for every domain.

A secret Mercato hands out (API token, checkout token, feed token, admin cookie) is
stored as ``hash_token(secret)``, never as itself. A value Mercato signs (buyer cookie,
sign-in link, shop form) is signed with a key derived for its purpose (``context``), so
one purpose's signature never passes for another's. A secret Mercato must read again
(platform credentials, provider keys) is encrypted with ``fernet(context)``.

Personal data at rest (``Encrypted`` columns) is encrypted by envelope: each value with a
data key of its own (AES-256-GCM), the data key wrapped by a master key whose id is
stored with the value (``pii1:<key id>:<wrapped data key>:<ciphertext>``). Master keys
come from ``MERCATO_PII_KEYS``, the first one current; values under an older key still
read until ``mercato privacy rotate-keys`` re-encrypts them under the current one.
Equality lookups go through a keyed hash of the value (``pii_hash``) in a column beside
it, never through the ciphertext. Searches by part of a name, an email or a phone number
go through a column of keyed hashes of its words (``search_terms``, ``matching_terms``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text, and_, false, or_
from sqlalchemy.orm import validates
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from mercato.config import get_settings

PII_PREFIX = "pii1:"
# The key derived from the secret key: current when no master key is configured, and
# always readable (values written before keys were configured).
DERIVED_KEY_ID = "s0"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


_stored_secret: tuple[Any, str] | None = None


def _secret() -> str:
    """The secret key; one stored in the data dir is read once per settings, not on each
    value encrypted or hashed (a checkout encrypts and hashes a dozen)."""
    global _stored_secret
    settings = get_settings()
    if settings.secret_key:
        return settings.secret_key
    cached = _stored_secret
    if cached is None or cached[0] is not settings:
        cached = _stored_secret = (settings, settings.resolved_secret_key())
    return cached[1]


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def derived_key(context: bytes) -> bytes:
    """A key for one purpose, derived from the configured secret key."""
    return hashlib.sha256(context + b"\0" + _secret().encode()).digest()


def fernet(context: bytes) -> Fernet:
    """Encryption at rest for one purpose (channel credentials, payment provider keys)."""
    return Fernet(base64.urlsafe_b64encode(derived_key(context)))


def sign(context: bytes, message: str) -> str:
    return hmac.new(derived_key(context), message.encode(), hashlib.sha256).hexdigest()


def signed(context: bytes, message: str, signature: str | None) -> bool:
    """Whether ``signature`` is ``message``'s, compared in constant time."""
    return hmac.compare_digest(sign(context, message), signature or "")


# ---------------------------------------------------------------- personal data at rest


@lru_cache(maxsize=4)
def _master_keys(configured: str, secret: str) -> tuple[tuple[str, bytes], ...]:
    keys: list[tuple[str, bytes]] = []
    for part in (p.strip() for p in configured.split(",")):
        if not part:
            continue
        key_id, _, encoded = part.partition(":")
        try:
            key = base64.urlsafe_b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4))
        except ValueError:
            key = b""
        if not _KEY_ID.match(key_id) or len(key) != 32 or key_id == DERIVED_KEY_ID:
            raise ValueError(
                "MERCATO_PII_KEYS: each key is <id>:<32 bytes in URL-safe base64>, the id "
                f"letters, digits, - or _ (not {DERIVED_KEY_ID!r}); {key_id or part[:8]!r} is not"
            )
        keys.append((key_id, key))
    derived = hashlib.sha256(b"pii-master\0" + secret.encode()).digest()
    return (*keys, (DERIVED_KEY_ID, derived))


def master_keys() -> tuple[tuple[str, bytes], ...]:
    """(key id, key) of every master key that reads, the current one first."""
    return _master_keys(get_settings().pii_keys, _secret())


def current_key_id() -> str:
    return master_keys()[0][0]


def new_master_key() -> str:
    """A fresh master key, as MERCATO_PII_KEYS takes it (after "<id>:")."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypt_pii(value: str) -> str:
    """``value`` under a new data key, wrapped by the current master key."""
    key_id, master = master_keys()[0]
    data_key = AESGCM.generate_key(bit_length=256)
    wrap_nonce, nonce = os.urandom(12), os.urandom(12)
    wrapped = AESGCM(master).encrypt(wrap_nonce, data_key, key_id.encode())
    sealed = AESGCM(data_key).encrypt(nonce, value.encode(), None)
    return f"{PII_PREFIX}{key_id}:{_b64(wrap_nonce + wrapped)}:{_b64(nonce + sealed)}"


def key_id_of(stored: str | None) -> str | None:
    """The master key id a stored value is under (None: not encrypted)."""
    if not stored or not stored.startswith(PII_PREFIX):
        return None
    return stored[len(PII_PREFIX) :].split(":", 1)[0]


def decrypt_pii(stored: str) -> str:
    """The value back. A value stored before encryption (no prefix) reads as itself."""
    if not stored.startswith(PII_PREFIX):
        return stored
    try:
        key_id, wrapped, sealed = stored[len(PII_PREFIX) :].split(":")
    except ValueError:
        raise ValueError("A stored personal value is malformed.") from None
    master = dict(master_keys()).get(key_id)
    if master is None:
        raise ValueError(
            f"Personal data is encrypted under master key {key_id!r}, which is not in "
            "MERCATO_PII_KEYS: add it back (after the current one) until rotate-keys ran."
        )
    try:
        wrapped_bytes, sealed_bytes = _unb64(wrapped), _unb64(sealed)
        data_key = AESGCM(master).decrypt(wrapped_bytes[:12], wrapped_bytes[12:], key_id.encode())
        return AESGCM(data_key).decrypt(sealed_bytes[:12], sealed_bytes[12:], None).decode()
    except (InvalidTag, ValueError):
        raise ValueError(f"A personal value does not open with master key {key_id!r}.") from None


def pii_hash(value: str) -> str:
    """A keyed hash of ``value`` (HMAC-SHA256 under a key derived from the secret key):
    equal values, equal hashes, and nothing to read back. What lookups compare."""
    return hmac.new(derived_key(b"pii-lookup"), value.encode(), hashlib.sha256).hexdigest()


class Encrypted(TypeDecorator):
    """A string column kept encrypted (``encrypt_pii``) and read back in clear. It cannot
    be compared in SQL (each value has its own data key): compare its ``*_hash`` column
    with ``pii_hash`` instead; comparing it raises, so no lookup silently finds nothing."""

    impl = Text
    cache_ok = True

    class comparator_factory(Text.Comparator):  # noqa: N801
        def operate(self, op: Any, *other: Any, **kwargs: Any):
            if op not in (operators.is_, operators.is_not, operators.asc_op, operators.desc_op):
                raise TypeError(
                    f"{self.expr} is encrypted: compare its keyed hash column, not the value"
                )
            return super().operate(op, *other, **kwargs)

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else encrypt_pii(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else decrypt_pii(value)


class EncryptedJSON(Encrypted):
    """A JSON value (an address) kept encrypted as one piece, read back as it was. Its
    parts cannot be queried in SQL: keep what a query needs (a country) in a column of
    its own."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return encrypt_pii(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else json.loads(decrypt_pii(value))


def country_of(address: Any) -> str | None:
    """An address's country code (ISO 3166-1 alpha-2), kept in clear beside an encrypted
    address for the queries that need it (erasure keeps it too)."""
    country = address.get("country") if isinstance(address, dict) else None
    return (
        country.strip().upper() if isinstance(country, str) and len(country.strip()) == 2 else None
    )


def email_key(email: str | None) -> str | None:
    """The keyed hash an email is looked up by (case and spaces around ignored)."""
    return pii_hash(email.strip().lower()) if email else None


def value_key(value: str | None) -> str | None:
    """The keyed hash a phone number or an identity's value is looked up by."""
    return pii_hash(value) if value else None


class ContactKeys:
    """A model whose ``email`` and ``phone`` are encrypted keeps their lookup keys
    (``email_hash``, ``phone_hash``) beside them, set whenever either is."""

    @validates("email")
    def _hash_email(self, _: str, value: str | None) -> str | None:
        self.email_hash = email_key(value)
        return value

    @validates("phone")
    def _hash_phone(self, _: str, value: str | None) -> str | None:
        self.phone_hash = value_key(value)
        return value


# ------------------------------------------------------- searching by part, through hashes

_WORD = re.compile(r"\w+")
# The shortest end of a phone number one finds it by.
PHONE_TAIL = 4


def _terms(texts) -> list[str]:
    """Each text's keyed hash (BLAKE2b keyed, 64 bits: no two words of a column collide)."""
    key = derived_key(b"pii-terms")
    return [hashlib.blake2b(t.encode(), key=key, digest_size=8).hexdigest() for t in texts]


def _words(text: str) -> set[str]:
    folded = " ".join(text.casefold().split())
    return {folded, *_WORD.findall(folded)} - {""}


def search_terms(
    *, names: tuple[str | None, ...] = (), phones: tuple[str | None, ...] = ()
) -> str | None:
    """Keyed hashes of what a row is searched by: each name or email whole and word by
    word (case aside), each phone number's digits and every end of them from
    ``PHONE_TAIL`` digits. Stored space-separated; nothing in it reads back."""
    found: set[str] = set()
    for name in names:
        if name:
            found |= _words(name)
    for phone in phones:
        digits = re.sub(r"\D", "", phone or "")
        found |= {digits[i:] for i in range(len(digits) - PHONE_TAIL + 1)}
    return f" {' '.join(sorted(_terms(found)))} " if found else None


def matching_terms(column: Any, query: str):
    """Rows whose ``search_terms`` column matches ``query``: the whole of it, every word
    of it, or (a phone number) its digits."""
    folded = " ".join(query.casefold().split())
    if not folded:
        return false()
    groups = [[folded], sorted(set(_WORD.findall(folded)))]
    digits = re.sub(r"\D", "", folded)
    if len(digits) >= PHONE_TAIL and re.fullmatch(r"[\d\s+().-]+", folded):
        groups.append([digits])
    matches = [and_(*(column.like(f"% {t} %") for t in _terms(g))) for g in groups if g]
    return or_(*matches)
