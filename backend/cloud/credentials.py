"""Cloud storage credentials, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from VELLUM_SECRET_KEY (stretched with PBKDF2, so any string will do), or,
when that is empty, from DATA_DIR/secret.key: generated once, readable by the owner only.
Events and the read model only ever hold the token `seal()` returns; the plain values
exist in memory while a request or a job talks to the bucket, and never reach a response
or a log line (`Credentials.__repr__` hides them)."""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import tempfile
from pathlib import Path

import msgspec
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

KEY_FILE = "secret.key"
# A fixed salt: the key must be the same in every process that shares the secret.
_SALT = b"vellum/cloud-storage-credentials/v1"
_ITERATIONS = 200_000


class CredentialsError(Exception):
    """Stored credentials cannot be decrypted (the secret key changed) or are malformed."""


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """The secret part of a cloud storage, as CVAT's write request carries it."""

    key: str = ""
    secret_key: str = ""
    session_token: str = ""
    account_name: str = ""
    connection_string: str = ""

    def __repr__(self) -> str:
        present = [f for f in self.__struct_fields__ if getattr(self, f)]
        return f"Credentials(<hidden: {', '.join(present) or 'none'}>)"

    __str__ = __repr__


@functools.lru_cache(maxsize=8)
def _derived(secret: str) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=_SALT, iterations=_ITERATIONS)
    return base64.urlsafe_b64encode(kdf.derive(secret.encode()))


def _generated(data_dir: str) -> bytes:
    """DATA_DIR/secret.key, created (0600) by whichever process needs it first: written to
    a private temporary file and linked into place, so a concurrent reader never sees a
    half-written key and two creators agree on the one that won."""
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{KEY_FILE}.", dir=path.parent)  # mode 0600
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key())
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_bytes().strip()
    try:
        Fernet(key)
    except ValueError:
        raise CredentialsError(f"{path} does not hold a valid key") from None
    return key


def fernet(secret_key: str, data_dir: str) -> MultiFernet:
    """Seals with VELLUM_SECRET_KEY when set, else with the generated key. A generated key
    that exists still opens what it sealed, so setting VELLUM_SECRET_KEY later does not
    lock out the storages attached before (a PATCH seals them again with the new key)."""
    if not secret_key:
        return MultiFernet([Fernet(_generated(data_dir))])
    keys = [Fernet(_derived(secret_key))]
    if (Path(data_dir) / KEY_FILE).is_file():
        keys.append(Fernet(_generated(data_dir)))
    return MultiFernet(keys)


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Credentials).decode


def seal(box: MultiFernet | Fernet, credentials: Credentials) -> str:
    """The encrypted token kept in events and the read model."""
    return box.encrypt(_encode(credentials)).decode()


def unseal(box: MultiFernet | Fernet, token: str) -> Credentials:
    if not token:
        return Credentials()
    try:
        return _decode(box.decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsError(
            "The stored credentials cannot be decrypted: was VELLUM_SECRET_KEY (or "
            "DATA_DIR/secret.key) changed? Update the cloud storage's credentials."
        ) from None
    except msgspec.DecodeError:
        raise CredentialsError("The stored credentials are malformed.") from None
