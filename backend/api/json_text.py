"""Postgres text and jsonb cannot hold NUL, so a JSON string with `\\u0000` must be refused
at the door: once inside an event it would stop the projector for good."""

from __future__ import annotations

import re

from backend.api.errors import ApiError

# `\u0000` as a JSON escape: preceded by an even number of backslashes (an odd number
# would make it the literal text "\u0000" after an escaped backslash).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

NUL_MESSAGE = "Text may not contain the NUL character (\\u0000)."


def has_nul(raw: bytes | str) -> bool:
    """True when a JSON document holds a NUL in some string (raw NUL bytes are not valid
    JSON at all, the JSON decoder refuses those)."""
    data = raw.encode() if isinstance(raw, str) else raw
    return b"\\u0000" in data and _NUL_ESCAPE.search(data) is not None


def refuse_nul(body: bytes) -> None:
    """A 400 naming the body for a JSON request body with a NUL in some string."""
    if has_nul(body):
        raise ApiError(400, {"body": [NUL_MESSAGE]})
