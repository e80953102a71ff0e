"""Per-user undo and redo as compensating events (pure: no IO). History is never rewritten.

The rule
--------
* **A change** is one write: the consecutive events of a job stream that share an actor
  and a write id (the request id of an HTTP write, the op id of a socket op). Events
  without a write id are a change each. Only changes that touch annotation objects count.
* **The stacks are derived from the log**, per user and job, never stored elsewhere.
  Compensating events carry `undo_of` / `redo_of` (the event id of the first event of the
  change they compensate) in their metadata. Walking the user's changes in order: a plain
  change is pushed on the undo stack and empties the redo stack; an undo of X takes X off
  the undo stack and pushes the undo on the redo stack; a redo of U takes U off the redo
  stack and pushes the redo on the undo stack (so undoing a redo is an ordinary undo).
* **Undo** compensates the top of the undo stack; **redo** compensates the top of the redo
  stack (the undo itself), so both follow one rule. Compensating change C, for each object
  C touched (before = the object before C, after = the object after C, now = the object
  now):

  - C changed properties of it: each property C changed is set back to its value before
    C, **unless an event of someone else after C changed that property** (their edit is
    never removed): that property is skipped. Properties are property-level as the
    commands are: frame, label, group, source, geometry fields, each attribute by spec id,
    each skeleton element's fields and attributes, each track keyframe by frame. A label
    change and what it voids (the attributes, a track's keyframe attributes) are one
    property. An object someone else deleted since is skipped.
  - C created it: it is deleted, unless someone else changed it since (then it stays and
    is reported as skipped): their work on it is never removed.
  - C deleted it (a delete, or the reset of a PUT/DELETE of all annotations): it is
    re-created with its old ids (keyframes and elements included), unless it exists again.

  - Objects, and label changes, whose label was deleted since are not brought back.

  The user's own later events are not "someone else's": on top of the stack, each own
  later change was undone already (compensated by its undo), so together they leave it
  as it was.
* A change whose compensation is empty (everything in it was overwritten by others since)
  can never become undoable again (later edits only accumulate), so undo passes over it to
  the next change on the stack. Nothing left: nothing to undo (the API answers 409).
* What is skipped is reported with the reason, so a client can tell the user.

Without interference undo restores the state before the change exactly and redo
restores the state after it (tested with hypothesis in tests/unit/test_undo_properties.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import msgspec
from msgspec import structs

from backend.domain.apply import (
    ObjectMap,
    affected_objects,
    apply_to_objects,
    patch_shape,
    patch_tag,
    patch_track,
    track_start,
)
from backend.domain.events import (
    AnnotationsCleared,
    AnnotationsReplaced,
    Event,
    ObjectsCreated,
    ObjectsDeleted,
    ObjectsUpdated,
    TrackKeyframesChanged,
)
from backend.domain.labels import LabelSet
from backend.domain.objects import (
    AnnotationObject,
    AttributeVal,
    ElementKeyframeChanges,
    ElementShapePatch,
    ElementTrackPatch,
    Key,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    ShapePatch,
    TagPatch,
    TrackedShape,
    TrackKeyframeChanges,
    TrackPatch,
)

ANNOTATION_EVENTS: tuple[type[Event], ...] = (
    ObjectsCreated,
    ObjectsUpdated,
    TrackKeyframesChanged,
    ObjectsDeleted,
    AnnotationsReplaced,
    AnnotationsCleared,
)
ChangeKind = Literal["change", "undo", "redo"]
Prop = tuple[Any, ...]
_ALL: Prop = ("*",)  # the whole object (created, deleted, reset)


class LoggedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A job-stream event with the metadata undo needs."""

    revision: int
    event_id: str
    event: Event
    actor: int | None = None
    write_id: str | None = None  # request id or op id: the events of one write share it
    undo_of: str | None = None
    redo_of: str | None = None


