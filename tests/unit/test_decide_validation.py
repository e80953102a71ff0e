"""Invalid commands raise a DomainError naming the field and produce no events at all."""

from __future__ import annotations

import msgspec
import pytest
from domain_factories import (
    BOX_ONLY,
    CAR,
    COLOR,
    FOOT,
    HEAD,
    JOB,
    LABELS,
    PARKED,
    PERSON,
    SPEED,
    box_track,
    ids,
    job,
    rect,
    run,
    skeleton,
)

from backend.domain.annotations import JobAnnotations
from backend.domain.commands import (
    Command,
    CreateObjects,
    DeleteKeyframe,
    DeleteObjects,
    ReplaceAnnotations,
    SetKeyframe,
    TrackUpdate,
    UpdateObjects,
)
from backend.domain.errors import Conflict, DomainError, NotFound, ValidationError
from backend.domain.objects import (
    AttributeVal,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    ShapePatch,
    SkeletonElementShape,
    TrackedShape,
)

# Ids in the fixture job: shape 1000, track 1001 (keyframes 1002 at 0, 1003 at 10).


def fixture_job() -> JobAnnotations:
    return job(CreateObjects(shapes=[rect()], tracks=[box_track(0, 10)]))


def shape(type_: str, points: list[float], label: int = CAR) -> LabeledShape:
    return msgspec.convert(
        {"type": type_, "frame": 0, "label_id": label, "points": points}, LabeledShape
    )


def create(*shapes: LabeledShape) -> CreateObjects:
    return CreateObjects(shapes=list(shapes))


def with_attr(spec: int, value: str) -> LabeledShape:
    return rect(attributes=[AttributeVal(spec, value)])


def keyframe_track(
    *attrs: AttributeVal, track_attrs: list[AttributeVal] | None = None
) -> LabeledTrack:
    keyframe = TrackedShape(type="rectangle", frame=0, points=[0, 0, 1, 1], attributes=list(attrs))
    return LabeledTrack(frame=0, label_id=CAR, attributes=track_attrs or [], shapes=[keyframe])


