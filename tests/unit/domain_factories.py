"""Shared builders for domain unit tests: a label set, a created job, id iterators."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from backend.domain.annotations import JobAnnotations
from backend.domain.commands import Command, CreateJob
from backend.domain.events import Event
from backend.domain.labels import AttributeSpec, LabelSet, LabelSpec
from backend.domain.objects import (
    AttributeVal,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    SkeletonElementShape,
    SkeletonElementTrack,
    TrackedShape,
)

CAR, PERSON, HEAD, FOOT, WEATHER, BOX_ONLY = 1, 2, 3, 4, 5, 6
COLOR, SPEED, PARKED, PLATE = 10, 11, 12, 13

LABELS = LabelSet(
    [
        LabelSpec(
            id=CAR,
            name="car",
            attributes=[
                AttributeSpec(
                    id=COLOR, name="color", input_type="select", values=["red", "blue"],
                    default_value="red",
                ),
                AttributeSpec(
                    id=SPEED, name="speed", input_type="number", mutable=True,
                    values=["0", "100", "5"], default_value="0",
                ),
                AttributeSpec(
                    id=PARKED, name="parked", input_type="checkbox", mutable=True,
                    default_value="false",
                ),
                AttributeSpec(id=PLATE, name="plate", input_type="text"),
            ],
        ),
        LabelSpec(
            id=PERSON,
            name="person",
            type="skeleton",
            sublabels=[
                LabelSpec(id=HEAD, name="head", type="points"),
                LabelSpec(id=FOOT, name="foot", type="points"),
            ],
        ),
        LabelSpec(id=WEATHER, name="weather", type="tag"),
        LabelSpec(id=BOX_ONLY, name="sign", type="rectangle"),
    ]
)  # fmt: skip

JOB = CreateJob(job_id=1, task_id=1, start_frame=0, stop_frame=99)


def ids(start: int = 1000) -> Iterator[int]:
    return itertools.count(start)


def job(*commands: Command, id_start: int = 1000) -> JobAnnotations:
    """A created job with `commands` decided and applied."""
    state = JobAnnotations()
    new_ids = ids(id_start)
    for command in (JOB, *commands):
        for event in state.decide([command], LABELS, new_ids):
            state.apply(event)
    return state


def run(state: JobAnnotations, commands: Sequence[Command], start: int = 5000) -> list[Event]:
    events = state.decide(commands, LABELS, ids(start))
    for event in events:
        state.apply(event)
    return events


def rect(frame: int = 0, points: list[float] | None = None, **kw: object) -> LabeledShape:
    return LabeledShape(
        type="rectangle", frame=frame, label_id=CAR, points=points or [0.0, 0.0, 10.0, 10.0],
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def skeleton(frame: int = 0) -> LabeledShape:
    return LabeledShape(
        type="skeleton",
        frame=frame,
        label_id=PERSON,
        elements=[
            SkeletonElementShape(type="points", frame=frame, label_id=HEAD, points=[1.0, 1.0]),
            SkeletonElementShape(type="points", frame=frame, label_id=FOOT, points=[2.0, 9.0]),
        ],
    )


def box_track(*frames: int, attributes: list[AttributeVal] | None = None) -> LabeledTrack:
    return LabeledTrack(
        frame=frames[0],
        label_id=CAR,
        attributes=attributes or [],
        shapes=[
            TrackedShape(type="rectangle", frame=f, points=[f, f, f + 10.0, f + 10.0])
            for f in frames
        ],
    )


def skeleton_track(*frames: int) -> LabeledTrack:
    def point_track(label: int) -> SkeletonElementTrack:
        return SkeletonElementTrack(
            frame=frames[0],
            label_id=label,
            shapes=[TrackedShape(type="points", frame=f, points=[f, 1.0]) for f in frames],
        )

    return LabeledTrack(
        frame=frames[0],
        label_id=PERSON,
        shapes=[TrackedShape(type="skeleton", frame=f) for f in frames],
        elements=[point_track(HEAD), point_track(FOOT)],
    )


def tag(frame: int = 0) -> LabeledImage:
    return LabeledImage(frame=frame, label_id=WEATHER)
