"""Interpolation matches CVAT's TrackManager.get_interpolated_shapes.

The first group are CVAT's own unit tests (cvat/apps/dataset_manager/tests/
test_annotation.py, TrackManagerTest) with CVAT's exclusive end_frame turned into our
inclusive stop_frame. The worked examples after them were produced by running CVAT's
algorithm on the same input; our port was also checked bit for bit against it on
thousands of random tracks while it was written.
"""

from __future__ import annotations

from typing import Any

import pytest

from backend.domain.interpolation import interpolate, interpolate_keyframes
from backend.domain.objects import (
    AttributeVal,
    LabeledTrack,
    ShapeType,
    SkeletonElementTrack,
    TrackedShape,
)


def kf(
    type_: ShapeType,
    frame: int,
    points: list[float],
    *,
    outside: bool = False,
    rotation: float = 0.0,
    attributes: list[AttributeVal] | None = None,
) -> TrackedShape:
    return TrackedShape(
        type=type_,
        frame=frame,
        points=points,
        outside=outside,
        rotation=rotation,
        attributes=attributes or [],
    )


def track(
    *shapes: TrackedShape, elements: list[SkeletonElementTrack] | None = None
) -> LabeledTrack:
    return LabeledTrack(
        id=1, frame=min(s.frame for s in shapes), label_id=1, shapes=list(shapes),
        elements=elements or [],
    )  # fmt: skip


def summary(shapes: list[Any]) -> list[tuple[int, bool, bool]]:
    return [(s.frame, s.keyframe, s.outside) for s in shapes]


# CVAT's _check_interpolation: keyframes at 0, 2 (outside) and 4, end_frame 7.
CVAT_OUTSIDE_GAP = [
    (0, True, False),
    (1, False, False),
    (2, True, True),
    # frame 3 is skipped: it is outside and interpolated
    (4, True, False),
    (5, False, False),
    (6, False, False),
]


@pytest.mark.parametrize(
    ("type_", "first", "later"),
    [
        ("points", [1.0, 2.0], [3.0, 4.0, 5.0, 6.0]),
        ("polygon", [1.0, 2.0, 3.0, 4.0, 5.0, 2.0], [3.0, 4.0, 5.0, 6.0, 7.0, 6.0, 4.0, 5.0]),
        ("rectangle", [1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0]),
        ("polyline", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [3.0, 4.0, 5.0, 6.0]),
    ],
)
def test_outside_keyframe_stops_interpolation_until_the_next_visible_keyframe(
    type_: ShapeType, first: list[float], later: list[float]
) -> None:
    shapes = interpolate(
        track(kf(type_, 0, first), kf(type_, 2, later, outside=True), kf(type_, 4, later)), 0, 6
    )
    assert summary(shapes) == CVAT_OUTSIDE_GAP


def test_rectangle_moves_linearly_towards_an_outside_keyframe() -> None:
    # CVAT test_outside_bbox_interpolation (end_frame 5).
    shapes = interpolate(
        track(
            kf("rectangle", 0, [1.0, 2.0, 3.0, 4.0]),
            kf("rectangle", 2, [3.0, 4.0, 5.0, 6.0], outside=True),
            kf("rectangle", 4, [5.0, 6.0, 7.0, 8.0], outside=True),
        ),
        0,
        4,
    )
    assert [(s.frame, s.points, s.keyframe, s.outside) for s in shapes] == [
        (0, [1.0, 2.0, 3.0, 4.0], True, False),
        (1, [2.0, 3.0, 4.0, 5.0], False, False),
        (2, [3.0, 4.0, 5.0, 6.0], True, True),
        (4, [5.0, 6.0, 7.0, 8.0], True, True),
    ]


