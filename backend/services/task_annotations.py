"""Task-level annotations as CVAT serves them: a request for the whole task is split across
the task's jobs by frame range, and the jobs' objects are merged back into one view.

Pure functions (no IO), following CVAT's dataset_manager (AnnotationIR.slice and
AnnotationManager.merge):

* Shapes and tags go to every job whose frame range holds their frame. With overlapping
  jobs an object on an overlapped frame therefore lands in both jobs, so that each job's
  annotator sees it (CVAT's `slice`).
* A track goes to every job it is visible in, cut to that job: its keyframes inside the
  range, plus an interpolated keyframe where it enters the job after its first keyframe,
  plus an outside keyframe on the frame after the job where it is still visible when the
  job ends (the domain accepts that one closing keyframe past a job).
* Merging walks the jobs in frame order. An object of a later job on a frame that the
  earlier job also covers is a *twin* of an earlier object when they match (tags: same
  label; shapes: same type and label, same points or rectangles with IoU >= 0.75, CVAT's
  threshold); the earlier job's object is shown, the twin hidden. A track that starts in
  the overlap (or right after the earlier job, where the earlier part was cut) continues
  an earlier track of the same label and type when the earlier track is there on that
  frame with the same points; the two parts are united into one track.

Writes through the task act on everything one shown object stands for: `merge` returns,
for every shown object, where its twins live, so an update or a delete reaches them all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec
from msgspec import structs

from backend.domain.errors import DomainError, ValidationError
from backend.domain.interpolation import InterpolatedShape, interpolate_keyframes
from backend.domain.objects import (
    Kind,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    SkeletonElementTrack,
    TrackedShape,
)

# CVAT's thresholds: a shape pair matches with similarity >= 1 - 0.25; a tag by label.
SHAPE_IOU = 0.75
_EPS = 1e-6


class JobRange(msgspec.Struct, frozen=True):
    job_id: int
    start_frame: int
    stop_frame: int

    def __contains__(self, frame: int) -> bool:
        return self.start_frame <= frame <= self.stop_frame


@dataclass
class JobPart:
    """What one job gets of a task request; `*_from` are the request's indices, so that an
    error found in the job names the object the caller sent."""

    shapes: list[LabeledShape] = field(default_factory=list)
    tracks: list[LabeledTrack] = field(default_factory=list)
    tags: list[LabeledImage] = field(default_factory=list)
    shapes_from: list[int] = field(default_factory=list)
    tracks_from: list[int] = field(default_factory=list)
    tags_from: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.shapes or self.tracks or self.tags)


# --- splitting ----------------------------------------------------------------------------


def split(
    jobs: Sequence[JobRange],
    shapes: Sequence[LabeledShape] = (),
    tracks: Sequence[LabeledTrack] = (),
    tags: Sequence[LabeledImage] = (),
) -> dict[int, JobPart]:
    """Every job's part of the request (jobs with nothing get an empty part). An object
    that no job covers is a ValidationError naming it."""
    parts = {job.job_id: JobPart() for job in jobs}
    for i, shape in enumerate(shapes):
        for job in _covering(jobs, shape.frame, f"shapes[{i}].frame"):
            parts[job.job_id].shapes.append(shape)
            parts[job.job_id].shapes_from.append(i)
    for i, tag in enumerate(tags):
        for job in _covering(jobs, tag.frame, f"tags[{i}].frame"):
            parts[job.job_id].tags.append(tag)
            parts[job.job_id].tags_from.append(i)
    for i, track in enumerate(tracks):
        placed = False
        for job in jobs:
            piece = slice_track(track, job.start_frame, job.stop_frame)
            if piece is not None:
                parts[job.job_id].tracks.append(piece)
                parts[job.job_id].tracks_from.append(i)
                placed = True
        if not placed:
            raise ValidationError(
                "the track is visible on no frame of the task", f"tracks[{i}].shapes"
            )
    return parts


def _covering(jobs: Sequence[JobRange], frame: int, where: str) -> list[JobRange]:
    found = [job for job in jobs if frame in job]
    if not found:
        raise ValidationError(f"frame {frame} is not a frame of the task", where)
    return found


def _sorted(shapes: Iterable[TrackedShape]) -> list[TrackedShape]:
    return sorted(shapes, key=lambda s: s.frame)


def track_inside(shapes: Sequence[TrackedShape], start: int, stop: int) -> bool:
    """CVAT's `_is_track_inside`: the track is visible somewhere in start..stop."""
    previous: TrackedShape | None = None
    for shape in shapes:
        if (
            previous is not None
            and not previous.outside
            and min(shape.frame, stop) - max(previous.frame, start) >= 0
        ):
            return True
        previous = shape
    return previous is not None and not previous.outside and previous.frame <= stop


