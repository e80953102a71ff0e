"""The JobAnnotations aggregate: the shapes, tracks and tags of one job stream.

State is a fold of the job's events through `apply.apply_to_objects` (the same function
projections use). `decide` validates commands and returns events without touching the
state; the service appends them and then applies them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import msgspec

from backend.domain.apply import ObjectMap, apply_to_objects
from backend.domain.commands import Command, ids_needed
from backend.domain.decisions import Decider
from backend.domain.events import Event, JobCreated
from backend.domain.job_workflow import JobWorkflow
from backend.domain.labels import LabelSet
from backend.domain.objects import (
    AnnotationObject,
    Key,
    Kind,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
)

__all__ = ["CvatAnnotations", "JobAnnotations", "JobAnnotationsSnapshot", "ids_needed"]


class CvatAnnotations(msgspec.Struct, frozen=True, kw_only=True):
    """The body of CVAT's GET /api/jobs/{id}/annotations."""

    version: int
    tags: list[LabeledImage]
    shapes: list[LabeledShape]
    tracks: list[LabeledTrack]


class JobAnnotationsSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What a snapshot stores, so loading is snapshot + the events after `revision`."""

    revision: int
    job: JobCreated | None
    shapes: list[LabeledShape]
    tracks: list[LabeledTrack]
    tags: list[LabeledImage]
    workflow: JobWorkflow = JobWorkflow()


def _by_id(objects: Iterable[AnnotationObject]) -> list[AnnotationObject]:
    return sorted(objects, key=lambda obj: obj.id or 0)


class JobAnnotations:
    """Mutable in place by `apply` only; `revision` is the stream revision of the last
    applied event (-1 before any). `workflow` (stage, state, assignee) rides along: the
    decision that changes it needs the stream's truth, and this is where it is kept."""

    __slots__ = ("job", "objects", "revision", "workflow")

    def __init__(self) -> None:
        self.job: JobCreated | None = None
        self.objects: ObjectMap = {}
        self.revision = -1
        self.workflow = JobWorkflow()

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> JobAnnotations:
        state = cls()
        for event in events:
            state.apply(event)
        return state

    def apply(self, event: Event) -> None:
        """Fold one event in. Events this aggregate does not know (review issues share
        the job stream) only advance the revision."""
        if isinstance(event, JobCreated):
            self.job = event
        self.workflow = self.workflow.apply(event)
        apply_to_objects(event, self.objects)
        self.revision += 1

    def decide(
        self, commands: Sequence[Command], labels: LabelSet, new_ids: Iterator[int]
    ) -> list[Event]:
        """Events for the whole batch, or a DomainError and no events at all."""
        return Decider(self.job, self.objects, labels, new_ids).decide(commands)

    def get(self, kind: Kind, object_id: int) -> AnnotationObject | None:
        return self.objects.get((kind, object_id))

    def keys(self) -> set[Key]:
        return set(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def _of_kind(self, cls: type[AnnotationObject]) -> list[AnnotationObject]:
        return _by_id(obj for obj in self.objects.values() if type(obj) is cls)

    def shapes(self) -> list[LabeledShape]:
        return [o for o in self._of_kind(LabeledShape) if isinstance(o, LabeledShape)]

    def tracks(self) -> list[LabeledTrack]:
        return [o for o in self._of_kind(LabeledTrack) if isinstance(o, LabeledTrack)]

    def tags(self) -> list[LabeledImage]:
        return [o for o in self._of_kind(LabeledImage) if isinstance(o, LabeledImage)]

    def to_cvat(self) -> CvatAnnotations:
        return CvatAnnotations(
            version=max(self.revision, 0),
            tags=self.tags(),
            shapes=self.shapes(),
            tracks=self.tracks(),
        )

    def snapshot(self) -> JobAnnotationsSnapshot:
        return JobAnnotationsSnapshot(
            revision=self.revision,
            job=self.job,
            shapes=self.shapes(),
            tracks=self.tracks(),
            tags=self.tags(),
            workflow=self.workflow,
        )

    @classmethod
    def from_snapshot(
        cls, snapshot: JobAnnotationsSnapshot, events: Iterable[Event] = ()
    ) -> JobAnnotations:
        state = cls()
        state.job = snapshot.job
        state.revision = snapshot.revision
        state.workflow = snapshot.workflow
        for shape in snapshot.shapes:
            state.objects["shape", shape.id or 0] = shape
        for track in snapshot.tracks:
            state.objects["track", track.id or 0] = track
        for tag in snapshot.tags:
            state.objects["tag", tag.id or 0] = tag
        for event in events:
            state.apply(event)
        return state
