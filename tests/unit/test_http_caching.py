"""Conditional requests for task data: which validators make a 304, and the HTTP dates."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from backend.api import http_caching

UPDATED = "2026-11-25T14:00:05.123456Z"


def request(**headers: str) -> Request:
    raw = [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "headers": raw})


def test_etag_is_strong_and_names_exactly_its_parts() -> None:
    tag = http_caching.etag("task", 1, "chunk", 0, UPDATED)
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert tag == http_caching.etag("task", 1, "chunk", 0, UPDATED)
    assert tag != http_caching.etag("task", 1, "chunk", 1, UPDATED)
    assert tag != http_caching.etag("task", 1, "chunk", 0, "2026-11-25T14:00:06Z")


def test_headers() -> None:
    assert http_caching.headers('"t"', UPDATED, http_caching.IMMUTABLE) == {
        "ETag": '"t"',
        "Last-Modified": "Wed, 25 Nov 2026 14:00:05 GMT",
        "Cache-Control": "private, max-age=31536000",
    }


@pytest.mark.parametrize(
    ("headers", "fresh"),
    [
        ({}, False),
        ({"if_none_match": '"t"'}, True),
        ({"if_none_match": 'W/"t"'}, True),  # If-None-Match compares weakly
        ({"if_none_match": '"a", "t"'}, True),
        ({"if_none_match": "*"}, True),
        ({"if_none_match": '"other"'}, False),
        # If-None-Match decides when present, whatever If-Modified-Since says
        ({"if_none_match": '"other"', "if_modified_since": "Wed, 25 Nov 2026 15:00:00 GMT"}, False),
        ({"if_modified_since": "Wed, 25 Nov 2026 14:00:05 GMT"}, True),
        ({"if_modified_since": "Wed, 25 Nov 2026 14:00:04 GMT"}, False),
        ({"if_modified_since": "not a date"}, False),
    ],
)
def test_is_fresh(headers: dict[str, str], fresh: bool) -> None:
    assert http_caching.is_fresh(request(**headers), '"t"', UPDATED) is fresh
