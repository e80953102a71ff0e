"""How commands change a job: property-level merges, keyframes, ids, CVAT's JSON."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from domain_factories import (
    CAR,
    COLOR,
    FOOT,
    HEAD,
    JOB,
    LABELS,
    PLATE,
    SPEED,
    WEATHER,
    box_track,
    ids,
    job,
    rect,
    run,
    skeleton,
    skeleton_track,
    tag,
)

from backend.domain.annotations import JobAnnotations
from backend.domain.commands import (
    ClearAnnotations,
    CreateObjects,
    DeleteKeyframe,
    DeleteObjects,
    ElementKeyframe,
    ReplaceAnnotations,
    SetKeyframe,
    TrackUpdate,
    UpdateObjects,
    ids_needed,
)
from backend.domain.errors import DomainError
from backend.domain.events import (
    AnnotationsReplaced,
    ForeignEvent,
    ObjectsUpdated,
    TrackKeyframesChanged,
    decode_event,
    decode_job_event,
    encode_event,
)
from backend.domain.objects import (
    AttributeVal,
    ElementShapePatch,
    LabeledShape,
    LabeledTrack,
    ShapePatch,
    TagPatch,
    TrackedShape,
)


def shape_of(state: JobAnnotations, shape_id: int) -> LabeledShape:
    shape = state.get("shape", shape_id)
    assert isinstance(shape, LabeledShape)
    return shape


def track_of(state: JobAnnotations, track_id: int) -> LabeledTrack:
    track = state.get("track", track_id)
    assert isinstance(track, LabeledTrack)
    return track


def test_concurrent_edits_of_different_properties_both_survive() -> None:
    state = job(CreateObjects(shapes=[rect(attributes=[AttributeVal(COLOR, "red")])]))
    # Two users decide against the same revision; the server appends both in order.
    move = state.decide(
        [UpdateObjects(shapes=[ShapePatch(id=1000, points=[5.0, 5.0, 15.0, 15.0])])],
        LABELS,
        ids(),
    )
    recolor = state.decide(
        [UpdateObjects(shapes=[ShapePatch(id=1000, attributes=[AttributeVal(COLOR, "blue")])])],
        LABELS,
        ids(),
    )
    for event in move + recolor:
        state.apply(event)
    shape = shape_of(state, 1000)
    assert shape.points == [5.0, 5.0, 15.0, 15.0]
    assert shape.attributes == [AttributeVal(COLOR, "blue")]


def test_same_property_is_last_writer_wins_in_event_order() -> None:
    state = job(CreateObjects(shapes=[rect()]))
    first = state.decide([UpdateObjects(shapes=[ShapePatch(id=1000, z_order=1)])], LABELS, ids())
    second = state.decide([UpdateObjects(shapes=[ShapePatch(id=1000, z_order=2)])], LABELS, ids())
    for event in second + first:
        state.apply(event)
    assert shape_of(state, 1000).z_order == 1


def test_setting_one_attribute_keeps_the_others() -> None:
    state = job(
        CreateObjects(
            shapes=[rect(attributes=[AttributeVal(COLOR, "red"), AttributeVal(PLATE, "AB1")])]
        )
    )
    run(state, [UpdateObjects(shapes=[ShapePatch(id=1000, attributes=[AttributeVal(PLATE, "Z")])])])
    assert shape_of(state, 1000).attributes == [
        AttributeVal(COLOR, "red"),
        AttributeVal(PLATE, "Z"),
    ]


def test_full_object_update_carries_only_what_differs() -> None:
    # CVAT clients PATCH whole objects; only real changes become part of the event.
    state = job(CreateObjects(shapes=[rect(attributes=[AttributeVal(COLOR, "red")])]))
    whole = ShapePatch(
        id=1000,
        label_id=CAR,
        group=0,
        source="manual",
        occluded=True,
        outside=False,
        z_order=0,
        rotation=0.0,
        points=[0.0, 0.0, 10.0, 10.0],
        attributes=[AttributeVal(COLOR, "red")],
    )
    events = run(state, [UpdateObjects(shapes=[whole])])
    assert events == [ObjectsUpdated(shapes=[ShapePatch(id=1000, occluded=True)])]
    assert encode_event(events[0])[2] == (
        b'{"type":"ObjectsUpdated","shapes":[{"id":1000,"occluded":true}],"tracks":[],"tags":[]}'
    )
    assert run(state, [UpdateObjects(shapes=[whole])]) == []  # nothing changes any more


def test_changing_a_label_replaces_the_attributes() -> None:
    state = job(CreateObjects(tags=[tag()]))
    patch = TagPatch(id=1000, label_id=CAR, attributes=[AttributeVal(COLOR, "blue")])
    run(state, [UpdateObjects(tags=[patch])])
    changed = state.get("tag", 1000)
    assert changed is not None and changed.label_id == CAR
    assert changed.attributes == [AttributeVal(COLOR, "blue")]


def test_skeleton_point_moves_alone() -> None:
    state = job(CreateObjects(shapes=[skeleton()]))
    patch = ShapePatch(id=1000, elements=[ElementShapePatch(id=1002, points=[3.0, 3.0])])
    run(state, [UpdateObjects(shapes=[patch])])
    elements = shape_of(state, 1000).elements
    assert [(e.id, e.points) for e in elements] == [(1001, [1.0, 1.0]), (1002, [3.0, 3.0])]


def test_set_keyframe_inserts_and_replaces_by_frame() -> None:
    state = job(CreateObjects(tracks=[box_track(0, 10)]))
    kf = TrackedShape(type="rectangle", frame=5, points=[1, 1, 2, 2])
    run(state, [SetKeyframe(track_id=1000, shape=kf)], start=7000)
    moved = msgspec.structs.replace(kf, points=[2, 2, 3, 3])
    run(state, [SetKeyframe(track_id=1000, shape=moved)], start=8000)
    shapes = track_of(state, 1000).shapes
    assert [(s.frame, s.id) for s in shapes] == [(0, 1001), (5, 8000), (10, 1002)]
    assert shapes[1].points == [2, 2, 3, 3]


def test_deleting_the_first_keyframe_moves_the_track_start() -> None:
    state = job(CreateObjects(tracks=[box_track(2, 10)]))
    run(state, [DeleteKeyframe(track_id=1000, frame=2)])
    track = track_of(state, 1000)
    assert track.frame == 10 and [s.frame for s in track.shapes] == [10]


def test_keyframes_of_a_skeleton_track_and_its_points() -> None:
    state = job(CreateObjects(tracks=[skeleton_track(0, 10)]))
    # ids: track 1000, keyframes 1001-1002, head 1003 (1004-1005), foot 1006 (1007-1008)
    point = TrackedShape(type="points", frame=4, points=[4.0, 4.0])
    events = run(
        state,
        [
            SetKeyframe(
                track_id=1000,
                shape=TrackedShape(type="skeleton", frame=4),
                elements=[ElementKeyframe(element_id=1003, shape=point)],
            )
        ],
    )
    assert isinstance(events[0], TrackKeyframesChanged)
    track = track_of(state, 1000)
    assert [s.frame for s in track.shapes] == [0, 4, 10]
    assert [s.frame for s in track.elements[0].shapes] == [0, 4, 10]
    assert [s.frame for s in track.elements[1].shapes] == [0, 10]
    run(state, [DeleteKeyframe(track_id=1000, frame=10)])
    track = track_of(state, 1000)
    assert [[s.frame for s in e.shapes] for e in (track, *track.elements)] == [[0, 4], [0, 4], [0]]


def test_track_update_with_all_keyframes_becomes_keyframe_changes() -> None:
    state = job(CreateObjects(tracks=[box_track(0, 5, 10)]))
    current = track_of(state, 1000).shapes
    wanted = [current[0], msgspec.structs.replace(current[2], points=[9.0, 9.0, 19.0, 19.0])]
    wanted.append(TrackedShape(type="rectangle", frame=12, points=[0, 0, 1, 1], outside=True))
    update = TrackUpdate(id=1000, attributes=[AttributeVal(COLOR, "blue")], shapes=wanted)
    events = run(state, [UpdateObjects(tracks=[update])], start=9000)
    assert [type(e).__name__ for e in events] == ["ObjectsUpdated", "TrackKeyframesChanged"]
    change = events[1]
    assert isinstance(change, TrackKeyframesChanged)
    assert [s.frame for s in change.tracks[0].upserted] == [10, 12]
    assert change.tracks[0].removed_frames == [5]
    track = track_of(state, 1000)
    assert [(s.frame, s.id) for s in track.shapes] == [(0, 1001), (10, 9000), (12, 9001)]
    assert track.attributes == [AttributeVal(COLOR, "blue")]


def test_track_label_change_clears_keyframe_attributes() -> None:
    state = job(CreateObjects(tracks=[box_track(0)]))
    speed = [AttributeVal(SPEED, "5")]
    keyframe = TrackedShape(type="rectangle", frame=0, points=[0, 0, 1, 1], attributes=speed)
    run(state, [SetKeyframe(track_id=1000, shape=keyframe)])
    assert track_of(state, 1000).shapes[0].attributes
    run(state, [UpdateObjects(tracks=[TrackUpdate(id=1000, label_id=6)])])
    track = track_of(state, 1000)
    assert track.label_id == 6 and track.shapes[0].attributes == []


def test_ids_come_from_new_ids_in_a_fixed_order() -> None:
    command = CreateObjects(
        shapes=[rect(), skeleton()], tracks=[skeleton_track(0, 3)], tags=[tag()]
    )
    assert ids_needed([command]) == 1 + 3 + (1 + 2 + 2 * (1 + 2)) + 1
    drawn: list[int] = []

    def counting() -> Iterator[int]:
        for value in ids(1):
            drawn.append(value)
            yield value

    state = job()
    run_events = state.decide([command], LABELS, counting())
    assert len(drawn) == ids_needed([command])
    again = job().decide([command], LABELS, ids(1))
    assert run_events == again  # the same ids give the same events


def test_to_cvat_has_cvat_field_names() -> None:
    state = job(CreateObjects(shapes=[rect()], tracks=[box_track(0)], tags=[tag()]))
    body = msgspec.to_builtins(state.to_cvat())
    assert set(body) == {"version", "tags", "shapes", "tracks"}
    assert set(body["shapes"][0]) == {
        "id", "type", "frame", "label_id", "group", "source", "occluded", "outside",
        "z_order", "rotation", "points", "attributes", "elements",
    }  # fmt: skip
    assert set(body["tracks"][0]) == {
        "id", "frame", "label_id", "group", "source", "attributes", "shapes", "elements",
    }  # fmt: skip
    assert set(body["tracks"][0]["shapes"][0]) == {
        "id", "type", "frame", "occluded", "outside", "z_order", "rotation", "points",
        "attributes",
    }  # fmt: skip
    assert set(body["tags"][0]) == {"id", "frame", "label_id", "group", "source", "attributes"}
    assert body["tags"][0]["label_id"] == WEATHER
    assert body["version"] == state.revision


def test_replace_and_clear_reset_the_job() -> None:
    state = job(CreateObjects(shapes=[rect(), rect(frame=1)]))
    events = run(state, [ReplaceAnnotations(tags=[tag(frame=3)])], start=1)
    assert isinstance(events[0], AnnotationsReplaced)
    assert state.keys() == {("tag", 1)}
    run(state, [ClearAnnotations()])
    assert len(state) == 0


def test_deleting_objects_of_each_kind() -> None:
    state = job(CreateObjects(shapes=[rect()], tracks=[box_track(0)], tags=[tag()]))
    run(state, [DeleteObjects(shapes=[1000], tracks=[1001], tags=[1003])])
    assert len(state) == 0


def test_snapshot_plus_tail_equals_full_replay() -> None:
    state = JobAnnotations()
    new_ids = ids()
    history = []
    keyframe = TrackedShape(type="rectangle", frame=2, points=[0, 0, 2, 2])
    for batch in (
        [JOB],
        [CreateObjects(shapes=[rect()], tracks=[box_track(0, 4)])],
        [UpdateObjects(shapes=[ShapePatch(id=1000, z_order=4)])],
        [SetKeyframe(track_id=1001, shape=keyframe)],
    ):
        events = state.decide(batch, LABELS, new_ids)
        for event in events:
            state.apply(event)
        history.extend(events)
    snapshot = JobAnnotations.from_events(history[:2]).snapshot()
    stored = msgspec.json.decode(msgspec.json.encode(snapshot), type=type(snapshot))
    restored = JobAnnotations.from_snapshot(stored, history[2:])
    assert restored.to_cvat() == state.to_cvat()
    replayed = JobAnnotations.from_events(decode_event(*encode_event(e)) for e in history)
    assert replayed.to_cvat() == state.to_cvat()


def test_patch_of_an_unknown_object_only_advances_the_revision() -> None:
    state = job()
    before = state.revision
    state.apply(ObjectsUpdated(shapes=[ShapePatch(id=99999, z_order=1)]))
    assert state.revision == before + 1 and len(state) == 0


def test_events_of_other_features_only_advance_the_revision() -> None:
    state = job()
    before, objects = state.revision, dict(state.objects)
    event = decode_job_event("FeatureOfTheFuture", 1, b"{}")
    assert isinstance(event, ForeignEvent) and event.name == "FeatureOfTheFuture"
    state.apply(event)
    assert state.revision == before + 1 and dict(state.objects) == objects


def test_head_and_foot_labels_are_the_skeleton_points() -> None:
    assert LABELS.parent_of(HEAD) == LABELS.parent_of(FOOT) != None  # noqa: E711


def test_shapes_and_tags_move_to_another_frame_of_the_job() -> None:
    state = job(CreateObjects(shapes=[rect(3), skeleton(3)], tags=[tag(3)]))
    box, body = state.shapes()
    (label,) = state.tags()
    assert box.id and body.id and label.id
    run(state, [UpdateObjects(
        shapes=[ShapePatch(id=box.id, frame=7), ShapePatch(id=body.id, frame=8)],
        tags=[TagPatch(id=label.id, frame=9)],
    )])  # fmt: skip
    moved = {s.id: s for s in state.shapes()}
    assert moved[box.id].frame == 7 and moved[body.id].frame == 8
    assert {e.frame for e in moved[body.id].elements} == {8}  # the points follow
    assert state.tags()[0].frame == 9


def test_a_move_outside_the_job_names_the_frame_and_changes_nothing() -> None:
    state = job(CreateObjects(shapes=[rect(3)]))
    (box,) = state.shapes()
    assert box.id is not None
    before = msgspec.to_builtins(state.to_cvat())
    with pytest.raises(DomainError) as info:
        state.decide([UpdateObjects(shapes=[ShapePatch(id=box.id, frame=JOB.stop_frame + 5)])],
                     LABELS, ids(9000))  # fmt: skip
    assert info.value.field == "shapes[0].frame"
    assert msgspec.to_builtins(state.to_cvat()) == before
