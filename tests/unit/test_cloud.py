"""Pure parts of the cloud storage code: credential sealing, the attribute rules, the
content-v2 view over a manifest and a storage prefix."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from backend.cloud import content, credentials, fetch
from backend.cloud.credentials import Credentials, CredentialsError
from backend.cloud.port import CloudError
from backend.cloud.providers import attribute_problems, parse_attributes


def test_sealed_credentials_open_only_with_the_same_secret(tmp_path: Path) -> None:
    secret = Credentials(key="AKIA", secret_key="very-secret", session_token="tok")
    box = credentials.fernet("one secret", str(tmp_path))
    token = credentials.seal(box, secret)
    assert "very-secret" not in token and "AKIA" not in token
    assert credentials.unseal(credentials.fernet("one secret", str(tmp_path)), token) == secret
    with pytest.raises(CredentialsError, match="VELLUM_SECRET_KEY"):
        credentials.unseal(credentials.fernet("another secret", str(tmp_path)), token)
    assert credentials.unseal(box, "") == Credentials()
    assert not (tmp_path / credentials.KEY_FILE).exists()  # a configured secret needs no file


def test_credentials_never_show_their_values() -> None:
    secret = Credentials(key="AKIA", secret_key="very-secret")
    for text in (repr(secret), str(secret), f"{secret}", repr([secret])):
        assert "very-secret" not in text and "AKIA" not in text
    assert "key" in repr(secret)


def test_generated_key_is_owner_only_and_shared_by_concurrent_creators(tmp_path: Path) -> None:
    keys: list[bytes] = []

    def make() -> None:
        keys.append(credentials._generated(str(tmp_path)))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    path = tmp_path / credentials.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(set(keys)) == 1 and keys[0] == path.read_bytes().strip()
    Fernet(keys[0])  # a valid key
    assert sorted(os.listdir(tmp_path)) == [credentials.KEY_FILE]  # no temporary files left
    token = credentials.seal(credentials.fernet("", str(tmp_path)), Credentials(key="k"))
    assert credentials.unseal(Fernet(keys[0]), token).key == "k"


def test_a_damaged_key_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / credentials.KEY_FILE).write_bytes(b"not a key")
    with pytest.raises(CredentialsError, match=r"secret\.key"):
        credentials.fernet("", str(tmp_path))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", None),
        ("region=eu-central-1&endpoint_url=http://minio:9000&prefix=a/b/", None),
        ("region", "key=value"),
        ("colour=blue", "colour"),
        ("prefix=/a", "forward slash"),
        ("prefix=a//b", "multiple slashes"),
        ("endpoint_url=ftp://host", "http(s)"),
        ("endpoint_url=http://[", "http(s)"),
        ("endpoint_url=http://host:99999", "http(s)"),
        ("endpoint_url=http://user:pw@minio:9000", "user name or password"),
    ],
)
def test_specific_attributes(text: str, problem: str | None) -> None:
    found = attribute_problems(text)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_parse_attributes() -> None:
    assert parse_attributes("region=x&endpoint_url=http://h:1/p") == {
        "region": "x", "endpoint_url": "http://h:1/p"
    }  # fmt: skip


KEYS = ["a.png", "d/b.png", "d/c.jpg", "d/e/f.png", "z.mp4", "notes.txt"]


def names(page: content.Page) -> list[tuple[str, str, str]]:
    return [(e.name, e.type, e.mime_type) for e in page.content]


def test_manifest_page_shows_one_level_directories_first() -> None:
    root = content.manifest_page(KEYS, "", 0, 100)
    assert names(root) == [
        ("d", "DIR", "DIR"), ("a.png", "REG", "image"), ("z.mp4", "REG", "video"),
        ("notes.txt", "REG", "unknown"),
    ]  # fmt: skip
    assert root.next is None
    assert names(content.manifest_page(KEYS, "d/", 0, 100)) == [
        ("e", "DIR", "DIR"), ("b.png", "REG", "image"), ("c.jpg", "REG", "image")
    ]  # fmt: skip


def test_manifest_page_tokens_walk_every_entry_once() -> None:
    seen: list[str] = []
    start = 0
    while True:
        page = content.manifest_page(KEYS, "", start, 2)
        seen += [e.name for e in page.content]
        if page.next is None:
            break
        start = int(page.next)
    assert seen == ["d", "a.png", "z.mp4", "notes.txt"]


def test_storage_prefix_limits_what_is_shown() -> None:
    # Above the prefix: only the directory leading to it; beside it: nothing.
    assert names(content.manifest_page(KEYS, "", 0, 100, "d/e/")) == [("d", "DIR", "DIR")]
    assert names(content.manifest_page(KEYS, "d/", 0, 100, "d/e/")) == [("e", "DIR", "DIR")]
    assert names(content.manifest_page(KEYS, "x/", 0, 100, "d/")) == []
    assert names(content.manifest_page(KEYS, "d/e/", 0, 100, "d/e/")) == [("f.png", "REG", "image")]


def test_mime_kinds() -> None:
    assert [content.mime_kind(n) for n in ("A.JPG", "b.webm", "c.tar.gz", "d.zip", "e.pdf",
                                           "f.pcd", "g")] == [
        "image", "video", "archive", "archive", "pdf", "unknown", "unknown"
    ]  # fmt: skip


class MemoryBucket:
    """An in-memory stand-in for the adapter (pure unit tests of fetch only)."""

    name = "memory"

    def __init__(self, objects: dict[str, bytes], broken: str = "") -> None:
        self.objects = objects
        self.broken = broken
        self.started: list[str] = []

    def download(self, key: str, target: Path, max_bytes: int, *, check, progress) -> int:  # type: ignore[no-untyped-def]
        self.started.append(key)
        if key == self.broken:
            raise CloudError("not_found", f"The file '{key}' was not found.")
        data = self.objects[key]
        with target.open("wb") as out:
            for start in range(0, len(data), 10):
                check()
                out.write(data[start : start + 10])
                progress(min(start + 10, len(data)))
        return len(data)


def test_fetch_keeps_the_order_and_reports_progress(tmp_path: Path) -> None:
    objects = {f"k{i}/name{i}.png": bytes([i]) * (i + 1) for i in range(20)}
    seen: list[float] = []
    got = fetch.fetch(MemoryBucket(objects), list(objects), tmp_path, 10**6,  # type: ignore[arg-type]
                      check=lambda: None, progress=seen.append, parallel=4)  # fmt: skip
    assert [k for k, _ in got] == list(objects)
    assert [p.read_bytes() for _, p in got] == list(objects.values())
    assert sorted(seen) == seen and seen[-1] == 1.0 and len(seen) == 20


def test_fetch_counts_the_budget_over_all_parallel_downloads(tmp_path: Path) -> None:
    objects = {f"f{i}": b"x" * 100 for i in range(10)}
    with pytest.raises(CloudError, match="add up to more than 550 bytes") as caught:
        fetch.fetch(MemoryBucket(objects), list(objects), tmp_path, 550,  # type: ignore[arg-type]
                    check=lambda: None, progress=lambda _: None, parallel=3)  # fmt: skip
    assert caught.value.kind == "too_large"


def test_fetch_stops_at_the_first_failure(tmp_path: Path) -> None:
    objects = {f"f{i:03d}": b"x" * 50 for i in range(200)}
    bucket = MemoryBucket(objects, broken="f002")
    with pytest.raises(CloudError, match="f002"):
        fetch.fetch(bucket, list(objects), tmp_path, 10**6,  # type: ignore[arg-type]
                    check=lambda: None, progress=lambda _: None, parallel=2)  # fmt: skip
    assert len(bucket.started) < 200  # the rest was never started


def test_fetch_is_cancellable(tmp_path: Path) -> None:
    class Cancelled(Exception):
        pass

    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls > 5:
            raise Cancelled

    objects = {f"f{i}": b"x" * 1000 for i in range(50)}
    bucket = MemoryBucket(objects)
    with pytest.raises(Cancelled):
        fetch.fetch(bucket, list(objects), tmp_path, 10**6, check=check,  # type: ignore[arg-type]
                    progress=lambda _: None, parallel=4)  # fmt: skip
    assert len(bucket.started) < 50


def test_setting_a_secret_later_still_opens_what_the_generated_key_sealed(tmp_path: Path) -> None:
    before = credentials.seal(credentials.fernet("", str(tmp_path)), Credentials(key="old"))
    box = credentials.fernet("now configured", str(tmp_path))
    assert credentials.unseal(box, before).key == "old"
    after = credentials.seal(box, Credentials(key="new"))
    # New seals use the configured secret: they open without the key file.
    (tmp_path / credentials.KEY_FILE).unlink()
    assert (
        credentials.unseal(credentials.fernet("now configured", str(tmp_path)), after).key == "new"
    )
    with pytest.raises(CredentialsError):
        credentials.unseal(credentials.fernet("now configured", str(tmp_path)), before)