def _as_keyframe(shape: InterpolatedShape, **changes: object) -> TrackedShape:
    keyframe = TrackedShape(
        type=shape.type,
        occluded=shape.occluded,
        outside=shape.outside,
        z_order=shape.z_order,
        rotation=shape.rotation,
        points=list(shape.points),
        frame=shape.frame,
        attributes=list(shape.attributes),
    )
    return structs.replace(keyframe, **changes) if changes else keyframe


def slice_keyframes(
    shapes: Sequence[TrackedShape], track_frame: int, start: int, stop: int
) -> list[TrackedShape]:
    """The keyframes one job holds of a track (see the module docstring)."""
    ordered = _sorted(shapes)

    def inside(items: Iterable[TrackedShape]) -> list[TrackedShape]:
        kept = [s for s in items if start <= s.frame <= stop]
        while kept and kept[0].outside:
            kept.pop(0)  # a job part never starts hidden
        return kept

    piece = inside(ordered)
    if len(piece) == len(ordered):
        return piece
    seen = interpolate_keyframes(ordered, track_frame, start, stop + 1, include_outside=False)
    in_range = [s for s in seen if s.frame <= stop]
    while in_range and in_range[0].outside:
        in_range.pop(0)
    if not in_range:
        return []
    first = in_range[0]
    # Keyframes from where the track enters the job (later outside ones included).
    piece = [s for s in ordered if first.frame <= s.frame <= stop]
    if not first.keyframe:
        piece.insert(0, _as_keyframe(first))
    last_key = ordered[-1].frame
    after = [s for s in seen if s.frame == stop + 1]
    last = in_range[-1]
    if last_key > stop and not last.outside and last.frame == stop and after:
        closing = after[0]
        if not closing.outside:
            piece.append(_as_keyframe(closing, outside=True))
        elif closing.keyframe:
            piece.append(_as_keyframe(closing))
    return piece


def slice_track(track: LabeledTrack, start: int, stop: int) -> LabeledTrack | None:
    """The track as one job holds it, or None when it is not visible in start..stop."""
    ordered = _sorted(track.shapes)
    if not ordered or not track_inside(ordered, start, stop):
        return None
    shapes = slice_keyframes(ordered, track.frame, start, stop)
    if not shapes:
        return None
    elements = []
    for element in track.elements:
        element_shapes = slice_keyframes(element.shapes, element.frame, start, stop)
        frame = element_shapes[0].frame if element_shapes else shapes[0].frame
        elements.append(structs.replace(element, shapes=element_shapes, frame=frame))
    return structs.replace(track, shapes=shapes, elements=elements, frame=shapes[0].frame)


_INDEX = re.compile(r"^(shapes|tracks|tags)\[(\d+)\]")


def renamed(error: DomainError, part: JobPart) -> DomainError:
    """The error with the job part's index replaced by the request's."""
    if error.field is None:
        return error
    match = _INDEX.match(error.field)
    if match is None:
        return error
    kind, index = match.group(1), int(match.group(2))
    origin: list[int] = getattr(part, f"{kind}_from")
    if index >= len(origin):
        return error
    field_name = f"{kind}[{origin[index]}]" + error.field[match.end() :]
    fresh = type(error)(error.message, field_name)
    fresh.command_index = error.command_index
    return fresh


