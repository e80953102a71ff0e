"""Property tests: random command batches, then replay and per-object projection agree.

- Folding the decided events (after a trip through the wire encoding) reproduces the
  aggregate's state exactly.
- Applying each event to a partial mapping that holds only the objects it touches (as a
  one-row-per-object projection does) gives the same objects as the full aggregate.
- Updates land: after a property patch the object holds the patched values.
"""

from __future__ import annotations

from typing import Any

import msgspec
from domain_factories import CAR, COLOR, FOOT, HEAD, JOB, LABELS, PERSON, SPEED, WEATHER, ids, job
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.domain.annotations import JobAnnotations
from backend.domain.apply import affected_objects, apply_to_objects
from backend.domain.commands import (
    ClearAnnotations,
    Command,
    CreateObjects,
    DeleteKeyframe,
    DeleteObjects,
    ReplaceAnnotations,
    SetKeyframe,
    TrackUpdate,
    UpdateObjects,
)
from backend.domain.errors import DomainError
from backend.domain.events import RESETTING_EVENTS as ResettingEvents
from backend.domain.events import Event, decode_event, encode_event
from backend.domain.objects import (
    AnnotationObject,
    AttributeVal,
    ElementShapePatch,
    Key,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    ShapePatch,
    SkeletonElementShape,
    SkeletonElementTrack,
    TagPatch,
    TrackedShape,
)

coord = st.floats(min_value=0, max_value=1000, allow_nan=False).map(lambda v: round(v, 2))
frame = st.integers(min_value=0, max_value=99)
colors = st.sampled_from(["red", "blue"]).map(lambda v: AttributeVal(COLOR, v))
speeds = st.sampled_from(["0", "5", "50", "100"]).map(lambda v: AttributeVal(SPEED, v))


def coords(count: int) -> st.SearchStrategy[list[float]]:
    return st.lists(coord, min_size=count, max_size=count)


def geometry(shape_type: str) -> st.SearchStrategy[list[float]]:
    if shape_type in ("rectangle", "ellipse"):
        return coords(4)
    if shape_type == "polygon":
        return st.integers(3, 8).flatmap(lambda n: coords(2 * n))
    if shape_type == "points":
        return st.integers(1, 4).flatmap(lambda n: coords(2 * n))
    if shape_type == "mask":  # a box of w x h with runs that cover it
        return st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(0, 50)).map(
            lambda t: [0.0, float(t[0] * t[1]), t[2], t[2], t[2] + t[0] - 1.0, t[2] + t[1] - 1.0]
        )
    raise AssertionError(shape_type)


SIMPLE_TYPES = ["rectangle", "ellipse", "polygon", "points", "mask"]


@st.composite
def shapes(draw: st.DrawFn) -> LabeledShape:
    if draw(st.integers(0, 5)) == 0:
        at = draw(frame)
        return LabeledShape(
            type="skeleton",
            frame=at,
            label_id=PERSON,
            elements=[
                SkeletonElementShape(
                    type="points", frame=at, label_id=label, points=draw(coords(2)),
                    outside=draw(st.booleans()),
                )
                for label in (HEAD, FOOT)
            ],
        )  # fmt: skip
    shape_type = draw(st.sampled_from(SIMPLE_TYPES))
    return LabeledShape(
        type=shape_type,  # type: ignore[arg-type]
        frame=draw(frame),
        label_id=CAR,
        points=draw(geometry(shape_type)),
        occluded=draw(st.booleans()),
        z_order=draw(st.integers(-3, 3)),
        attributes=draw(st.lists(colors, max_size=1)),
    )


def keyframes(shape_type: str, frames: list[int]) -> st.SearchStrategy[list[TrackedShape]]:
    points = st.just([]) if shape_type == "skeleton" else geometry(shape_type)
    return st.tuples(*[st.tuples(points, st.booleans()) for _ in frames]).map(
        lambda drawn: [
            TrackedShape(type=shape_type, frame=f, points=p, outside=o)  # type: ignore[arg-type]
            for f, (p, o) in zip(frames, drawn, strict=True)
        ]
    )


@st.composite
def tracks(draw: st.DrawFn) -> LabeledTrack:
    frames = sorted(draw(st.sets(frame, min_size=1, max_size=4)))
    if draw(st.booleans()):
        return LabeledTrack(
            frame=frames[0],
            label_id=PERSON,
            shapes=draw(keyframes("skeleton", frames)),
            elements=[
                SkeletonElementTrack(
                    frame=frames[0], label_id=label, shapes=draw(keyframes("points", frames))
                )
                for label in (HEAD, FOOT)
            ],
        )
    shape_type = draw(st.sampled_from(["rectangle", "polygon", "points"]))
    return LabeledTrack(
        frame=frames[0],
        label_id=CAR,
        attributes=draw(st.lists(colors, max_size=1)),
        shapes=draw(keyframes(shape_type, frames)),
    )


tags = st.builds(LabeledImage, frame=frame, label_id=st.just(WEATHER))