class Change(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # event id of its first event
    actor: int | None
    first: int  # index of its first event in the log
    last: int  # index of its last event
    kind: ChangeKind
    of: str | None  # the change it compensates (undo/redo)


class Skipped(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    id: int
    reason: str
    properties: list[str] = []


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """What an undo or redo appends: `events`, marked as compensating `target`."""

    action: Literal["undo", "redo"]
    target: Change
    events: list[Event]
    skipped: list[Skipped]


# --- the stacks -----------------------------------------------------------------------


def changes(log: Sequence[LoggedEvent]) -> list[Change]:
    """The log cut into changes (see the module docstring); every event in one."""
    found: list[Change] = []
    start = 0
    for i in range(1, len(log) + 1):
        if i < len(log) and _same_write(log[i - 1], log[i]):
            continue
        head = log[start]
        kind: ChangeKind = "undo" if head.undo_of else "redo" if head.redo_of else "change"
        of = head.undo_of or head.redo_of
        found.append(Change(id=head.event_id, actor=head.actor, first=start, last=i - 1,
                            kind=kind, of=of))  # fmt: skip
        start = i
    return found


def _same_write(a: LoggedEvent, b: LoggedEvent) -> bool:
    return (
        a.write_id is not None
        and a.write_id == b.write_id
        and a.actor == b.actor
        and (a.undo_of, a.redo_of) == (b.undo_of, b.redo_of)
    )


def _touches_objects(log: Sequence[LoggedEvent], change: Change) -> bool:
    return any(
        isinstance(log[i].event, ANNOTATION_EVENTS) for i in range(change.first, change.last + 1)
    )


def stacks(log: Sequence[LoggedEvent], actor: int) -> tuple[list[Change], list[Change]]:
    """(undo stack, redo stack) of `actor`, tops last."""
    undo: list[Change] = []
    redo: list[Change] = []
    for change in changes(log):
        if change.actor != actor or not _touches_objects(log, change):
            continue
        if change.kind == "undo":
            undo = [c for c in undo if c.id != change.of]
            redo.append(change)
        elif change.kind == "redo":
            redo = [c for c in redo if c.id != change.of]
            undo.append(change)
        else:
            undo.append(change)
            redo.clear()
    return undo, redo


def plan(
    log: Sequence[LoggedEvent],
    actor: int,
    action: Literal["undo", "redo"],
    labels: LabelSet | None = None,
) -> Plan | None:
    """The compensation for `actor`'s next undo (or redo), or None: nothing to do.
    With `labels` (the job's labels now), objects and labels whose label was deleted since
    are not brought back."""
    undo, redo = stacks(log, actor)
    for target in reversed(undo if action == "undo" else redo):
        events, skipped = compensate(log, target, actor, labels)
        if events:
            return Plan(action=action, target=target, events=events, skipped=skipped)
    return None


# --- properties -----------------------------------------------------------------------

_SHAPE_PLAIN = ("type", "frame", "group", "source", "occluded", "outside", "z_order",
                "rotation", "points")  # fmt: skip
_ELEMENT_PLAIN = ("occluded", "outside", "z_order", "rotation", "points")
_TAG_PLAIN = ("frame", "group", "source")
_TRACK_PLAIN = ("group", "source")


def _attrs(prefix: Prop, attributes: Iterable[AttributeVal]) -> dict[Prop, Any]:
    return {(*prefix, "attr", a.spec_id): a.value for a in attributes}


def properties(obj: AnnotationObject | None) -> dict[Prop, Any]:
    """The property-level values of an object (the unit of conflicts and of undo)."""
    props: dict[Prop, Any] = {}
    if obj is None:
        return props
    props["label_id",] = obj.label_id
    props.update(_attrs((), obj.attributes))
    if isinstance(obj, LabeledShape):
        props.update({(name,): getattr(obj, name) for name in _SHAPE_PLAIN})
        for element in obj.elements:
            where: Prop = ("el", element.id)
            props.update({(*where, n): getattr(element, n) for n in _ELEMENT_PLAIN})
            props.update(_attrs(where, element.attributes))
    elif isinstance(obj, LabeledTrack):
        props.update({(name,): getattr(obj, name) for name in _TRACK_PLAIN})
        props.update({("kf", s.frame): s for s in obj.shapes})
        for track_element in obj.elements:
            where = ("el", track_element.id)
            props.update(_attrs(where, track_element.attributes))
            props.update({(*where, "kf", s.frame): s for s in track_element.shapes})
    else:
        props.update({(name,): getattr(obj, name) for name in _TAG_PLAIN})
    return props


def _label_bound(prop: Prop, obj: AnnotationObject) -> bool:
    """Properties a label change voids: the object's attributes, a track's keyframes."""
    return prop[0] == "attr" or (isinstance(obj, LabeledTrack) and prop[0] == "kf")


def _name(prop: Prop) -> str:
    return ".".join(str(part) for part in prop)


# --- compensation ---------------------------------------------------------------------


def _objects_at(log: Sequence[LoggedEvent], stop: int) -> dict[Key, AnnotationObject]:
    objects: dict[Key, AnnotationObject] = {}
    for logged in log[:stop]:
        apply_to_objects(logged.event, objects)
    return objects


def compensate(
    log: Sequence[LoggedEvent], change: Change, actor: int, labels: LabelSet | None = None
) -> tuple[list[Event], list[Skipped]]:
    """The events that compensate `change` now (end of `log`), and what is skipped."""
    objects = _objects_at(log, change.first)
    before = dict(objects)
    for logged in log[change.first : change.last + 1]:
        apply_to_objects(logged.event, objects)
    after = dict(objects)
    keys = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    touched: dict[Key, set[Prop]] = {key: set() for key in keys}
    for logged in log[change.last + 1 :]:
        affected = affected_objects(logged.event)
        watched = keys if affected.resets else keys & affected.keys
        old = {key: objects.get(key) for key in watched}
        apply_to_objects(logged.event, objects)
        if logged.actor == actor:
            continue  # own later changes are undone already (see the module docstring)
        for key in watched:
            new = objects.get(key)
            if old[key] is None or new is None or _replaced(old[key], new):
                touched[key].add(_ALL)
                continue
            old_props, new_props = properties(old[key]), properties(new)
            touched[key].update(
                p
                for p in old_props.keys() | new_props.keys()
                if old_props.get(p) != new_props.get(p)
            )
    return _Compensation(before, after, objects, touched, labels).events(sorted(keys))


def _replaced(old: AnnotationObject | None, new: AnnotationObject | None) -> bool:
    """An object deleted and created again in one event (a reset): all of it is new."""
    return type(old) is not type(new)


class _Compensation:
    def __init__(
        self,
        before: Mapping[Key, AnnotationObject],
        after: Mapping[Key, AnnotationObject],
        now: Mapping[Key, AnnotationObject],
        touched: Mapping[Key, set[Prop]],
        labels: LabelSet | None,
    ) -> None:
        self.before, self.after, self.now, self.touched = before, after, now, touched
        self.labels = labels
        self.deleted: list[Key] = []
        self.created: list[AnnotationObject] = []
        self.patches: list[tuple[Key, AnnotationObject, AnnotationObject]] = []
        self.skipped: list[Skipped] = []

    def skip(self, key: Key, reason: str, props: Iterable[Prop] = ()) -> None:
        names = sorted(_name(p) for p in props)
        self.skipped.append(Skipped(kind=key[0], id=key[1], reason=reason, properties=names))

    def events(self, keys: Sequence[Key]) -> tuple[list[Event], list[Skipped]]:
        for key in keys:
            self._object(key)
        return self._emit(), self.skipped

    def _object(self, key: Key) -> None:
        before, after, now = self.before.get(key), self.after.get(key), self.now.get(key)
        touched = self.touched[key]
        if before is None:  # created by the change
            if now is None:
                return
            if touched:
                self.skip(key, "changed by someone else since: kept")
                return
            self.deleted.append(key)
        elif after is None:  # deleted by the change
            if not self._label_exists(before.label_id):
                self.skip(key, "its label was deleted")
            elif now is None:
                self.created.append(before)
            else:
                self.skip(key, "exists again")
        elif now is None:
            self.skip(key, "deleted by someone else since")
        else:
            target = self._restored(key, before, after, now, touched)
            if target != now:
                self.patches.append((key, now, target))

    def _restored(
        self,
        key: Key,
        before: AnnotationObject,
        after: AnnotationObject,
        now: AnnotationObject,
        touched: set[Prop],
    ) -> AnnotationObject:
        old, new, current = properties(before), properties(after), properties(now)
        changed = {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}
        restore = changed - touched
        if ("label_id",) in changed:
            bound = {p for p in old.keys() | new.keys() | current.keys() if _label_bound(p, now)}
            if (
                ("label_id",) in touched
                or bound & touched
                or not self._label_exists(old["label_id",])
            ):
                restore -= bound | {("label_id",)}
            else:
                restore |= bound | {("label_id",)}
        if changed - restore:
            self.skip(key, "changed by someone else since", changed - restore)
        values = dict(current)
        # In the before object's order (attribute order is part of an object's value).
        ordered = [p for p in old if p in restore] + sorted(
            (p for p in restore if p not in old), key=_name
        )
        for prop in ordered:
            if prop in old:
                values[prop] = old[prop]
            else:
                values.pop(prop, None)
        return _rebuild(now, values)

    def _label_exists(self, label_id: int) -> bool:
        return self.labels is None or label_id in self.labels

    def _emit(self) -> list[Event]:
        events: list[Event] = []
        shape_patches: list[ShapePatch] = []
        track_patches: list[TrackPatch] = []
        tag_patches: list[TagPatch] = []
        keyframes: list[TrackKeyframeChanges] = []
        for key, now, target in self.patches:
            made = _patch_events(now, target)
            if made is None:  # not expressible as a patch: replace the object whole
                self.deleted.append(key)
                self.created.append(target)
                continue
            patch, keyframe_change = made
            if isinstance(patch, ShapePatch):
                shape_patches.append(patch)
            elif isinstance(patch, TrackPatch):
                track_patches.append(patch)
            elif isinstance(patch, TagPatch):
                tag_patches.append(patch)
            if keyframe_change is not None:
                keyframes.append(keyframe_change)
        if self.deleted:
            ids = {kind: sorted(i for k, i in self.deleted if k == kind) for kind in
                   ("shape", "track", "tag")}  # fmt: skip
            events.append(ObjectsDeleted(shapes=ids["shape"], tracks=ids["track"], tags=ids["tag"]))
        if self.created:
            events.append(
                ObjectsCreated(
                    shapes=[o for o in self.created if isinstance(o, LabeledShape)],
                    tracks=[o for o in self.created if isinstance(o, LabeledTrack)],
                    tags=[o for o in self.created if isinstance(o, LabeledImage)],
                )
            )
        if shape_patches or track_patches or tag_patches:
            events.append(ObjectsUpdated(shapes=shape_patches, tracks=track_patches,
                                         tags=tag_patches))  # fmt: skip
        if keyframes:
            events.append(TrackKeyframesChanged(tracks=keyframes))
        return events


# --- objects from property values, and the patches between two objects ---------------


def _attr_list(
    current: list[AttributeVal], values: Mapping[Prop, Any], prefix: Prop
) -> list[AttributeVal]:
    """Attributes from property values, in the current order, new ones after."""
    wanted = {p[-1]: v for p, v in values.items() if p[:-1] == (*prefix, "attr")}
    result = [AttributeVal(a.spec_id, wanted[a.spec_id]) for a in current if a.spec_id in wanted]
    seen = {a.spec_id for a in current}
    result += [AttributeVal(spec, value) for spec, value in wanted.items() if spec not in seen]
    return result


def _rebuild(now: AnnotationObject, values: Mapping[Prop, Any]) -> AnnotationObject:
    label: dict[str, Any] = {"label_id": values["label_id",]}
    label["attributes"] = _attr_list(now.attributes, values, ())
    if isinstance(now, LabeledShape):
        plain = {n: values[n,] for n in _SHAPE_PLAIN}
        elements = [
            structs.replace(
                e,
                frame=plain["frame"],
                attributes=_attr_list(e.attributes, values, ("el", e.id)),
                **{n: values["el", e.id, n] for n in _ELEMENT_PLAIN},
            )
            for e in now.elements
        ]
        return structs.replace(now, **plain, **label, elements=elements)
    if isinstance(now, LabeledTrack):
        shapes = _keyframes(values, ())
        track_elements = []
        for e in now.elements:
            element_shapes = _keyframes(values, ("el", e.id))
            start = track_start(element_shapes, ())
            track_elements.append(
                structs.replace(
                    e,
                    shapes=element_shapes,
                    frame=e.frame if start is None else start,
                    attributes=_attr_list(e.attributes, values, ("el", e.id)),
                )
            )
        start = track_start(shapes, track_elements)
        return structs.replace(
            now,
            **{n: values[n,] for n in _TRACK_PLAIN},
            **label,
            shapes=shapes,
            elements=track_elements,
            frame=now.frame if start is None else start,
        )
    return structs.replace(now, **{n: values[n,] for n in _TAG_PLAIN}, **label)


def _keyframes(values: Mapping[Prop, Any], prefix: Prop) -> list[TrackedShape]:
    found = [v for p, v in values.items() if p[:-1] == (*prefix, "kf")]
    return sorted(found, key=lambda s: s.frame)


def _diff(old: Any, new: Any, names: Iterable[str]) -> dict[str, Any]:
    return {n: getattr(new, n) for n in names if getattr(old, n) != getattr(new, n)}


def _label_changes(old: Any, new: Any) -> dict[str, Any]:
    """label_id and attributes of an object (or an element) as a patch gives them."""
    if old.label_id != new.label_id:
        return {"label_id": new.label_id, "attributes": list(new.attributes)}
    values = {a.spec_id: a.value for a in old.attributes}
    changed = [a for a in new.attributes if values.get(a.spec_id) != a.value]
    return {"attributes": changed} if changed else {}


def _element_keyframes(
    old: list[TrackedShape], new: list[TrackedShape]
) -> tuple[list[TrackedShape], list[int]]:
    by_frame = {s.frame: s for s in old}
    upserted = [s for s in new if by_frame.get(s.frame) != s]
    wanted = {s.frame for s in new}
    return upserted, sorted(f for f in by_frame if f not in wanted)


def _patch_events(
    now: AnnotationObject, target: AnnotationObject
) -> tuple[ShapePatch | TrackPatch | TagPatch | None, TrackKeyframeChanges | None] | None:
    """A property patch (and keyframe changes) turning `now` into `target` exactly, or None
    when patches cannot express it (an attribute that must disappear)."""
    assert now.id is not None
    keyframe_change: TrackKeyframeChanges | None = None
    patch: ShapePatch | TrackPatch | TagPatch
    result: AnnotationObject
    if isinstance(now, LabeledShape) and isinstance(target, LabeledShape):
        fields = _diff(now, target, [n for n in _SHAPE_PLAIN if n != "type"])
        fields.update(_label_changes(now, target))
        by_id = {e.id: e for e in target.elements}
        element_patches = []
        for element in now.elements:
            wanted = by_id[element.id]
            element_fields = _diff(element, wanted, _ELEMENT_PLAIN)
            element_fields.update(_label_changes(element, wanted))
            element_fields.pop("label_id", None)
            if element_fields:
                assert element.id is not None
                element_patches.append(ElementShapePatch(id=element.id, **element_fields))
        if element_patches:
            fields["elements"] = element_patches
        patch = ShapePatch(id=now.id, **fields)
        result = patch_shape(now, patch)
    elif isinstance(now, LabeledTrack) and isinstance(target, LabeledTrack):
        fields = _diff(now, target, _TRACK_PLAIN)
        fields.update(_label_changes(now, target))
        by_track_id = {e.id: e for e in target.elements}
        track_element_patches = []
        for track_element in now.elements:
            attrs = _label_changes(track_element, by_track_id[track_element.id])
            attrs.pop("label_id", None)
            if attrs:
                assert track_element.id is not None
                track_element_patches.append(ElementTrackPatch(id=track_element.id, **attrs))
        if track_element_patches:
            fields["elements"] = track_element_patches
        patch = TrackPatch(id=now.id, **fields)
        result = patch_track(now, patch)
        upserted, removed = _element_keyframes(result.shapes, target.shapes)
        element_changes = []
        for track_element in result.elements:
            element_up, element_removed = _element_keyframes(
                track_element.shapes, by_track_id[track_element.id].shapes
            )
            if element_up or element_removed:
                assert track_element.id is not None
                element_changes.append(
                    ElementKeyframeChanges(
                        element_id=track_element.id,
                        upserted=element_up,
                        removed_frames=element_removed,
                    )
                )
        if upserted or removed or element_changes:
            keyframe_change = TrackKeyframeChanges(
                track_id=now.id, upserted=upserted, removed_frames=removed, elements=element_changes
            )
            objects: ObjectMap = {("track", now.id): result}
            apply_to_objects(TrackKeyframesChanged(tracks=[keyframe_change]), objects)
            result = objects["track", now.id]
    elif isinstance(now, LabeledImage) and isinstance(target, LabeledImage):
        fields = _diff(now, target, _TAG_PLAIN)
        fields.update(_label_changes(now, target))
        patch = TagPatch(id=now.id, **fields)
        result = patch_tag(now, patch)
    else:
        return None
    if result != target:
        return None
    given = any(v is not msgspec.UNSET for k, v in structs.asdict(patch).items() if k != "id")
    return (patch if given else None), keyframe_change
