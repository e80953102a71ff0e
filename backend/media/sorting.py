"""Frame order: CVAT's sorting methods over the names of the uploaded images."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from backend.media.spec import SortingMethod

_DIGITS = re.compile(r"(\d+)")


class SortingError(ValueError):
    pass


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """`img2` before `img10`; digit runs compare as numbers, the rest case-insensitively
    (ties broken by the raw text, so the order is total)."""
    parts: list[tuple[int, int | str]] = []
    for i, part in enumerate(_DIGITS.split(name)):
        if i % 2:
            parts.append((0, int(part)))
        elif part:
            parts.append((1, part.casefold()))
    parts.append((2, name))
    return tuple(parts)


def sort_names(
    names: Sequence[str],
    method: SortingMethod,
    *,
    predefined: Sequence[str] = (),
    rng: random.Random | None = None,
) -> list[str]:
    """`names` are in the order the client sent them (what `predefined` keeps when the
    client gives no explicit order)."""
    if method == "lexicographical":
        return sorted(names)
    if method == "natural":
        return sorted(names, key=natural_key)
    if method == "random":
        shuffled = list(names)
        (rng or random.Random()).shuffle(shuffled)
        return shuffled
    if not predefined:
        return list(names)
    wanted = list(predefined)
    if len(set(wanted)) != len(wanted):
        raise SortingError("upload_file_order lists a file more than once.")
    missing = sorted(set(names) - set(wanted))
    unknown = sorted(set(wanted) - set(names))
    if missing or unknown:
        detail = []
        if missing:
            detail.append("not listed: " + ", ".join(missing[:10]))
        if unknown:
            detail.append("not uploaded: " + ", ".join(unknown[:10]))
        raise SortingError(
            "upload_file_order must list exactly the uploaded files (" + "; ".join(detail) + ")."
        )
    return wanted