# --- merging ------------------------------------------------------------------------------

Obj = TypeVar("Obj", LabeledShape, LabeledTrack, LabeledImage)
Twin = tuple[int, int]  # (job id, object id)


class JobContent(msgspec.Struct, kw_only=True):
    job: JobRange
    shapes: list[LabeledShape] = []
    tracks: list[LabeledTrack] = []
    tags: list[LabeledImage] = []


@dataclass
class Merged:
    shapes: list[LabeledShape] = field(default_factory=list)
    tracks: list[LabeledTrack] = field(default_factory=list)
    tags: list[LabeledImage] = field(default_factory=list)
    # (kind, shown id) -> every (job, id) the shown object stands for, itself first.
    twins: dict[tuple[Kind, int], list[Twin]] = field(default_factory=dict)

    def where(self, kind: Kind, object_id: int) -> list[Twin]:
        return self.twins.get((kind, object_id), [])


def _same_points(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=_EPS, abs_tol=_EPS) for x, y in zip(a, b, strict=True)
    )


def _box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    ax1, ay1, ax2, ay2 = min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]), max(a[1], a[3])
    bx1, by1, bx2, by2 = min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])
    w = min(ax2, bx2) - max(ax1, bx1)
    h = min(ay2, by2) - max(ay1, by1)
    inter = w * h if w > 0 and h > 0 else 0.0
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else 0.0


def shapes_match(a: LabeledShape, b: LabeledShape) -> bool:
    if a.type != b.type or a.label_id != b.label_id:
        return False
    if _same_points(a.points, b.points) and a.rotation == b.rotation:
        if a.type != "skeleton":
            return True
        by_label = {e.label_id: e for e in b.elements}
        return all(
            (other := by_label.get(e.label_id)) is not None and _same_points(e.points, other.points)
            for e in a.elements
        )
    return (
        a.type == "rectangle"
        and len(a.points) == len(b.points) == 4
        and (_box_iou(a.points, b.points) >= SHAPE_IOU)
    )


def _state_at(
    shapes: Sequence[TrackedShape], track_frame: int, frame: int
) -> InterpolatedShape | None:
    found = interpolate_keyframes(shapes, track_frame, frame, frame, include_outside=True)
    return found[0] if found else None


def _continues(earlier: LabeledTrack, later: LabeledTrack) -> bool:
    """`later` (first keyframe on frame f) continues `earlier` when that is on f too, with
    the same label, type and points (and the same for every skeleton point)."""
    if earlier.label_id != later.label_id or not earlier.shapes or not later.shapes:
        return False
    first = _sorted(later.shapes)[0]
    if earlier.shapes[0].type != first.type:
        return False
    state = _state_at(earlier.shapes, earlier.frame, first.frame)
    if state is None or (state.outside and not state.keyframe):
        return False  # the earlier track ended before this one starts
    if not _same_points(state.points, first.points):
        return False
    by_label = {e.label_id: e for e in earlier.elements}
    for element in later.elements:
        own = _sorted(element.shapes)
        other = by_label.get(element.label_id)
        if other is None:
            return False
        if not own:
            continue
        mine = _state_at(other.shapes, other.frame, own[0].frame)
        if mine is not None and not _same_points(mine.points, own[0].points):
            return False
    return True


def _unite_keyframes(
    earlier: Sequence[TrackedShape], later: Sequence[TrackedShape], boundary: int
) -> list[TrackedShape]:
    """Earlier keyframes up to `boundary` (the earlier job's last frame) win; the later
    part's keyframes fill the rest. The earlier part's closing keyframe is dropped."""
    by_frame = {s.frame: s for s in earlier if s.frame <= boundary}
    for shape in later:
        if shape.frame > boundary or shape.frame not in by_frame:
            by_frame[shape.frame] = shape
    return [by_frame[f] for f in sorted(by_frame)]


