"""A project import's annotations cut by subset (backend/formats/subsets.py), the frame
matching that keeps same-named images of two subsets apart (frame_match.py), and the
import report's wording (import_context.py)."""

from __future__ import annotations

from backend.domain.annotations import CvatAnnotations
from backend.domain.objects import LabeledImage, LabeledShape, LabeledTrack, TrackedShape
from backend.formats.frame_match import FrameMatcher
from backend.formats.import_context import LISTED_PROBLEMS, ImportContext
from backend.formats.model import FrameSpec
from backend.formats.subsets import split_by_subset


def _box(frame: int, x: float = 1.0) -> LabeledShape:
    return LabeledShape(type="rectangle", frame=frame, label_id=1, points=[x, 1.0, 5.0, 5.0])


def _key(frame: int, x: float, outside: bool = False) -> TrackedShape:
    return TrackedShape(type="rectangle", frame=frame, points=[x, 1.0, x + 4, 5.0], outside=outside)


def test_each_subset_gets_its_frames_numbered_from_zero() -> None:
    # frames 0..5 in name order; train = 0, 2, 4; val = 1, 3; frame 5 is no item's image
    subsets = {0: "train", 1: "val", 2: "train", 3: "val", 4: "train"}
    data = CvatAnnotations(
        version=0,
        shapes=[_box(2, 2.0), _box(3, 3.0)],
        tags=[LabeledImage(frame=4, label_id=1)],
        tracks=[],
    )
    parts, left_out = split_by_subset(6, subsets, data)
    assert [(p.name, p.frames) for p in parts] == [("train", [0, 2, 4]), ("val", [1, 3])]
    assert left_out == [5]
    train, val = parts
    assert [(s.frame, s.points[0]) for s in train.annotations.shapes] == [(1, 2.0)]
    assert [t.frame for t in train.annotations.tags] == [2]
    assert [(s.frame, s.points[0]) for s in val.annotations.shapes] == [(1, 3.0)]


def test_a_track_crossing_subsets_is_cut_as_a_task_cuts_it_into_jobs() -> None:
    subsets = {0: "a", 1: "a", 2: "b", 3: "b", 4: "b"}
    track = LabeledTrack(
        frame=0, label_id=1, shapes=[_key(0, 0.0), _key(3, 30.0), _key(4, 30.0, outside=True)]
    )
    data = CvatAnnotations(version=0, shapes=[], tags=[], tracks=[track])
    (a, b), _ = split_by_subset(5, subsets, data)
    (in_a,) = a.annotations.tracks
    # visible to the end of subset a (no keyframe past its last frame)
    assert [(k.frame, k.outside) for k in in_a.shapes] == [(0, False)]
    (in_b,) = b.annotations.tracks
    # enters subset b half way: an interpolated keyframe where it enters
    assert [(k.frame, k.points[0], k.outside) for k in in_b.shapes] == [
        (0, 20.0, False), (1, 30.0, False), (2, 30.0, True)
    ]  # fmt: skip


def test_without_subsets_every_image_is_in_default() -> None:
    data = CvatAnnotations(version=0, shapes=[_box(1)], tags=[], tracks=[])
    (part,), left_out = split_by_subset(3, {}, data)
    assert (part.name, part.frames, left_out) == ("default", [0, 1, 2], [])
    assert [s.frame for s in part.annotations.shapes] == [1]


def test_the_subset_tells_same_named_images_apart() -> None:
    frames = [
        FrameSpec(0, "images/train/a.png", 4, 4),
        FrameSpec(1, "images/val/a.png", 4, 4),
        FrameSpec(2, "images/val/b.png", 4, 4),
    ]
    match = FrameMatcher(frames)
    assert match.by_name("a", "train") == 0 and match.by_name("a.png", "val") == 1
    assert match.by_name("a") is None  # two frames end so: no guess
    assert match.by_name("b.jpg") == 2 and match.by_name("other/b") == 2
    assert match.by_name("images/val/a.png") == 1


def test_a_report_names_each_problem_once_with_how_often() -> None:
    context = ImportContext()
    assert context.failure() is None
    context.problem("point far outside", "f.json: item 'w'")
    assert context.failure() == "f.json: item 'w': point far outside"
    for item in ("x", "y", "z"):
        context.problem("label 'truck' is unknown", f"f.json: item '{item}'")
    lines = context.failure().splitlines()  # type: ignore[union-attr]
    assert lines == [
        "4 annotations or items could not be imported, so nothing was:",
        "f.json: item 'w': point far outside",
        "f.json: item 'x': label 'truck' is unknown (and 2 more like it: f.json: item 'y'; "
        "f.json: item 'z')",
    ]
    for n in range(LISTED_PROBLEMS + 5):
        context.problem(f"problem {n}")
    assert context.lines()[-1] == "... and 7 other problems"
    assert len(context.lines()) == LISTED_PROBLEMS + 1


def test_a_track_visible_at_its_last_keyframe_ends_with_that_keyframes_subset() -> None:
    # subset a is frames 0-1, b is 2-3: the track was visible to the end of its task (a)
    subsets = {0: "a", 1: "a", 2: "b", 3: "b"}
    track = LabeledTrack(frame=0, label_id=1, shapes=[_key(0, 0.0), _key(1, 5.0)])
    data = CvatAnnotations(version=0, shapes=[], tags=[], tracks=[track])
    (a, b), _ = split_by_subset(4, subsets, data)
    assert [[(k.frame, k.outside) for k in t.shapes] for t in a.annotations.tracks] == [
        [(0, False), (1, False)]
    ]  # fmt: skip
    assert b.annotations.tracks == []
