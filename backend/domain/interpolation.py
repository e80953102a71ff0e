"""Track interpolation, ported from CVAT's TrackManager.get_interpolated_shapes.

The arithmetic follows CVAT step by step (same operation order, so the same doubles):
rectangles, ellipses, cuboids and skeleton bodies move linearly and turn along the shorter
arc; single points move linearly while multi-point `points` shapes are copied; polygons
and polylines use CVAT's polyshape matching and reduction; masks are copied (they have no
geometry to blend). A keyframe's mutable attributes carry over to later keyframes that do
not set them. Nothing is generated after an outside keyframe; outside keyframes are
reported (they end a visible run) unless filtered by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from typing import Any

import msgspec
from msgspec import structs

from backend.domain.objects import (
    AttributeVal,
    LabeledTrack,
    ShapeType,
    SkeletonElementTrack,
    TrackedShape,
)


class InterpolatedShape(msgspec.Struct, frozen=True, kw_only=True):
    """A track's shape on one frame; `keyframe` tells whether a user set it there."""

    type: ShapeType
    occluded: bool = False
    outside: bool = False
    z_order: int = 0
    rotation: float = 0.0
    points: list[float] = []
    id: int | None = None
    frame: int
    attributes: list[AttributeVal] = []
    keyframe: bool = False
    elements: list[InterpolatedShape] = []  # skeleton points on this frame


Point = tuple[float, float]


def _copy(
    source: InterpolatedShape,
    frame: int,
    points: list[float] | None = None,
    rotation: float | None = None,
) -> InterpolatedShape:
    changes: dict[str, Any] = {"frame": frame, "keyframe": False}
    changes["points"] = list(source.points if points is None else points)
    if rotation is not None:
        changes["rotation"] = rotation
    return structs.replace(source, **changes)


def _angle_diff(right: float, left: float) -> float:
    diff = right - left
    diff = ((diff + 180) % 360) - 180
    if abs(diff) >= 180:
        # Kept as CVAT has it: only reachable for exactly -180, which becomes 1.
        diff = 360 - abs(diff) * -1 if diff > 0 else 1
    return diff


def _wanted(frame: int, included: Collection[int] | None) -> bool:
    return included is None or frame in included


def _linear(
    shape0: InterpolatedShape, shape1: InterpolatedShape, included: Collection[int] | None
) -> list[InterpolatedShape]:
    distance = shape1.frame - shape0.frame
    diff = [b - a for a, b in zip(shape0.points, shape1.points, strict=False)]
    turn = _angle_diff(shape1.rotation, shape0.rotation)
    result = []
    for frame in range(shape0.frame + 1, shape1.frame):
        offset = (frame - shape0.frame) / distance
        rotation = (shape0.rotation + turn * offset + 360) % 360
        points = [a + d * offset for a, d in zip(shape0.points, diff, strict=False)]
        if _wanted(frame, included):
            result.append(_copy(shape0, frame, points, rotation))
    return result


def _copies(
    shape0: InterpolatedShape, until: int, included: Collection[int] | None
) -> list[InterpolatedShape]:
    return [_copy(shape0, f) for f in range(shape0.frame + 1, until) if _wanted(f, included)]


# --- polyshape interpolation (CVAT's interpolate_position) ----------------------------


def _curve_length(points: list[Point]) -> float:
    length = 0.0
    for i in range(1, len(points)):
        dx = points[i][0] - points[i - 1][0]
        dy = points[i][1] - points[i - 1][1]
        length += math.sqrt(dx**2 + dy**2)
    return length


def _offset_vector(points: list[Point], length: float) -> list[float]:
    offsets = [0.0]
    accumulated = 0.0
    for i in range(1, len(points)):
        dx = points[i][0] - points[i - 1][0]
        dy = points[i][1] - points[i - 1][1]
        accumulated += math.sqrt(dx**2 + dy**2)
        # numpy yields nan for 0/0 where CVAT divides a degenerate curve; so do we.
        offsets.append(accumulated / length if length else math.nan)
    return offsets


def _nearest(value: float, curve: list[float]) -> int:
    best, best_distance = 0, abs(value - curve[0])
    for i in range(1, len(curve)):
        distance = abs(value - curve[i])
        if distance < best_distance:
            best, best_distance = i, distance
    return best


