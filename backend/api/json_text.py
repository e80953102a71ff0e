"""JSON that Postgres cannot store must be refused at the door: once inside an event it
would stop the projector for good (and every write waiting for it). Two such things:
a NUL character in a string (text and jsonb cannot hold it) and an integer outside the
32-bit range of the read models' integer columns (CVAT's limits are the same)."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from backend.api.errors import ApiError

# `\u0000` as a JSON escape: preceded by an even number of backslashes (an odd number
# would make it the literal text "\u0000" after an escaped backslash).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
# Ten or more digits that are not the fraction of a float (coordinates often have many) and
# not followed by one: a candidate for a too large integer (or digits in a string, which
# the full check then tells apart).
_LONG_DIGITS = re.compile(rb"(?<![\d.])\d{10,}(?![\d.eE])")
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

NUL_MESSAGE = "Text may not contain the NUL character (\\u0000)."
RANGE_MESSAGE = f"Integers must be between {INT_MIN} and {INT_MAX}."


def has_nul(raw: bytes | str) -> bool:
    """True when a JSON document holds a NUL in some string (raw NUL bytes are not valid
    JSON at all, the JSON decoder refuses those)."""
    data = raw.encode() if isinstance(raw, str) else raw
    return b"\\u0000" in data and _NUL_ESCAPE.search(data) is not None


def _int_out_of_range(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return not INT_MIN <= value <= INT_MAX
    if isinstance(value, list):
        return any(_int_out_of_range(v) for v in value)
    if isinstance(value, dict):
        return any(_int_out_of_range(v) for v in value.values())
    return False


def unstorable(raw: bytes | str) -> str | None:
    """Why a JSON document cannot be stored, or None. Cheap for the usual document: the
    full walk runs only when ten digits in a row appear somewhere."""
    data = raw.encode() if isinstance(raw, str) else raw
    if has_nul(data):
        return NUL_MESSAGE
    if _LONG_DIGITS.search(data) is not None:
        try:
            if _int_out_of_range(msgspec.json.decode(data)):
                return RANGE_MESSAGE
        except msgspec.DecodeError:
            return None  # the typed decoder reports what is wrong with it
    return None


def refuse_unstorable(body: bytes) -> None:
    """A 400 naming the body for a JSON request body that cannot be stored."""
    problem = unstorable(body)
    if problem is not None:
        raise ApiError(400, {"body": [problem]})
