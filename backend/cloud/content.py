"""CVAT's content-v2 listing: one level of a bucket (or of a manifest's file list) under
a prefix, directories first, names relative to the prefix, paged by an opaque token."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

from backend.cloud.port import CloudStorage

MAX_PAGE_SIZE = 1000  # CVAT's BUCKET_CONTENT_MAX_PAGE_SIZE
_ARCHIVES = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar"}


@dataclass(frozen=True)
class Entry:
    name: str
    type: str  # "REG" | "DIR"
    mime_type: str


@dataclass(frozen=True)
class Page:
    content: list[Entry]
    next: str | None


def mime_kind(name: str) -> str:
    """CVAT's coarse kinds, as /api/server/share reports them too."""
    lowered = name.lower()
    if any(lowered.endswith(ext) for ext in _ARCHIVES):
        return "archive"
    guessed = mimetypes.guess_type(lowered)[0] or ""
    if guessed.startswith("image/"):
        return "image"
    if guessed.startswith("video/"):
        return "video"
    if guessed == "application/pdf":
        return "pdf"
    return "unknown"


def _scope(prefix: str, storage_prefix: str) -> tuple[str, str | None]:
    """The prefix to list, given the storage's own `prefix` attribute, and, when the asked
    prefix lies above it, the one directory leading down to it (CVAT shows only that)."""
    if not storage_prefix or prefix.startswith(storage_prefix):
        return prefix, None
    if storage_prefix.startswith(prefix):
        rest = storage_prefix[len(prefix) :]
        head, slash, _ = rest.partition("/")
        return prefix, (head if slash else None)
    return prefix, ""  # outside the storage's prefix: nothing


def _entries(prefix: str, files: list[str], dirs: list[str]) -> list[Entry]:
    cut = prefix.rfind("/") + 1
    out = [Entry(d[cut:].rstrip("/"), "DIR", "DIR") for d in dirs]
    out += [Entry(f[cut:], "REG", mime_kind(f)) for f in files]
    return out


def bucket_page(
    storage: CloudStorage, prefix: str, next_token: str | None, page_size: int,
    storage_prefix: str = "",
) -> Page:  # fmt: skip
    prefix, only = _scope(prefix, storage_prefix)
    if only is not None:
        return Page([Entry(only, "DIR", "DIR")] if only else [], None)
    if storage_prefix and not prefix.startswith(storage_prefix):
        prefix = storage_prefix
    listing = storage.list_page(prefix, next_token, page_size)
    return Page(_entries(prefix, listing.files, listing.prefixes), listing.next_token)


def manifest_page(
    keys: list[str], prefix: str, start: int, page_size: int, storage_prefix: str = ""
) -> Page:
    """The same view over a manifest's files (full keys), paged by position."""
    prefix, only = _scope(prefix, storage_prefix)
    if only is not None:
        return Page([Entry(only, "DIR", "DIR")] if only else [], None)
    dirs: dict[str, None] = {}
    files: list[str] = []
    for key in keys:
        if not key.startswith(prefix):
            continue
        head, slash, _ = key[len(prefix) :].partition("/")
        if slash:
            dirs.setdefault(key[: len(prefix)] + head + "/")
        else:
            files.append(key)
    entries = _entries(prefix, files, list(dirs))  # directories first, as CVAT sorts
    page = entries[start : start + page_size]
    more = start + page_size < len(entries)
    return Page(page, str(start + page_size) if more else None)
