"""The golden interpolation fixtures hold for the Python implementation.

tests/fixtures/interpolation/*.json are shared with the TypeScript port
(web/src/annotation/interpolation.test.ts): both must reproduce every fixture's `expected`,
so neither language, nor the fixtures, can drift alone. `hand_checked` values were worked
out by hand from CVAT's algorithm (README.md there) and hold the fixtures themselves to it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from backend.domain.objects import SHAPE_TYPES
from tests.fixtures.interpolation.make_golden import fixture_paths, golden

PATHS = fixture_paths()
GOLDEN_TOLERANCE = 1e-12  # the same arithmetic gives the same doubles; this only absorbs JSON
HAND_TOLERANCE = 1e-9  # hand-written decimals of thirds and sevenths


def load(path: Path) -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads(path.read_text())
    return fixture


def mismatch(actual: Any, expected: Any, tolerance: float, where: str = "") -> str | None:
    """Where `actual` differs from `expected` (numbers within tolerance), or None."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return None if actual is expected else f"{where}: {actual!r} != {expected!r}"
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        close = math.isclose(actual, expected, rel_tol=tolerance, abs_tol=tolerance)
        return None if close else f"{where}: {actual!r} != {expected!r}"
    if isinstance(expected, list) and isinstance(actual, list):
        if len(actual) != len(expected):
            return f"{where}: {len(actual)} items != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            if found := mismatch(a, e, tolerance, f"{where}[{i}]"):
                return found
        return None
    if isinstance(expected, dict) and isinstance(actual, dict):
        if actual.keys() != expected.keys():
            return f"{where}: keys {sorted(actual)} != {sorted(expected)}"
        for key in expected:
            if found := mismatch(actual[key], expected[key], tolerance, f"{where}.{key}"):
                return found
        return None
    return None if actual == expected else f"{where}: {actual!r} != {expected!r}"


def test_the_fixtures_cover_every_shape_type() -> None:
    types = {shape["type"] for path in PATHS for shape in load(path)["track"]["shapes"]}
    assert types == SHAPE_TYPES


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_python_reproduces_the_golden_output(path: Path) -> None:
    fixture = load(path)
    assert mismatch(golden(fixture), fixture["expected"], GOLDEN_TOLERANCE) is None


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_hand_checked_values_hold(path: Path) -> None:
    fixture = load(path)
    output = golden(fixture)
    everything = {shape["frame"]: shape for shape in output["with_outside"]}
    visible = {shape["frame"] for shape in output["visible"]}
    assert fixture["hand_checked"], "every fixture has values checked by hand"
    for check in fixture["hand_checked"]:
        frame = check["frame"]
        if check.get("absent"):
            assert frame not in everything, check
            continue
        shape = everything[frame]
        if "present" in check:
            assert (frame in visible) is check["present"], check
        for key in ("points", "rotation", "outside", "occluded", "keyframe", "attributes"):
            if key in check:
                assert mismatch(shape[key], check[key], HAND_TOLERANCE, key) is None, check
        if "elements" in check:
            elements = [{"points": e["points"], "outside": e["outside"]} for e in shape["elements"]]
            assert mismatch(elements, check["elements"], HAND_TOLERANCE) is None, check
