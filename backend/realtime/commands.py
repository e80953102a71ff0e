"""Op commands to domain commands, through the REST layer's own conversions, and the ids
an outcome created (ack.ids)."""

from __future__ import annotations

from collections.abc import Sequence

from backend.api.annotations import job_update
from backend.domain.commands import (
    ClearAnnotations,
    Command,
    CreateObjects,
    DeleteKeyframe,
    DeleteObjects,
    ReplaceAnnotations,
    SetKeyframe,
)
from backend.domain.events import AnnotationsReplaced, Event, ObjectsCreated
from backend.realtime import protocol


def to_commands(command: protocol.OpCommand) -> list[Command]:
    """The domain commands of an op (not for undo/redo, which plan from the log)."""
    if isinstance(command, protocol.CreateCommand):
        return [CreateObjects(shapes=command.shapes, tracks=command.tracks, tags=command.tags)]
    if isinstance(command, protocol.UpdateCommand):
        return [job_update(command)]
    if isinstance(command, protocol.DeleteCommand):
        return [
            DeleteObjects(
                shapes=[o.id for o in command.shapes],
                tracks=[o.id for o in command.tracks],
                tags=[o.id for o in command.tags],
            )
        ]
    if isinstance(command, protocol.ReplaceCommand):
        return [ReplaceAnnotations(shapes=command.shapes, tracks=command.tracks, tags=command.tags)]
    if isinstance(command, protocol.ClearCommand):
        return [ClearAnnotations()]
    if isinstance(command, protocol.SetKeyframeCommand):
        return [
            SetKeyframe(track_id=command.track_id, shape=command.shape, elements=command.elements)
        ]
    if isinstance(command, protocol.DeleteKeyframeCommand):
        return [DeleteKeyframe(track_id=command.track_id, frame=command.frame)]
    raise TypeError(f"{type(command).__name__} is not a domain command")


def created_ids(events: Sequence[Event]) -> protocol.CreatedIds:
    ids = protocol.CreatedIds()
    for event in events:
        if isinstance(event, ObjectsCreated | AnnotationsReplaced):
            ids.shapes += [s.id or 0 for s in event.shapes]
            ids.tracks += [t.id or 0 for t in event.tracks]
            ids.tags += [t.id or 0 for t in event.tags]
    return ids
