"""Random secrets handed to clients (session ids, CSRF tokens, token keys) and the digests
stored in their place. Keys are letters and digits only: the cvat-sdk parses cookies with
SimpleCookie, which mangles anything fancier."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_key(length: int = 40) -> str:
    """~5.95 bits per character: 40 characters are about 238 bits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def digest(key: str) -> bytes:
    """What the database keeps instead of a key (random keys need no slow KDF)."""
    return hashlib.sha256(key.encode()).digest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
