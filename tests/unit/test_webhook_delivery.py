"""Pure parts of webhook delivery: the backoff schedule, CVAT's signature, what settles,
what before_update holds."""

from __future__ import annotations

import hashlib
import hmac
import itertools

from backend.webhooks.delivery import MAX_BACKOFF_S, backoff_s, body_of, settled, signature
from backend.webhooks.payloads import before_update


def test_backoff_doubles_and_is_capped_at_ten_minutes() -> None:
    delays = [backoff_s(n) for n in range(1, 16)]
    assert delays[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert max(delays) == MAX_BACKOFF_S == 600.0


def test_signature_is_the_hmac_sha256_of_the_exact_body() -> None:
    body = body_of({"event": "ping", "webhook_id": 3})
    assert body == b'{"event": "ping", "webhook_id": 3}'  # json.dumps, as CVAT signs it
    digest = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signature("s3cret", body) == f"sha256={digest}"


def test_what_ends_a_delivery() -> None:
    assert settled(200) and settled(204) and settled(404) and settled(410)
    assert not any(settled(s) for s in (None, 408, 429, 500, 502, 503))


def test_before_update_holds_the_old_values_of_what_changed_but_labels() -> None:
    old = {"id": 1, "name": "a", "assignee": None, "labels": {"count": 1}, "bug_tracker": ""}
    new = {"id": 1, "name": "b", "assignee": {"id": 4}, "labels": {"count": 2}, "bug_tracker": ""}
    assert before_update(old, new) == {"name": "a", "assignee": None}
    assert before_update(new, new) == {}
