"""Op commands to domain commands, through the REST layer's own conversions, the ids an
outcome created (ack.ids), and where in an op a refusal points (nack.field)."""

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
from backend.domain.errors import DomainError
from backend.domain.events import AnnotationsReplaced, Event, ObjectsCreated
from backend.realtime import protocol


def _edit_parts(
    command: protocol.EditCommand,
) -> list[tuple[str, protocol.CreateCommand | protocol.UpdateCommand | protocol.DeleteCommand]]:
    """An edit's non-empty parts, in the order they are decided."""
    create, update, delete = command.create, command.update, command.delete
    parts: list[
        tuple[str, protocol.CreateCommand | protocol.UpdateCommand | protocol.DeleteCommand]
    ] = []
    if create.shapes or create.tracks or create.tags:
        parts.append(("create", protocol.CreateCommand(
            shapes=create.shapes, tracks=create.tracks, tags=create.tags)))  # fmt: skip
    if update.shapes or update.tracks or update.tags:
        parts.append(("update", protocol.UpdateCommand(
            shapes=update.shapes, tracks=update.tracks, tags=update.tags)))  # fmt: skip
    if delete.shapes or delete.tracks or delete.tags:
        parts.append(("delete", protocol.DeleteCommand(
            shapes=delete.shapes, tracks=delete.tracks, tags=delete.tags)))  # fmt: skip
    return parts


def to_commands(command: protocol.OpCommand) -> list[Command]:
    """The domain commands of an op (not for undo/redo, which plan from the log). An edit
    is one batch: decide() takes all of it or none, and it is appended at once."""
    if isinstance(command, protocol.EditCommand):
        return [c for _, part in _edit_parts(command) for c in to_commands(part)]
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


def error_field(command: protocol.OpCommand, error: DomainError) -> str | None:
    """The refused input's path in the op: an edit's part comes first (`delete.shapes[0]`)."""
    if not isinstance(command, protocol.EditCommand) or error.command_index is None:
        return error.field
    name = _edit_parts(command)[error.command_index][0]
    return f"{name}.{error.field}" if error.field else name
