"""The one way an event changes annotation objects, usable on a partial mapping.

A projection that keeps one row per object loads only `affected_objects(event).keys`,
calls `apply_to_objects` on that small mapping and writes the result back; the aggregate
calls the same function on its full mapping. Objects are frozen and replaced, never
mutated, so the cost of an event is proportional to what it touches.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any, NamedTuple, TypeVar

from msgspec import UNSET, structs

from backend.domain.events import (
    AnnotationsCleared,
    AnnotationsReplaced,
    Event,
    ObjectsCreated,
    ObjectsDeleted,
    ObjectsUpdated,
    TrackKeyframesChanged,
)
from backend.domain.objects import (
    AnnotationObject,
    AttributeVal,
    ElementShapePatch,
    Key,
    KeyframeChanges,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    ShapePatch,
    SkeletonElementShape,
    SkeletonElementTrack,
    TagPatch,
    TrackedShape,
    TrackKeyframeChanges,
    TrackPatch,
)

ObjectMap = MutableMapping[Key, AnnotationObject]


class Affected(NamedTuple):
    """Keys an event touches. `resets`: every other object of the job is gone afterwards."""

    keys: frozenset[Key]
    resets: bool


def _content_keys(
    shapes: Iterable[LabeledShape], tracks: Iterable[LabeledTrack], tags: Iterable[LabeledImage]
) -> frozenset[Key]:
    keys: list[Key] = [("shape", _id(s.id)) for s in shapes]
    keys += [("track", _id(t.id)) for t in tracks]
    keys += [("tag", _id(t.id)) for t in tags]
    return frozenset(keys)


def _id(value: int | None) -> int:
    if value is None:
        raise ValueError("an object inside an event has no id")
    return value


def affected_objects(event: Event) -> Affected:
    if isinstance(event, ObjectsCreated):
        return Affected(_content_keys(event.shapes, event.tracks, event.tags), False)
    if isinstance(event, AnnotationsReplaced):
        return Affected(_content_keys(event.shapes, event.tracks, event.tags), True)
    if isinstance(event, AnnotationsCleared):
        return Affected(frozenset(), True)
    if isinstance(event, ObjectsUpdated):
        keys: list[Key] = [("shape", p.id) for p in event.shapes]
        keys += [("track", p.id) for p in event.tracks]
        keys += [("tag", p.id) for p in event.tags]
        return Affected(frozenset(keys), False)
    if isinstance(event, TrackKeyframesChanged):
        return Affected(frozenset(("track", c.track_id) for c in event.tracks), False)
    if isinstance(event, ObjectsDeleted):
        keys = [("shape", i) for i in event.shapes]
        keys += [("track", i) for i in event.tracks]
        keys += [("tag", i) for i in event.tags]
        return Affected(frozenset(keys), False)
    return Affected(frozenset(), False)  # job lifecycle events hold no objects


def apply_to_objects(event: Event, objects: ObjectMap) -> None:
    """Apply `event` to `objects`, which must hold at least `affected_objects(event).keys`
    that exist. After a resetting event `objects` is the job's complete new content.

    Patches for keys absent from `objects` are skipped: decide() never emits them, and a
    replay must not fail on history.
    """
    if isinstance(event, ObjectsCreated | AnnotationsReplaced):
        if isinstance(event, AnnotationsReplaced):
            objects.clear()
        for shape in event.shapes:
            objects["shape", _id(shape.id)] = shape
        for track in event.tracks:
            objects["track", _id(track.id)] = track
        for tag in event.tags:
            objects["tag", _id(tag.id)] = tag
    elif isinstance(event, AnnotationsCleared):
        objects.clear()
    elif isinstance(event, ObjectsUpdated):
        for shape_patch in event.shapes:
            _replace(objects, ("shape", shape_patch.id), LabeledShape, patch_shape, shape_patch)
        for track_patch in event.tracks:
            _replace(objects, ("track", track_patch.id), LabeledTrack, patch_track, track_patch)
        for tag_patch in event.tags:
            _replace(objects, ("tag", tag_patch.id), LabeledImage, patch_tag, tag_patch)
    elif isinstance(event, TrackKeyframesChanged):
        for change in event.tracks:
            _replace(objects, ("track", change.track_id), LabeledTrack, change_keyframes, change)
    elif isinstance(event, ObjectsDeleted):
        for key in affected_objects(event).keys:
            objects.pop(key, None)


T = TypeVar("T")


def _replace(objects: ObjectMap, key: Key, cls: type[T], func: Any, patch: Any) -> None:
    current = objects.get(key)
    if isinstance(current, cls):
        objects[key] = func(current, patch)


def merge_attributes(
    current: list[AttributeVal], updates: list[AttributeVal]
) -> list[AttributeVal]:
    """Set the given spec ids, keep the others, in their original order."""
    if not updates:
        return current
    by_spec = {attr.spec_id: attr for attr in current}
    for attr in updates:
        by_spec[attr.spec_id] = attr
    return list(by_spec.values())


_SHAPE_FIELDS = (
    "frame", "group", "source", "occluded", "outside", "z_order", "rotation", "points",
)  # fmt: skip
_ELEMENT_FIELDS = ("occluded", "outside", "z_order", "rotation", "points")


def _plain_changes(patch: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: value for name in names if (value := getattr(patch, name)) is not UNSET}


def _label_and_attributes(obj: Any, patch: Any, changes: dict[str, Any]) -> None:
    if patch.label_id is not UNSET and patch.label_id != obj.label_id:
        changes["label_id"] = patch.label_id
        # A new label voids the old label's attributes: the patch brings the full list.
        changes["attributes"] = [] if patch.attributes is UNSET else list(patch.attributes)
    elif patch.attributes is not UNSET:
        changes["attributes"] = merge_attributes(obj.attributes, patch.attributes)


def _patch_element(element: SkeletonElementShape, patch: ElementShapePatch) -> Any:
    changes = _plain_changes(patch, _ELEMENT_FIELDS)
    if patch.attributes is not UNSET:
        changes["attributes"] = merge_attributes(element.attributes, patch.attributes)
    return structs.replace(element, **changes)


def patch_shape(shape: LabeledShape, patch: ShapePatch) -> LabeledShape:
    changes = _plain_changes(patch, _SHAPE_FIELDS)
    _label_and_attributes(shape, patch, changes)
    if patch.elements is not UNSET and patch.elements:
        by_id = {p.id: p for p in patch.elements}
        changes["elements"] = [
            _patch_element(e, by_id[e.id]) if e.id in by_id else e for e in shape.elements
        ]
    if "frame" in changes:  # a skeleton's points live on its frame
        elements = changes.get("elements", shape.elements)
        changes["elements"] = [structs.replace(e, frame=changes["frame"]) for e in elements]
    return structs.replace(shape, **changes)


def patch_track(track: LabeledTrack, patch: TrackPatch) -> LabeledTrack:
    changes = _plain_changes(patch, ("group", "source"))
    _label_and_attributes(track, patch, changes)
    if "label_id" in changes:
        # Keyframe attributes were the old label's mutable ones.
        changes["shapes"] = [structs.replace(s, attributes=[]) for s in track.shapes]
    if patch.elements is not UNSET and patch.elements:
        by_id = {p.id: p for p in patch.elements}
        elements = []
        for element in track.elements:
            element_patch = by_id.get(_id(element.id))
            if element_patch is not None and element_patch.attributes is not UNSET:
                merged = merge_attributes(element.attributes, element_patch.attributes)
                element = structs.replace(element, attributes=merged)
            elements.append(element)
        changes["elements"] = elements
    return structs.replace(track, **changes)


def patch_tag(tag: LabeledImage, patch: TagPatch) -> LabeledImage:
    changes = _plain_changes(patch, ("frame", "group", "source"))
    _label_and_attributes(tag, patch, changes)
    return structs.replace(tag, **changes)


def merge_keyframes(shapes: list[TrackedShape], change: KeyframeChanges) -> list[TrackedShape]:
    by_frame = {shape.frame: shape for shape in shapes}
    for frame in change.removed_frames:
        by_frame.pop(frame, None)
    for shape in change.upserted:
        by_frame[shape.frame] = shape
    return sorted(by_frame.values(), key=lambda shape: shape.frame)


def track_start(shapes: list[TrackedShape], elements: Iterable[SkeletonElementTrack]) -> int | None:
    """A track starts at its first keyframe, counting its element tracks' (CVAT syncs them)."""
    frames = [s.frame for s in shapes[:1]] + [e.shapes[0].frame for e in elements if e.shapes]
    return min(frames) if frames else None


def change_keyframes(track: LabeledTrack, change: TrackKeyframeChanges) -> LabeledTrack:
    shapes = merge_keyframes(track.shapes, change)
    elements = track.elements
    if change.elements:
        by_id = {c.element_id: c for c in change.elements}
        elements = []
        for element in track.elements:
            element_change = by_id.get(_id(element.id))
            if element_change is not None:
                element_shapes = merge_keyframes(element.shapes, element_change)
                start = track_start(element_shapes, ())
                element = structs.replace(
                    element,
                    shapes=element_shapes,
                    frame=element.frame if start is None else start,
                )
            elements.append(element)
    start = track_start(shapes, elements)
    return structs.replace(
        track, shapes=shapes, elements=elements, frame=track.frame if start is None else start
    )
