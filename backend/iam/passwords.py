"""Password hashing (argon2id) and the password rules of registration and password change
(Django's default validators, which CVAT uses, with their messages)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so that an unknown username costs as much
# time as a wrong password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("vellum-no-such-user")

MIN_LENGTH = 8
# The most common passwords (a short list; Django ships 20,000). Compared lower-cased.
_COMMON = frozenset(
    {
        "password", "password1", "password123", "12345678", "123456789", "1234567890",
        "qwerty123", "qwertyuiop", "iloveyou", "11111111", "00000000", "abcd1234",
        "1q2w3e4r", "sunshine", "princess", "football", "baseball", "welcome1",
        "admin123", "letmein1", "passw0rd", "trustno1", "superman", "starwars",
    }
)  # fmt: skip


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-ish time whether or not there is a hash (None = no such user)."""
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """argon2 takes tens of milliseconds: off the event loop."""
    return await asyncio.to_thread(verify_password, password_hash, password)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


def password_problems(password: str, *, username: str = "", email: str = "") -> list[str]:
    """Why `password` may not be used (empty = acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(
            f"This password is too short. It must contain at least {MIN_LENGTH} characters."
        )
    if password.isdigit():
        problems.append("This password is entirely numeric.")
    if password.lower() in _COMMON:
        problems.append("This password is too common.")
    lowered = password.lower()
    for what, value in (("username", username), ("email address", email.split("@")[0])):
        if len(value) >= 3 and (lowered in value.lower() or value.lower() in lowered):
            problems.append(f"The password is too similar to the {what}.")
            break
    return problems
