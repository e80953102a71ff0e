"""Rules an annotation must satisfy, each raising ValidationError naming the field.

Point counts follow CVAT: rectangle and ellipse 4 numbers, cuboid 16, points at least one
x,y pair, polyline at least two pairs, polygon at least three; a mask is CVAT's RLE (run
lengths of a 0/1 raster, starting with zeros, row-major over its box) followed by the box
left, top, right, bottom (inclusive), so the runs must add up to the box area.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from backend.domain.errors import ValidationError
from backend.domain.events import JobCreated
from backend.domain.labels import LabelSet, attribute_value_error
from backend.domain.objects import SHAPE_TYPES, SOURCES, AttributeVal

Mutability = Literal["all", "mutable", "immutable"]

_MIN_COORDS = {"points": 2, "polyline": 4, "polygon": 6}
_EXACT_COORDS = {"rectangle": 4, "ellipse": 4, "cuboid": 16}


def check_shape_type(shape_type: str, field: str) -> None:
    if shape_type not in SHAPE_TYPES:
        raise ValidationError(f"unknown shape type {shape_type!r}", field)


def check_source(source: str, field: str) -> None:
    if source not in SOURCES:
        raise ValidationError(f"{source!r} is not one of {sorted(SOURCES)}", field)


def check_group(group: int | None, field: str) -> None:
    if group is not None and group < 0:
        raise ValidationError(f"group must be >= 0, got {group}", field)


def check_rotation(rotation: float, field: str) -> None:
    if not (math.isfinite(rotation) and 0 <= rotation <= 360):
        raise ValidationError(f"rotation must lie in [0, 360], got {rotation}", field)


def check_points(shape_type: str, points: Sequence[float], field: str) -> None:
    for index, value in enumerate(points):
        if not math.isfinite(value):
            raise ValidationError(f"{value} is not a finite number", f"{field}[{index}]")
    count = len(points)
    if shape_type in _EXACT_COORDS:
        expected = _EXACT_COORDS[shape_type]
        if count != expected:
            raise ValidationError(f"a {shape_type} has {expected} coordinates, got {count}", field)
    elif shape_type in _MIN_COORDS:
        least = _MIN_COORDS[shape_type]
        if count < least or count % 2:
            raise ValidationError(
                f"a {shape_type} needs an even number (>= {least}) of coordinates, got {count}",
                field,
            )
    elif shape_type == "mask":
        check_mask(points, field)
    elif shape_type == "skeleton" and count % 2:
        raise ValidationError(f"coordinates come in x,y pairs, got {count}", field)


def check_mask(points: Sequence[float], field: str) -> None:
    if len(points) < 5:
        raise ValidationError("a mask is RLE runs followed by left, top, right, bottom", field)
    if not all(float(v).is_integer() and v >= 0 for v in points):
        raise ValidationError("mask runs and box must be non-negative integers", field)
    left, top, right, bottom = (int(v) for v in points[-4:])
    if right < left or bottom < top:
        raise ValidationError(f"mask box {[left, top, right, bottom]} is empty", field)
    area = (right - left + 1) * (bottom - top + 1)
    covered = int(sum(points[:-4]))
    if covered != area:
        raise ValidationError(f"mask runs cover {covered} pixels, its box has {area}", field)


def check_label(
    labels: LabelSet, label_id: int, used_as: str, field: str, parent_label: int | None = None
) -> None:
    """`used_as` is a shape type or 'tag'; `parent_label` is set for skeleton elements."""
    label = labels.get(label_id)
    if label is None:
        raise ValidationError(f"unknown label {label_id}", field)
    parent = labels.parent_of(label_id)
    if parent != parent_label:
        if parent_label is None:
            raise ValidationError(f"label {label_id} is a skeleton point label", field)
        raise ValidationError(f"label {label_id} is not a point of label {parent_label}", field)
    if label.type not in ("any", used_as) or (used_as == "skeleton") != (label.type == "skeleton"):
        raise ValidationError(f"label {label_id} is for {label.type} objects, not {used_as}", field)


def check_attributes(
    labels: LabelSet,
    label_id: int,
    attributes: Sequence[AttributeVal],
    field: str,
    mutability: Mutability = "all",
) -> None:
    """Tracks keep immutable attributes on the track and mutable ones per keyframe (CVAT)."""
    seen: set[int] = set()
    for index, attr in enumerate(attributes):
        where = f"{field}[{index}]"
        spec = labels.attribute(label_id, attr.spec_id)
        if spec is None:
            raise ValidationError(
                f"{attr.spec_id} is not an attribute of label {label_id}", f"{where}.spec_id"
            )
        if attr.spec_id in seen:
            raise ValidationError(f"attribute {attr.spec_id} is given twice", f"{where}.spec_id")
        seen.add(attr.spec_id)
        if mutability == "mutable" and not spec.mutable:
            raise ValidationError(
                f"attribute {spec.name!r} is immutable and cannot change per frame of a track",
                f"{where}.spec_id",
            )
        if mutability == "immutable" and spec.mutable:
            raise ValidationError(
                f"attribute {spec.name!r} is mutable: set it on the track's keyframes",
                f"{where}.spec_id",
            )
        problem = attribute_value_error(spec, attr.value)
        if problem is not None:
            raise ValidationError(problem, f"{where}.value")


class JobFrames:
    """The frames a job owns; built once per decide() so sparse (GT) jobs test in O(1)."""

    __slots__ = ("_set", "job")

    def __init__(self, job: JobCreated) -> None:
        self.job = job
        self._set = None if job.frames is None else frozenset(job.frames)

    def __contains__(self, frame: int) -> bool:
        if self._set is None:
            return self.job.start_frame <= frame <= self.job.stop_frame
        return frame in self._set

    def check(self, frame: int, field: str, *, closing_keyframe: bool = False) -> None:
        """A track may close with an outside keyframe just past the job (CVAT's segment cut)."""
        if frame in self or (closing_keyframe and frame == self.job.stop_frame + 1):
            return
        job = self.job
        raise ValidationError(
            f"frame {frame} is not a frame of job {job.job_id} "
            f"({job.start_frame}..{job.stop_frame})",
            field,
        )