def _match(left: list[float], right: list[float]) -> dict[int, list[int]]:
    matching = {i: [_nearest(value, right)] for i, value in enumerate(left)}
    matched = {j for values in matching.values() for j in values}
    for j in range(len(right)):
        if j not in matched:
            matching[_nearest(right[j], left)].append(j)
    return {i: sorted(values) for i, values in matching.items()}


def _distance(p1: Point, p2: Point) -> float:
    return math.sqrt((p1[0] - p2[0]) ** 2 + (p1[1] - p2[1]) ** 2)


def _reduce(
    interpolated: list[Point],
    matching: dict[int, list[int]],
    left_points: list[Point],
    right_points: list[Point],
) -> list[Point]:
    def minimize_segment(base_length: float, n: int, start: int, stop: int) -> list[Point]:
        threshold = base_length / (2 * n)
        minimized = [interpolated[start]]
        latest = start
        for i in range(start + 1, stop):
            if _distance(interpolated[latest], interpolated[i]) >= threshold:
                minimized.append(interpolated[i])
                latest = i
        minimized.append(interpolated[stop])
        if len(minimized) == 2 and _distance(interpolated[start], interpolated[stop]) < threshold:
            xs = sum(p[0] for p in minimized)
            ys = sum(p[1] for p in minimized)
            return [(xs / 2, ys / 2)]
        return minimized

    reduced: list[Point] = []
    indexes: dict[int, list[int]] = {}
    accumulated = 0
    for i in range(len(left_points)):
        indexes[i] = list(range(accumulated, accumulated + len(matching[i])))
        accumulated += len(matching[i])

    def left_segment(start: int, stop: int) -> None:
        start_i, stop_i = indexes[start][0], indexes[stop][0]
        if start_i == stop_i:
            reduced.append(interpolated[start_i])
            return
        base = _curve_length(left_points[start : stop + 1])
        reduced.extend(minimize_segment(base, stop - start + 1, start_i, stop_i))

    def right_segment(left_point: int) -> None:
        start, stop = matching[left_point][0], matching[left_point][-1]
        base = _curve_length(right_points[start : stop + 1])
        reduced.extend(
            minimize_segment(
                base, stop - start + 1, indexes[left_point][0], indexes[left_point][-1]
            )
        )

    opened: int | None = None
    for i in range(len(left_points)):
        if len(matching[i]) == 1:
            if opened is None:
                opened = i
            elif matching[i][0] != matching[opened][0]:
                left_segment(opened, i - 1)
                opened = i
        else:
            if opened is not None:
                left_segment(opened, i - 1)
                opened = None
            right_segment(i)
    if opened is not None:
        left_segment(opened, len(left_points) - 1)
    return reduced


def _pairs(points: list[float]) -> list[Point]:
    return [(points[i], points[i + 1]) for i in range(0, len(points) - 1, 2)]


def _position(left: list[float], right: list[float], offset: float) -> list[float]:
    left_points, right_points = _pairs(left), _pairs(right)
    matching = _match(
        _offset_vector(left_points, _curve_length(left_points)),
        _offset_vector(right_points, _curve_length(right_points)),
    )
    interpolated: list[Point] = []
    for i, (lx, ly) in enumerate(left_points):
        for j in matching[i]:
            rx, ry = right_points[j]
            interpolated.append((lx + (rx - lx) * offset, ly + (ry - ly) * offset))
    return [
        c for point in _reduce(interpolated, matching, left_points, right_points) for c in point
    ]


def _polyshape(
    shape0: InterpolatedShape, shape1: InterpolatedShape, included: Collection[int] | None
) -> list[InterpolatedShape]:
    left, right = list(shape0.points), list(shape1.points)
    closed = shape0.type == "polygon"
    if closed:  # interpolate the closed outline, then drop the repeated first point
        left, right = left + left[:2], right + right[:2]
    distance = shape1.frame - shape0.frame
    result = []
    for frame in range(shape0.frame + 1, shape1.frame):
        offset = (frame - shape0.frame) / distance
        points = _position(left, right, offset)
        if _wanted(frame, included):
            result.append(_copy(shape0, frame, points[:-2] if closed else points))
    return result