def unite_tracks(earlier: LabeledTrack, later: LabeledTrack, boundary: int) -> LabeledTrack:
    shapes = _unite_keyframes(earlier.shapes, later.shapes, boundary)
    later_elements = {e.label_id: e for e in later.elements}
    elements: list[SkeletonElementTrack] = []
    for element in earlier.elements:
        other = later_elements.get(element.label_id)
        if other is None:
            elements.append(element)
            continue
        united = _unite_keyframes(element.shapes, other.shapes, boundary)
        frame = united[0].frame if united else element.frame
        elements.append(structs.replace(element, shapes=united, frame=frame))
    frame = min([shapes[0].frame] if shapes else [earlier.frame])
    return structs.replace(earlier, shapes=shapes, elements=elements, frame=frame)


def merge(contents: Sequence[JobContent]) -> Merged:
    """One view of the task from its jobs' objects (see the module docstring)."""
    result = Merged()
    covered_stop = -1  # the last frame of the jobs merged so far
    for content in sorted(contents, key=lambda c: (c.job.start_frame, c.job.job_id)):
        job = content.job
        boundary = covered_stop  # frames <= boundary were covered by earlier jobs
        _merge_flat(result, "shape", result.shapes, content.shapes, job, boundary, shapes_match)
        _merge_flat(
            result, "tag", result.tags, content.tags, job, boundary,
            lambda a, b: a.label_id == b.label_id,
        )  # fmt: skip
        _merge_tracks(result, content.tracks, job, boundary)
        covered_stop = max(covered_stop, job.stop_frame)
    result.shapes.sort(key=lambda s: (s.frame, s.id or 0))
    result.tags.sort(key=lambda t: (t.frame, t.id or 0))
    result.tracks.sort(key=lambda t: t.id or 0)
    return result


def _merge_flat(
    result: Merged,
    kind: Kind,
    shown: list[Obj],
    incoming: Sequence[Obj],
    job: JobRange,
    boundary: int,
    match: object,
) -> None:
    by_frame: dict[int, list[int]] = {}
    if boundary >= job.start_frame:
        for index, obj in enumerate(shown):
            if job.start_frame <= obj.frame <= boundary:
                by_frame.setdefault(obj.frame, []).append(index)
    taken: set[int] = set()
    for obj in incoming:
        object_id = obj.id or 0
        twin_of = None
        if obj.frame <= boundary:
            for index in by_frame.get(obj.frame, []):
                if index not in taken and match(shown[index], obj):  # type: ignore[operator]
                    twin_of = index
                    break
        if twin_of is None:
            shown.append(obj)
            result.twins[kind, object_id] = [(job.job_id, object_id)]
        else:
            taken.add(twin_of)
            result.twins[kind, shown[twin_of].id or 0].append((job.job_id, object_id))


def _merge_tracks(
    result: Merged, incoming: Sequence[LabeledTrack], job: JobRange, boundary: int
) -> None:
    candidates = [
        index
        for index, track in enumerate(result.tracks)
        if boundary >= job.start_frame - 1 and track.shapes
    ]
    taken: set[int] = set()
    for track in incoming:
        object_id = track.id or 0
        twin_of = None
        start = _sorted(track.shapes)[0].frame if track.shapes else track.frame
        if job.start_frame <= start <= boundary + 1:
            for index in candidates:
                if index not in taken and _continues(result.tracks[index], track):
                    twin_of = index
                    break
        if twin_of is None:
            result.tracks.append(track)
            result.twins["track", object_id] = [(job.job_id, object_id)]
        else:
            taken.add(twin_of)
            earlier = result.tracks[twin_of]
            result.tracks[twin_of] = unite_tracks(earlier, track, boundary)
            result.twins["track", earlier.id or 0].append((job.job_id, object_id))