@st.composite
def shape_patch(draw: st.DrawFn, shape: LabeledShape) -> ShapePatch:
    fields: dict[str, Any] = {}
    if draw(st.booleans()):
        fields["z_order"] = draw(st.integers(-3, 3))
    if draw(st.booleans()):
        fields["occluded"] = draw(st.booleans())
    if shape.type == "skeleton":
        element = draw(st.sampled_from(shape.elements))
        assert element.id is not None
        fields["elements"] = [ElementShapePatch(id=element.id, points=draw(coords(2)))]
    else:
        if draw(st.booleans()):
            fields["points"] = draw(geometry(shape.type))
        if shape.label_id == CAR and draw(st.booleans()):
            fields["attributes"] = [draw(colors)]
    assert shape.id is not None
    return ShapePatch(id=shape.id, **fields)


@st.composite
def commands(draw: st.DrawFn, state: JobAnnotations) -> Command:
    existing = state.shapes()
    existing_tracks = state.tracks()
    choices = ["create", "create"]
    if existing:
        choices += ["update", "update", "delete"]
    if existing_tracks:
        choices += ["keyframe", "unkeyframe", "track"]
    rare = draw(st.integers(0, 9)) == 0  # a reset wipes what the other commands build
    choice = draw(st.sampled_from(["replace", "clear"] if rare else choices))
    if choice == "create":
        return CreateObjects(
            shapes=draw(st.lists(shapes(), max_size=4)),
            tracks=draw(st.lists(tracks(), max_size=2)),
            tags=draw(st.lists(tags, max_size=2)),
        )
    if choice == "replace":
        return ReplaceAnnotations(shapes=draw(st.lists(shapes(), max_size=3)))
    if choice == "clear":
        return ClearAnnotations()
    if choice == "update":
        picked = draw(st.lists(st.sampled_from(existing), max_size=3, unique_by=lambda s: s.id))
        tag_patches = [TagPatch(id=t.id or 0, group=draw(st.integers(0, 3))) for t in state.tags()]
        return UpdateObjects(shapes=[draw(shape_patch(s)) for s in picked], tags=tag_patches[:1])
    if choice == "delete":
        picked = draw(st.lists(st.sampled_from(existing), max_size=3, unique_by=lambda s: s.id))
        return DeleteObjects(shapes=[s.id or 0 for s in picked])
    track = draw(st.sampled_from(existing_tracks))
    track_id, track_type = track.id or 0, track.shapes[0].type
    if choice == "unkeyframe":
        return DeleteKeyframe(track_id=track_id, frame=draw(st.sampled_from(track.shapes)).frame)
    if choice == "track":
        kept = draw(
            st.lists(st.sampled_from(track.shapes), min_size=1, unique_by=lambda s: s.frame)
        )
        attributes = [draw(colors)] if track.label_id == CAR else []
        return UpdateObjects(tracks=[TrackUpdate(id=track_id, shapes=kept, attributes=attributes)])
    new = draw(keyframes(track_type, [draw(frame)]))[0]
    if track.label_id == CAR and draw(st.booleans()):
        new = msgspec.structs.replace(new, attributes=[draw(speeds)])
    return SetKeyframe(track_id=track_id, shape=new)


def project(rows: dict[Key, AnnotationObject], event: Event) -> None:
    """A one-row-per-object read model: load the touched rows, apply, write them back."""
    affected = affected_objects(event)
    if affected.resets:
        rows.clear()
    partial = {key: rows[key] for key in affected.keys if key in rows}
    apply_to_objects(event, partial)
    for key in affected.keys | partial.keys():
        if key in partial:
            rows[key] = partial[key]
        else:
            rows.pop(key, None)


def check_patches_landed(state: JobAnnotations, events: list[Event]) -> None:
    """The last patch of each property in the batch is what the object holds."""
    checked: set[tuple[int, str]] = set()
    for event in reversed(events):
        if isinstance(event, ResettingEvents):
            break  # earlier patches touched objects that no longer exist
        for patch in getattr(event, "shapes", []):
            if not isinstance(patch, ShapePatch):
                continue
            shape = state.get("shape", patch.id)
            for name in ("z_order", "occluded", "points"):
                value = getattr(patch, name)
                if shape is None or value is msgspec.UNSET or (patch.id, name) in checked:
                    continue
                checked.add((patch.id, name))
                assert getattr(shape, name) == value


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_replay_and_projection_reproduce_the_aggregate(data: st.DataObject) -> None:
    state = job()
    history: list[Event] = JobAnnotations().decide([JOB], LABELS, ids())
    rows: dict[Key, AnnotationObject] = {}
    new_ids = ids(10_000)
    for _ in range(data.draw(st.integers(1, 8))):
        batch = data.draw(st.lists(commands(state), min_size=1, max_size=3))
        before = state.to_cvat()
        try:
            events = state.decide(batch, LABELS, new_ids)
        except DomainError:
            assert state.to_cvat() == before  # refused batches change nothing
            continue
        for event in events:
            name, version, payload = encode_event(event)
            assert decode_event(name, version, payload) == event
            state.apply(event)
            project(rows, event)
        check_patches_landed(state, events)
        history.extend(events)
        assert rows == dict(state.objects)
    wire = [decode_event(*encode_event(event)) for event in history]
    replayed = JobAnnotations.from_events(wire)
    assert replayed.to_cvat() == state.to_cvat()
    assert replayed.revision == state.revision
