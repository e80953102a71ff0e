"""Annotation objects with CVAT's field names, so `msgspec.to_builtins` gives CVAT's JSON.

`LabeledShape`, `LabeledTrack` and `LabeledImage` (a tag) are CVAT's names. The structs are
frozen: state changes replace an object with a new one (copy-on-write), so objects held by
events and by the aggregate are shared safely and never mutated behind anyone's back.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec
from msgspec import UNSET, UnsetType

ShapeType = Literal[
    "rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton"
]
Source = Literal["manual", "semi-auto", "auto", "file", "consensus"]
Kind = Literal["shape", "track", "tag"]
Key: TypeAlias = tuple[Kind, int]

SHAPE_TYPES: frozenset[str] = frozenset(ShapeType.__args__)  # type: ignore[attr-defined]
SOURCES: frozenset[str] = frozenset(Source.__args__)  # type: ignore[attr-defined]


class AttributeVal(msgspec.Struct, frozen=True):
    spec_id: int
    value: str


class _ShapeFields(msgspec.Struct, frozen=True, kw_only=True):
    type: ShapeType
    occluded: bool = False
    outside: bool = False
    z_order: int = 0
    rotation: float = 0.0
    # rectangle/ellipse: x1 y1 x2 y2 (ellipse: centre and a corner); cuboid: 8 points;
    # mask: RLE run lengths then left, top, right, bottom (inclusive); skeleton: usually empty
    points: list[float] = []


class SkeletonElementShape(_ShapeFields, frozen=True, kw_only=True):
    """A point of a skeleton shape (CVAT's SubLabeledShape): its own label, outside, occluded."""

    id: int | None = None
    frame: int
    label_id: int
    group: int | None = 0  # CVAT fills 0 when a client leaves it out
    source: Source = "manual"
    attributes: list[AttributeVal] = []


class LabeledShape(SkeletonElementShape, frozen=True, kw_only=True):
    elements: list[SkeletonElementShape] = []


class TrackedShape(_ShapeFields, frozen=True, kw_only=True):
    """A keyframe of a track. Its attributes are the label's mutable ones."""

    id: int | None = None
    frame: int
    attributes: list[AttributeVal] = []


class SkeletonElementTrack(msgspec.Struct, frozen=True, kw_only=True):
    """A point of a skeleton track (CVAT's SubLabeledTrack), with keyframes of its own."""

    id: int | None = None
    frame: int
    label_id: int
    group: int | None = 0  # CVAT fills 0 when a client leaves it out
    source: Source = "manual"
    shapes: list[TrackedShape] = []
    attributes: list[AttributeVal] = []  # immutable attributes


class LabeledTrack(SkeletonElementTrack, frozen=True, kw_only=True):
    elements: list[SkeletonElementTrack] = []


class LabeledImage(msgspec.Struct, frozen=True, kw_only=True):
    """A tag: a label on a whole frame."""

    id: int | None = None
    frame: int
    label_id: int
    group: int | None = 0  # CVAT fills 0 when a client leaves it out
    source: Source = "manual"
    attributes: list[AttributeVal] = []


AnnotationObject: TypeAlias = LabeledShape | LabeledTrack | LabeledImage


# Property-level patches. A field left UNSET is untouched and is omitted on the wire, so
# concurrent edits of different properties of one object both survive. `attributes` are
# merged by spec_id (set attribute 3 leaves attribute 4 alone), except when the same patch
# changes `label_id`: then they replace the list, since the old label's attributes are void.


class ElementShapePatch(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    occluded: bool | UnsetType = UNSET
    outside: bool | UnsetType = UNSET
    z_order: int | UnsetType = UNSET
    rotation: float | UnsetType = UNSET
    points: list[float] | UnsetType = UNSET
    attributes: list[AttributeVal] | UnsetType = UNSET


class ShapePatch(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    frame: int | UnsetType = UNSET  # a move to another frame of the job (elements follow)
    label_id: int | UnsetType = UNSET
    group: int | UnsetType | None = UNSET
    source: Source | UnsetType = UNSET
    occluded: bool | UnsetType = UNSET
    outside: bool | UnsetType = UNSET
    z_order: int | UnsetType = UNSET
    rotation: float | UnsetType = UNSET
    points: list[float] | UnsetType = UNSET
    attributes: list[AttributeVal] | UnsetType = UNSET
    elements: list[ElementShapePatch] | UnsetType = UNSET


class ElementTrackPatch(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    attributes: list[AttributeVal] | UnsetType = UNSET


class TrackPatch(msgspec.Struct, frozen=True, kw_only=True):
    """Track-level properties; keyframes change through TrackKeyframesChanged."""

    id: int
    label_id: int | UnsetType = UNSET
    group: int | UnsetType | None = UNSET
    source: Source | UnsetType = UNSET
    attributes: list[AttributeVal] | UnsetType = UNSET
    elements: list[ElementTrackPatch] | UnsetType = UNSET


class TagPatch(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    frame: int | UnsetType = UNSET
    label_id: int | UnsetType = UNSET
    group: int | UnsetType | None = UNSET
    source: Source | UnsetType = UNSET
    attributes: list[AttributeVal] | UnsetType = UNSET


class KeyframeChanges(msgspec.Struct, frozen=True, kw_only=True):
    """Keyframes set (inserted or replaced at their frame) and removed, for one track."""

    upserted: list[TrackedShape] = []
    removed_frames: list[int] = []


class ElementKeyframeChanges(KeyframeChanges, frozen=True, kw_only=True):
    element_id: int


class TrackKeyframeChanges(KeyframeChanges, frozen=True, kw_only=True):
    track_id: int
    elements: list[ElementKeyframeChanges] = []