def _between(
    shape0: InterpolatedShape, shape1: InterpolatedShape, included: Collection[int] | None
) -> list[InterpolatedShape]:
    kind = shape0.type
    if kind != shape1.type or kind == "mask":
        return _copies(shape0, shape1.frame, included)
    if kind in ("rectangle", "ellipse", "cuboid", "skeleton"):
        return _linear(shape0, shape1, included)
    if kind == "points":
        if len(shape0.points) == 2 and len(shape1.points) == 2:
            return _linear(shape0, shape1, included)
        return _copies(shape0, shape1.frame, included)
    return _polyshape(shape0, shape1, included)


def _keyframe(shape: TrackedShape, attributes: list[AttributeVal]) -> InterpolatedShape:
    return InterpolatedShape(
        type=shape.type,
        occluded=shape.occluded,
        outside=shape.outside,
        z_order=shape.z_order,
        rotation=shape.rotation,
        points=list(shape.points),
        id=shape.id,
        frame=shape.frame,
        attributes=attributes,
        keyframe=True,
    )


def _carry_attributes(
    previous: list[AttributeVal], current: list[AttributeVal]
) -> list[AttributeVal]:
    given = {attr.spec_id for attr in current}
    return list(current) + [attr for attr in previous if attr.spec_id not in given]


def interpolate_keyframes(
    keyframes: Iterable[TrackedShape],
    track_frame: int,
    start_frame: int,
    stop_frame: int,
    *,
    included_frames: Collection[int] | None = None,
    include_outside: bool = False,
) -> list[InterpolatedShape]:
    end_frame = stop_frame + 1  # CVAT's end is exclusive
    included = None if included_frames is None else frozenset(included_frames)
    shapes: list[InterpolatedShape] = []
    prev: InterpolatedShape | None = None
    for source in sorted(keyframes, key=lambda s: s.frame):
        if prev is not None and source.frame <= prev.frame:
            continue  # a duplicated keyframe (old data): the first one wins, as in CVAT
        if prev is not None and end_frame <= source.frame:
            # Past the end: interpolate towards this keyframe, keep what is before the end.
            current = _keyframe(source, list(source.attributes))
            shapes.extend(s for s in _between(prev, current, included) if s.frame < end_frame)
            prev = None
            break
        attributes = list(source.attributes)
        if prev is not None:
            attributes = _carry_attributes(prev.attributes, attributes)
        current = _keyframe(source, attributes)
        if prev is not None and (not prev.outside or include_outside):
            shapes.extend(_between(prev, current, included))
        shapes.append(current)
        prev = current
    if prev is not None and (not prev.outside or include_outside):
        shapes.extend(_copies(prev, end_frame, included))
    return [
        shape
        for shape in shapes
        if max(track_frame, start_frame) <= shape.frame < end_frame
        and (shape.keyframe or not shape.outside or include_outside)
        and (included is None or shape.frame in included)
    ]


def interpolate(
    track: LabeledTrack | SkeletonElementTrack,
    start_frame: int,
    stop_frame: int,
    included_frames: Collection[int] | None = None,
    *,
    include_outside: bool = False,
) -> list[InterpolatedShape]:
    """The track's shape on every frame of start_frame..stop_frame (inclusive) where it is
    visible, plus its outside keyframes. Skeleton tracks get their points as `elements`,
    interpolated on the skeleton's frames; a skeleton whose points are all outside on a
    frame is dropped there unless `include_outside` (CVAT's to_shapes does the same).
    """
    shapes = interpolate_keyframes(
        track.shapes,
        track.frame,
        start_frame,
        stop_frame,
        included_frames=included_frames,
        include_outside=include_outside,
    )
    elements = track.elements if isinstance(track, LabeledTrack) else []
    if not elements:
        return shapes
    frames = {shape.frame for shape in shapes}
    by_frame: dict[int, list[InterpolatedShape]] = {frame: [] for frame in frames}
    for element in elements:
        for element_shape in interpolate_keyframes(
            element.shapes,
            element.frame,
            start_frame,
            stop_frame,
            included_frames=frames,
            include_outside=True,  # elements are controlled by the parent shape
        ):
            by_frame[element_shape.frame].append(element_shape)
    result = []
    for shape in shapes:
        points = by_frame[shape.frame]
        if not include_outside and points and all(p.outside for p in points):
            continue
        result.append(structs.replace(shape, elements=points))
    return result
