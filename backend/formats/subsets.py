"""A project dataset import's annotations, cut into one part per subset (CVAT makes a task
of each subset: train, val, ...).

The importer reads the whole dataset once against all of its images (frames 0..n-1 in
image name order) and tells which subset each image's item is in. Here the frames are
grouped by subset (each keeping the images' order) and the annotations split along, a
track cut where it crosses into another subset exactly as a task's track is cut into its
jobs (task_annotations.split), then numbered from 0 within its subset. A track visible at
its last keyframe ends with that keyframe's subset (it was visible to the end of its task).
Images that no item of the dataset names are left out (CVAT makes task data of the
dataset's items only), unless the importer told no subsets at all: then every image is in
"default"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from msgspec import structs

from backend.domain.annotations import CvatAnnotations
from backend.domain.objects import LabeledTrack
from backend.services.task_annotations import JobRange, split

__all__ = ["DEFAULT_SUBSET", "SubsetPart", "renumber", "split_by_subset"]

DEFAULT_SUBSET = "default"


@dataclass(frozen=True)
class SubsetPart:
    name: str
    frames: list[int]  # the dataset's frame numbers, in order; the part's frame i is frames[i]
    annotations: CvatAnnotations  # numbered within the part


def split_by_subset(
    frame_count: int, subsets: Mapping[int, str], data: CvatAnnotations
) -> tuple[list[SubsetPart], list[int]]:
    """(the parts in subset name order, the frames left out)."""
    if not subsets:
        subsets = dict.fromkeys(range(frame_count), DEFAULT_SUBSET)
    names = sorted(set(subsets.values()))
    grouped = [n for name in names for n in range(frame_count) if subsets.get(n) == name]
    left_out = [n for n in range(frame_count) if n not in subsets]
    # number the frames subset after subset, so that each subset is one frame range
    position = {frame: i for i, frame in enumerate(grouped)}
    ranges, start = [], 0
    for index, name in enumerate(names):
        size = sum(1 for value in subsets.values() if value == name)
        ranges.append(JobRange(index, start, start + size - 1))
        start += size
    moved = renumber(_on_frames(data, position), position)
    tracks = [_closed(track, ranges) for track in moved.tracks]
    pieces = split(ranges, moved.shapes, tracks, moved.tags)
    parts = []
    for index, name in enumerate(names):
        job = ranges[index]
        piece = pieces[index]
        # a keyframe past the part's end (the cut's closing one) is dropped: a track visible
        # on the last frame is visible to the end of the task anyway
        local = {job.start_frame + i: i for i in range(job.stop_frame - job.start_frame + 1)}
        annotations = CvatAnnotations(
            version=0, shapes=piece.shapes, tracks=piece.tracks, tags=piece.tags
        )
        parts.append(
            SubsetPart(
                name, grouped[job.start_frame : job.stop_frame + 1], renumber(annotations, local)
            )
        )
    return parts, left_out


def _closed(track: LabeledTrack, ranges: Sequence[JobRange]) -> LabeledTrack:
    """A track still visible at its last keyframe ends with that keyframe's subset (it was
    visible to the end of its task, which is the subset), not in the subsets after it."""
    last = track.shapes[-1]
    if last.outside:
        return track
    end = next(r.stop_frame for r in ranges if r.start_frame <= last.frame <= r.stop_frame)
    if end == ranges[-1].stop_frame:
        return track
    closing = structs.replace(last, id=None, frame=end + 1, outside=True)
    return structs.replace(track, shapes=[*track.shapes, closing])


def _on_frames(data: CvatAnnotations, frames: Mapping[int, int]) -> CvatAnnotations:
    """Only the shapes and tags on these frames (tracks lose their other keyframes in
    renumber)."""
    return CvatAnnotations(
        version=0,
        shapes=[s for s in data.shapes if s.frame in frames],
        tags=[t for t in data.tags if t.frame in frames],
        tracks=data.tracks,
    )


def renumber(data: CvatAnnotations, mapping: Mapping[int, int]) -> CvatAnnotations:
    """The annotations with every frame number `f` replaced by `mapping[f]` (which must
    keep the order of each track's keyframes); track keyframes on frames the mapping
    does not hold are dropped."""

    def keyframes(shapes: Sequence[Any]) -> list[Any]:
        return sorted(
            (structs.replace(s, frame=mapping[s.frame]) for s in shapes if s.frame in mapping),
            key=lambda s: s.frame,
        )

    tracks = []
    for track in data.tracks:
        shapes = keyframes(track.shapes)
        if not shapes:
            continue
        elements = []
        for element in track.elements:
            element_shapes = keyframes(element.shapes)
            frame = element_shapes[0].frame if element_shapes else shapes[0].frame
            elements.append(structs.replace(element, shapes=element_shapes, frame=frame))
        tracks.append(
            structs.replace(track, frame=shapes[0].frame, shapes=shapes, elements=elements)
        )
    return CvatAnnotations(
        version=0,
        shapes=[
            structs.replace(
                s,
                frame=mapping[s.frame],
                elements=[structs.replace(e, frame=mapping[s.frame]) for e in s.elements],
            )
            for s in data.shapes
        ],
        tags=[structs.replace(t, frame=mapping[t.frame]) for t in data.tags],
        tracks=tracks,
    )