def test_polygon_with_equal_point_counts_moves_point_by_point() -> None:
    # CVAT test_outside_polygon_interpolation (end_frame 3).
    shapes = interpolate(
        track(
            kf("polygon", 0, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            kf("polygon", 2, [3.0, 4.0, 5.0, 6.0, 7.0, 8.0], outside=True),
        ),
        0,
        2,
    )
    assert [s.points for s in shapes] == [
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        [2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        [3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
    ]


def test_rectangle_rotation_turns_along_the_shorter_arc() -> None:
    shapes = interpolate(
        track(
            kf("rectangle", 0, [0.0, 0.0, 10.0, 10.0], rotation=350.0),
            kf("rectangle", 4, [4.0, 8.0, 14.0, 18.0], rotation=30.0),
        ),
        0,
        5,
    )
    assert [(s.frame, s.points, s.rotation, s.keyframe) for s in shapes] == [
        (0, [0.0, 0.0, 10.0, 10.0], 350.0, True),
        (1, [1.0, 2.0, 11.0, 12.0], 0.0, False),
        (2, [2.0, 4.0, 12.0, 14.0], 10.0, False),
        (3, [3.0, 6.0, 13.0, 16.0], 20.0, False),
        (4, [4.0, 8.0, 14.0, 18.0], 30.0, True),
        (5, [4.0, 8.0, 14.0, 18.0], 30.0, False),  # the last keyframe propagates
    ]


def test_polygon_with_different_point_counts_uses_cvat_polyshape_matching() -> None:
    shapes = interpolate(
        track(
            kf("polygon", 0, [0.0, 0.0, 10.0, 0.0, 10.0, 10.0]),
            kf("polygon", 3, [0.0, 0.0, 20.0, 0.0, 20.0, 20.0, 10.0, 30.0, 0.0, 20.0]),
        ),
        0,
        3,
    )
    third, two_thirds = 13.333333333333332, 16.666666666666664
    assert [s.points for s in shapes[1:3]] == [
        [0.0, 0.0, third, 0.0, third, third, 6.666666666666667, third],
        [0.0, 0.0, two_thirds, 0.0, two_thirds, two_thirds, 10.0, 23.333333333333332,
         3.333333333333334, two_thirds],
    ]  # fmt: skip


def test_polyline_grows_points_as_cvat_does() -> None:
    shapes = interpolate(
        track(
            kf("polyline", 0, [0.0, 0.0, 10.0, 0.0]),
            kf("polyline", 2, [0.0, 10.0, 5.0, 10.0, 10.0, 10.0, 15.0, 10.0]),
        ),
        0,
        2,
    )
    assert shapes[1].points == [0.0, 5.0, 2.5, 5.0, 10.0, 5.0, 12.5, 5.0]


def test_single_point_moves_linearly_and_point_sets_are_copied() -> None:
    single = interpolate(track(kf("points", 0, [1.0, 2.0]), kf("points", 4, [9.0, 10.0])), 0, 4)
    assert [s.points for s in single] == [
        [1.0, 2.0],
        [3.0, 4.0],
        [5.0, 6.0],
        [7.0, 8.0],
        [9.0, 10.0],
    ]
    several = interpolate(
        track(kf("points", 0, [1.0, 2.0, 3.0, 4.0]), kf("points", 2, [5.0, 6.0, 7.0, 8.0])), 0, 2
    )
    assert several[1].points == [1.0, 2.0, 3.0, 4.0]


def test_mask_is_copied_between_keyframes() -> None:
    rle_a = [0.0, 4.0, 0.0, 0.0, 1.0, 1.0]
    rle_b = [1.0, 3.0, 5.0, 5.0, 6.0, 6.0]
    shapes = interpolate(track(kf("mask", 0, rle_a), kf("mask", 3, rle_b)), 0, 3)
    assert [s.points for s in shapes] == [rle_a, rle_a, rle_a, rle_b]


def test_mutable_attributes_carry_over_to_later_keyframes() -> None:
    a, b = AttributeVal(1, "a"), AttributeVal(2, "b")
    shapes = interpolate(
        track(
            kf("rectangle", 0, [0.0, 0.0, 2.0, 2.0], attributes=[a]),
            kf("rectangle", 2, [2.0, 2.0, 4.0, 4.0], outside=True),
            kf("rectangle", 4, [0.0, 0.0, 2.0, 2.0], attributes=[b]),
        ),
        0,
        5,
    )
    assert [(s.frame, s.attributes) for s in shapes] == [
        (0, [a]),
        (1, [a]),
        (2, [a]),
        (4, [b, a]),
        (5, [b, a]),
    ]


def test_included_frames_and_stop_frame_limit_the_output() -> None:
    rect = track(
        kf("rectangle", 0, [0.0, 0.0, 4.0, 4.0]), kf("rectangle", 8, [8.0, 8.0, 12.0, 12.0])
    )
    shapes = interpolate(rect, 0, 5, included_frames=[0, 2, 4, 6])
    assert [(s.frame, s.points[0]) for s in shapes] == [(0, 0.0), (2, 2.0), (4, 4.0)]
    assert [s.frame for s in interpolate(rect, 3, 5)] == [3, 4, 5]


def test_keyframes_of_a_duplicated_frame_count_once() -> None:
    # CVAT test_duplicated_shape_interpolation: old data may hold two keyframes on a frame.
    first = kf("rectangle", 0, [100.0, 100.0, 200.0, 200.0])
    closing = kf("rectangle", 1, [100.0, 100.0, 200.0, 200.0], outside=True)
    assert summary(interpolate_keyframes([first, closing, closing], 0, 0, 1)) == [
        (0, True, False),
        (1, True, True),
    ]


def test_skeleton_points_follow_their_own_keyframes_on_the_skeleton_frames() -> None:
    head = SkeletonElementTrack(
        id=2, frame=0, label_id=3,
        shapes=[kf("points", 0, [0.0, 0.0]), kf("points", 2, [2.0, 4.0])],
    )  # fmt: skip
    foot = SkeletonElementTrack(
        id=3, frame=0, label_id=4,
        shapes=[kf("points", 0, [5.0, 5.0]), kf("points", 1, [5.0, 5.0], outside=True)],
    )  # fmt: skip
    skeleton = track(kf("skeleton", 0, []), kf("skeleton", 3, []), elements=[head, foot])
    shapes = interpolate(skeleton, 0, 3)
    assert [s.frame for s in shapes] == [0, 1, 2, 3]
    assert [[(e.points, e.outside) for e in s.elements] for s in shapes[:3]] == [
        [([0.0, 0.0], False), ([5.0, 5.0], False)],
        [([1.0, 2.0], False), ([5.0, 5.0], True)],
        [([2.0, 4.0], False), ([5.0, 5.0], True)],
    ]


def test_skeleton_with_every_point_outside_is_hidden() -> None:
    point = SkeletonElementTrack(
        id=2, frame=0, label_id=3,
        shapes=[kf("points", 0, [0.0, 0.0]), kf("points", 1, [0.0, 0.0], outside=True)],
    )  # fmt: skip
    skeleton = track(kf("skeleton", 0, []), elements=[point])
    assert [s.frame for s in interpolate(skeleton, 0, 3)] == [0]
    assert [s.frame for s in interpolate(skeleton, 0, 3, include_outside=True)] == [0, 1, 2, 3]
