"""Which task frame a name in a dataset means (CVAT's match_frame, then match_frame_fuzzy):
the frame's path, with or without extension; else the longest trailing part of the name
that ends exactly one frame's path, so a dataset root above or below the task's does not
matter; never a guess between two frames that end alike. A subset hint ("train") is tried
as a directory first, so images/train/a.jpg and images/val/a.jpg stay apart."""

from __future__ import annotations

import os
from collections.abc import Sequence

from backend.formats.model import FrameSpec

__all__ = ["FrameMatcher"]


def _suffixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[i:]) for i in range(len(parts))]  # longest first


class FrameMatcher:
    def __init__(self, frames: Sequence[FrameSpec]) -> None:
        self.by_path: dict[str, int] = {}
        # every trailing part of a frame's path without extension ("c", "b/c", "a/b/c")
        self.by_suffix: dict[str, set[int]] = {}
        self.numbers = {frame.number for frame in frames}
        for frame in frames:
            name = frame.name.replace("\\", "/")
            stem = os.path.splitext(name)[0]
            self.by_path[stem] = frame.number
            self.by_path[name] = frame.number
            for suffix in _suffixes(stem):
                self.by_suffix.setdefault(suffix, set()).add(frame.number)

    def exact(self, name: str) -> int | None:
        name = name.replace("\\", "/")
        for key in (name, os.path.splitext(name)[0]):
            if key in self.by_path:
                return self.by_path[key]
        return None

    def trailing(self, name: str) -> int | None:
        """The one frame whose path ends with the longest trailing part of `name` that
        any frame's path ends with; None when none does or two do."""
        stem = os.path.splitext(name.replace("\\", "/"))[0]
        for suffix in _suffixes(stem):
            found = self.by_suffix.get(suffix)
            if found:
                return next(iter(found)) if len(found) == 1 else None
        return None

    def by_name(self, name: str, subset: str | None = None) -> int | None:
        found = self.exact(name)
        if found is None and subset:
            found = self.trailing(f"{subset}/{name.replace(chr(92), '/')}")
        return found if found is not None else self.trailing(name)
