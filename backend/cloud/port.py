"""The port every cloud provider adapter implements, and the errors it raises. Adapters
are synchronous (the provider SDKs are); callers run them in a thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol


class Status(StrEnum):
    """CVAT's storage and file status values."""

    AVAILABLE = "AVAILABLE"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"


ErrorKind = Literal["not_found", "forbidden", "unreachable", "too_large", "invalid"]


class CloudError(Exception):
    """A bucket or object problem, with a message naming the storage or the object."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Listing:
    """One page of a listing with "/" as the delimiter: object keys and common prefixes
    (both full keys from the bucket root; prefixes end in "/")."""

    files: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    next_token: str | None = None


Check = Callable[[], None]  # raises to stop a download (cancellation)
Progress = Callable[[int], None]  # bytes received so far for the current object


class CloudStorage(Protocol):
    name: str  # the bucket / container, for messages

    def probe(self) -> tuple[Status, str]:
        """The bucket's status and, unless AVAILABLE, why (for a 400 message)."""
        ...

    def status(self) -> Status: ...

    def file_status(self, key: str) -> Status: ...

    def list_page(self, prefix: str, next_token: str | None, page_size: int) -> Listing: ...

    def list_all(self, prefix: str, limit: int) -> list[str]:
        """Every object key under `prefix` (the whole subtree), sorted; CloudError
        too_large past `limit` keys."""
        ...

    def size(self, key: str) -> int:
        """The object's size in bytes; CloudError naming the key if it is missing."""
        ...

    def read(self, key: str, max_bytes: int) -> bytes:
        """A whole (small) object; CloudError too_large past `max_bytes`."""
        ...

    def download(
        self, key: str, target: Path, max_bytes: int, *, check: Check, progress: Progress
    ) -> int:
        """Stream the object to `target` (created; removed again on any failure); refuses
        objects larger than `max_bytes`. Returns the bytes written."""
        ...

    def upload(self, key: str, source: Path) -> None:
        """Write the file `source` to the object `key` (export and backup targets)."""
        ...

    def actions(self) -> list[str]:
        """What the credentials allow on the bucket ("read", "write"), as CVAT reports it."""
        ...
