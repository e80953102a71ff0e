"""Splitting a task request across jobs and merging the jobs back (pure, CVAT's rules)."""

from __future__ import annotations

import itertools

import pytest
from msgspec import structs

from backend.domain.errors import ValidationError
from backend.domain.interpolation import interpolate
from backend.domain.objects import LabeledImage, LabeledShape, LabeledTrack, TrackedShape
from backend.services.task_annotations import (
    JobContent,
    JobRange,
    merge,
    renamed,
    slice_track,
    split,
)

NO_OVERLAP = [JobRange(1, 0, 9), JobRange(2, 10, 19), JobRange(3, 20, 29)]
OVERLAP = [JobRange(1, 0, 9), JobRange(2, 5, 14), JobRange(3, 10, 19)]


def box(frame: int, x: float = 0.0, **kw: object) -> LabeledShape:
    return LabeledShape(type="rectangle", frame=frame, label_id=1, points=[x, 0, x + 10, 10], **kw)


def key(frame: int, x: float, outside: bool = False) -> TrackedShape:
    return TrackedShape(type="rectangle", frame=frame, points=[x, 0, x + 10, 10], outside=outside)


def track(*keys: TrackedShape) -> LabeledTrack:
    return LabeledTrack(frame=keys[0].frame, label_id=1, shapes=list(keys))


def with_ids(parts, counter=None):
    """Job contents as the jobs would store them: every object with a fresh id."""
    counter = counter or itertools.count(100)
    contents = []
    for job in parts:
        part = parts[job]
        contents.append(
            JobContent(
                job=job,
                shapes=[structs.replace(s, id=next(counter)) for s in part.shapes],
                tags=[structs.replace(t, id=next(counter)) for t in part.tags],
                tracks=[structs.replace(t, id=next(counter)) for t in part.tracks],
            )
        )
    return contents


def split_by_range(jobs, **objects):
    parts = split(jobs, **objects)
    return {job: parts[job.job_id] for job in jobs}


def test_shapes_and_tags_go_to_the_job_holding_their_frame():
    parts = split(NO_OVERLAP, shapes=[box(3), box(15)], tags=[LabeledImage(frame=29, label_id=1)])
    assert [s.frame for s in parts[1].shapes] == [3]
    assert [s.frame for s in parts[2].shapes] == [15]
    assert parts[2].shapes_from == [1]
    assert [t.frame for t in parts[3].tags] == [29]


def test_an_object_on_an_overlapped_frame_goes_to_both_jobs():
    parts = split(OVERLAP, shapes=[box(7), box(12)])
    assert [s.frame for s in parts[1].shapes] == [7]
    assert [s.frame for s in parts[2].shapes] == [7, 12]
    assert [s.frame for s in parts[3].shapes] == [12]


def test_a_frame_outside_the_task_names_the_object():
    with pytest.raises(ValidationError) as info:
        split(NO_OVERLAP, shapes=[box(1), box(30)])
    assert info.value.field == "shapes[1].frame"


def test_a_track_is_cut_at_job_boundaries_with_entry_and_closing_keyframes():
    t = track(key(0, 0), key(20, 200))
    a = slice_track(t, 0, 9)
    b = slice_track(t, 10, 19)
    c = slice_track(t, 20, 29)
    assert a is not None and b is not None and c is not None
    assert [(s.frame, s.outside, s.points[0]) for s in a.shapes] == [(0, False, 0), (10, True, 100)]
    assert [(s.frame, s.outside, s.points[0]) for s in b.shapes] == [
        (10, False, 100),
        (20, True, 200),
    ]
    assert [(s.frame, s.outside) for s in c.shapes] == [(20, False)]
    assert b.frame == 10


def test_a_track_that_ended_is_not_in_later_jobs():
    t = track(key(0, 0), key(5, 50, outside=True))
    assert slice_track(t, 10, 19) is None
    parts = split(NO_OVERLAP, tracks=[t])
    assert parts[2].tracks == [] and len(parts[1].tracks) == 1
    assert [s.frame for s in parts[1].tracks[0].shapes] == [0, 5]


def test_a_track_hidden_at_a_job_start_begins_where_it_reappears():
    t = track(key(0, 0), key(8, 80, outside=True), key(12, 120), key(14, 140, outside=True))
    b = slice_track(t, 10, 19)
    assert b is not None
    assert [(s.frame, s.outside) for s in b.shapes] == [(12, False), (14, True)]


@pytest.mark.parametrize("jobs", [NO_OVERLAP, OVERLAP], ids=["no-overlap", "overlap"])
def test_split_then_merge_gives_back_each_object_once(jobs):
    shapes = [box(3), box(7, 5.0), box(12), box(25 if jobs is NO_OVERLAP else 18)]
    tags = [LabeledImage(frame=6, label_id=1), LabeledImage(frame=11, label_id=2)]
    t = track(key(0, 0), key(8, 80), key(17, 170), key(19, 190, outside=True))
    merged = merge(with_ids(split_by_range(jobs, shapes=shapes, tracks=[t], tags=tags)))
    assert [(s.frame, s.points) for s in merged.shapes] == [(s.frame, s.points) for s in shapes]
    assert [(g.frame, g.label_id) for g in merged.tags] == [(6, 1), (11, 2)]
    assert len(merged.tracks) == 1
    (united,) = merged.tracks
    # The united track looks exactly like the original on every frame.
    last = jobs[-1].stop_frame
    want = [(s.frame, s.outside, s.points) for s in interpolate(t, 0, last)]
    got = [(s.frame, s.outside, s.points) for s in interpolate(united, 0, last)]
    assert got == want
    # Every shown object knows where its twins live.
    for shape in merged.shapes:
        twins = merged.where("shape", shape.id)
        assert twins[0][1] == shape.id
        assert len(twins) == sum(1 for j in jobs if shape.frame in j)


def test_merge_keeps_different_objects_on_an_overlapped_frame():
    a = JobContent(job=OVERLAP[0], shapes=[box(7, 0.0, id=1)])
    b = JobContent(job=OVERLAP[1], shapes=[box(7, 500.0, id=2), box(7, 1.0, id=3)])
    merged = merge([a, b])
    # 3 matches 1 (IoU > 0.75); 2 is a different object.
    assert sorted(s.id for s in merged.shapes) == [1, 2]
    assert merged.where("shape", 1) == [(1, 1), (2, 3)]


def test_tracks_of_independent_jobs_do_not_merge_when_they_differ():
    a = JobContent(job=NO_OVERLAP[0], tracks=[structs.replace(track(key(0, 0)), id=1)])
    b = JobContent(job=NO_OVERLAP[1], tracks=[structs.replace(track(key(10, 999)), id=2)])
    assert sorted(t.id for t in merge([a, b]).tracks) == [1, 2]


def test_errors_are_renamed_to_the_request_index():
    parts = split(NO_OVERLAP, shapes=[box(3), box(15), box(16)])
    error = renamed(ValidationError("bad", "shapes[1].points"), parts[2])
    assert error.field == "shapes[2].points" and error.message == "bad"


def test_a_track_ending_inside_a_later_job_keeps_its_outside_keyframe():
    t = track(key(5, 0), key(15, 100), key(25, 200, outside=True))
    c = slice_track(t, 20, 29)
    assert c is not None
    assert [(s.frame, s.outside) for s in c.shapes] == [(20, False), (25, True)]