CASES: list[tuple[str, Command, type[DomainError], str]] = [
    ("select value not allowed", create(with_attr(COLOR, "x")), ValidationError,
     "shapes[0].attributes[0].value"),
    ("number above max", create(with_attr(SPEED, "105")), ValidationError,
     "shapes[0].attributes[0].value"),
    ("number off the step", create(with_attr(SPEED, "7")), ValidationError,
     "shapes[0].attributes[0].value"),
    ("checkbox not true/false", create(with_attr(PARKED, "yes")), ValidationError,
     "shapes[0].attributes[0].value"),
    ("unknown attribute", create(with_attr(999, "1")), ValidationError,
     "shapes[0].attributes[0].spec_id"),
    ("unknown label", create(shape("rectangle", [0, 0, 1, 1], label=42)), ValidationError,
     "shapes[0].label_id"),
    ("label type differs", create(shape("polygon", [0, 0, 1, 0, 1, 1], label=BOX_ONLY)),
     ValidationError, "shapes[0].label_id"),
    ("rectangle has 4", create(shape("rectangle", [0, 0, 1])), ValidationError,
     "shapes[0].points"),
    ("ellipse has 4", create(shape("ellipse", [0, 0, 1, 1, 2, 2])), ValidationError,
     "shapes[0].points"),
    ("cuboid has 16", create(shape("cuboid", [0.0] * 8)), ValidationError, "shapes[0].points"),
    ("points in pairs", create(shape("points", [0, 0, 1])), ValidationError, "shapes[0].points"),
    ("polyline needs 2 points", create(shape("polyline", [0, 0])), ValidationError,
     "shapes[0].points"),
    ("polygon needs 3 points", create(shape("polygon", [0, 0, 1, 1])), ValidationError,
     "shapes[0].points"),
    ("mask runs must fill the box", create(shape("mask", [1, 2, 0, 0, 1, 1])), ValidationError,
     "shapes[0].points"),
    ("not a number", create(shape("rectangle", [0, float("nan"), 1, 1])), ValidationError,
     "shapes[0].points[1]"),
    ("frame outside the job", create(rect(frame=100)), ValidationError, "shapes[0].frame"),
    ("rotation above 360", create(rect(rotation=361.0)), ValidationError, "shapes[0].rotation"),
    ("second shape is bad", create(rect(), shape("rectangle", [1])), ValidationError,
     "shapes[1].points"),
    ("skeleton point of another label",
     create(LabeledShape(type="skeleton", frame=0, label_id=PERSON, elements=[
         SkeletonElementShape(type="points", frame=0, label_id=CAR, points=[1, 1])])),
     ValidationError, "shapes[0].elements[0].label_id"),
    ("skeleton point label used alone",
     create(LabeledShape(type="points", frame=0, label_id=HEAD, points=[1, 1])),
     ValidationError, "shapes[0].label_id"),
    ("tag with a shape-only label",
     CreateObjects(tags=[LabeledImage(frame=0, label_id=BOX_ONLY)]), ValidationError,
     "tags[0].label_id"),
    ("immutable attribute on a keyframe",
     CreateObjects(tracks=[keyframe_track(AttributeVal(COLOR, "red"))]), ValidationError,
     "tracks[0].shapes[0].attributes[0].spec_id"),
    ("mutable attribute on the track",
     CreateObjects(tracks=[keyframe_track(track_attrs=[AttributeVal(SPEED, "5")])]),
     ValidationError, "tracks[0].attributes[0].spec_id"),
    ("track keyframes of mixed types",
     CreateObjects(tracks=[LabeledTrack(frame=0, label_id=CAR, shapes=[
         TrackedShape(type="rectangle", frame=0, points=[0, 0, 1, 1]),
         TrackedShape(type="ellipse", frame=1, points=[0, 0, 1, 1])])]),
     ValidationError, "tracks[0].shapes[1].type"),
    ("two keyframes on one frame", CreateObjects(tracks=[box_track(3, 3)]), ValidationError,
     "tracks[0].shapes[1].frame"),
    ("track without keyframes",
     CreateObjects(tracks=[LabeledTrack(frame=0, label_id=CAR)]), ValidationError,
     "tracks[0].shapes"),
    ("update of an unknown shape", UpdateObjects(shapes=[ShapePatch(id=77, z_order=1)]),
     NotFound, "shapes[0].id"),
    ("update with bad points", UpdateObjects(shapes=[ShapePatch(id=1000, points=[1, 2])]),
     ValidationError, "shapes[0].points"),
    ("delete of an unknown track", DeleteObjects(tracks=[77]), NotFound, "tracks[0]"),
    ("delete listing an id twice", DeleteObjects(shapes=[1000, 1000]), ValidationError,
     "shapes[1]"),
    ("keyframe of another type",
     SetKeyframe(track_id=1001, shape=TrackedShape(type="polygon", frame=4, points=[0] * 6)),
     ValidationError, "shape.type"),
    ("immutable attribute set per frame",
     UpdateObjects(tracks=[TrackUpdate(id=1001, shapes=[TrackedShape(
         type="rectangle", frame=0, points=[0, 0, 1, 1],
         attributes=[AttributeVal(COLOR, "blue")])])]),
     ValidationError, "tracks[0].shapes[0].attributes[0].spec_id"),
    ("keyframe on an unknown track",
     SetKeyframe(track_id=77, shape=TrackedShape(type="rectangle", frame=4, points=[0, 0, 1, 1])),
     NotFound, "track_id"),
    ("removing a missing keyframe", DeleteKeyframe(track_id=1001, frame=5), NotFound, "frame"),
    ("replace with a bad tag",
     ReplaceAnnotations(tags=[LabeledImage(frame=500, label_id=CAR)]), ValidationError,
     "tags[0].frame"),
    ("a job is created once", JOB, Conflict, "job_id"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "error", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_command_is_rejected_naming_the_field(
    command: Command, error: type[DomainError], field: str
) -> None:
    state = fixture_job()
    before = state.to_cvat()
    with pytest.raises(error) as raised:
        state.decide([command], LABELS, ids())
    assert raised.value.field == field
    assert str(raised.value).startswith(field)
    assert state.to_cvat() == before


def test_error_message_names_the_allowed_values() -> None:
    with pytest.raises(ValidationError) as raised:
        fixture_job().decide([create(with_attr(COLOR, "x"))], LABELS, ids())
    assert str(raised.value) == ("shapes[0].attributes[0].value: 'x' is not one of ['red', 'blue']")


def test_batch_with_one_bad_command_produces_no_events() -> None:
    state = fixture_job()
    good = UpdateObjects(shapes=[ShapePatch(id=1000, z_order=3)])
    bad = DeleteObjects(shapes=[424242])
    with pytest.raises(NotFound) as raised:
        state.decide([good, create(rect()), bad], LABELS, ids())
    assert raised.value.command_index == 2
    assert state.get("shape", 1000) == rect(id=1000)


def test_update_of_deleted_shape_is_rejected() -> None:
    state = fixture_job()
    run(state, [DeleteObjects(shapes=[1000])])
    with pytest.raises(NotFound):
        state.decide([UpdateObjects(shapes=[ShapePatch(id=1000, z_order=1)])], LABELS, ids())


def test_later_command_sees_deletion_by_an_earlier_one_in_the_batch() -> None:
    state = fixture_job()
    with pytest.raises(NotFound) as raised:
        state.decide(
            [DeleteObjects(shapes=[1000]), UpdateObjects(shapes=[ShapePatch(id=1000, z_order=1)])],
            LABELS,
            ids(),
        )
    assert raised.value.field == "shapes[0].id" and raised.value.command_index == 1


def test_annotating_a_job_that_was_never_created_is_rejected() -> None:
    with pytest.raises(NotFound):
        JobAnnotations().decide([create(rect())], LABELS, ids())


def test_last_keyframe_of_a_track_cannot_be_removed() -> None:
    state = job(CreateObjects(tracks=[box_track(4)]))
    with pytest.raises(ValidationError, match="at least one keyframe"):
        state.decide([DeleteKeyframe(track_id=1000, frame=4)], LABELS, ids())


def test_skeleton_label_cannot_change() -> None:
    state = job(CreateObjects(shapes=[skeleton()]))
    with pytest.raises(ValidationError) as raised:
        state.decide([UpdateObjects(shapes=[ShapePatch(id=1000, label_id=CAR)])], LABELS, ids())
    assert raised.value.field == "shapes[0].label_id"


def test_track_may_close_with_an_outside_keyframe_just_past_the_job() -> None:
    closing = TrackedShape(type="rectangle", frame=100, points=[0, 0, 1, 1], outside=True)
    state = job(CreateObjects(tracks=[box_track(90)]))
    run(state, [SetKeyframe(track_id=1000, shape=closing)])
    visible = msgspec.structs.replace(closing, outside=False)
    with pytest.raises(ValidationError):
        state.decide([SetKeyframe(track_id=1000, shape=visible)], LABELS, ids())


def test_sparse_job_accepts_only_its_own_frames() -> None:
    from backend.domain.commands import CreateJob

    state = JobAnnotations()
    sparse = CreateJob(job_id=2, task_id=1, start_frame=0, stop_frame=50, frames=[0, 10, 20])
    run(state, [sparse])
    run(state, [create(rect(frame=10))])
    with pytest.raises(ValidationError):
        state.decide([create(rect(frame=11))], LABELS, ids())


def test_skeleton_elements_get_ids_and_the_skeleton_frame() -> None:
    state = job()
    shape_ = skeleton(frame=5)
    shape_ = msgspec.structs.replace(
        shape_, elements=[msgspec.structs.replace(e, frame=0) for e in shape_.elements]
    )
    run(state, [create(shape_)], start=1)
    stored = state.get("shape", 1)
    assert isinstance(stored, LabeledShape)
    assert [(e.id, e.frame, e.label_id) for e in stored.elements] == [(2, 5, HEAD), (3, 5, FOOT)]
