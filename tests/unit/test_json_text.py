"""What Postgres cannot store is found in JSON: NUL in strings whatever the escaping
around it, integers past 32 bits."""

from __future__ import annotations

import json

from backend.api.json_text import NUL_MESSAGE, RANGE_MESSAGE, has_nul, unstorable


def test_a_nul_escape_is_found_in_any_string() -> None:
    assert has_nul(json.dumps({"name": "a\x00b"}))
    assert has_nul(json.dumps({"deep": [{"x": "\\\x00"}]}).encode())  # backslash, then NUL


def test_the_literal_text_backslash_u0000_is_not_a_nul() -> None:
    text = json.dumps({"name": "\\u0000"})  # the six characters \u0000, escaped as \\u0000
    assert "\\\\u0000" in text and not has_nul(text)
    assert not has_nul(json.dumps({"name": "plain"}))


def test_integers_past_32_bits_are_unstorable_floats_and_digit_strings_are_not() -> None:
    assert unstorable(json.dumps({"segment_size": 2**31})) == RANGE_MESSAGE
    assert unstorable(json.dumps({"deep": [{"id": -(2**31) - 1}]})) == RANGE_MESSAGE
    assert unstorable(json.dumps({"id": 2**31 - 1, "low": -(2**31)})) is None
    assert unstorable(json.dumps({"points": [12.345678901234567, 1e300, 9876543210.5]})) is None
    assert unstorable(json.dumps({"name": "photo_20261125123456.jpg"})) is None
    assert unstorable(json.dumps({"name": "a\x00"})) == NUL_MESSAGE
