"""NUL in JSON strings is found whatever the escaping around it."""

from __future__ import annotations

import json

from backend.api.json_text import has_nul


def test_a_nul_escape_is_found_in_any_string() -> None:
    assert has_nul(json.dumps({"name": "a\x00b"}))
    assert has_nul(json.dumps({"deep": [{"x": "\\\x00"}]}).encode())  # backslash, then NUL


def test_the_literal_text_backslash_u0000_is_not_a_nul() -> None:
    text = json.dumps({"name": "\\u0000"})  # the six characters \u0000, escaped as \\u0000
    assert "\\\\u0000" in text and not has_nul(text)
    assert not has_nul(json.dumps({"name": "plain"}))
