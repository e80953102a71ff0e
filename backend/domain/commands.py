"""Imperative commands for a job's annotations; `JobAnnotations.decide` turns them into events.

Commands carry what a user asked for; new objects come without ids (any id given is
ignored: the service hands fresh ones to decide). Updates name only the properties to set.
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec
from msgspec import UNSET, UnsetType

from backend.domain.objects import (
    AttributeVal,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    ShapePatch,
    Source,
    TagPatch,
    TrackedShape,
)


class Command(msgspec.Struct, frozen=True, kw_only=True, tag_field="command"):
    pass


class CreateJob(Command, frozen=True, kw_only=True, tag="CreateJob"):
    job_id: int
    task_id: int
    start_frame: int
    stop_frame: int
    frames: list[int] | None = None


class CreateObjects(Command, frozen=True, kw_only=True, tag="CreateObjects"):
    shapes: list[LabeledShape] = []
    tracks: list[LabeledTrack] = []
    tags: list[LabeledImage] = []


class ElementTrackUpdate(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    attributes: list[AttributeVal] | UnsetType = UNSET
    shapes: list[TrackedShape] | UnsetType = UNSET


class TrackUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Track properties, and optionally the complete keyframe list (CVAT's PATCH update).

    When `shapes` is given, keyframes missing from it are removed, new or different ones
    are set; unchanged keyframes produce nothing.
    """

    id: int
    label_id: int | UnsetType = UNSET
    group: int | UnsetType | None = UNSET
    source: Source | UnsetType = UNSET
    attributes: list[AttributeVal] | UnsetType = UNSET
    shapes: list[TrackedShape] | UnsetType = UNSET
    elements: list[ElementTrackUpdate] | UnsetType = UNSET


class UpdateObjects(Command, frozen=True, kw_only=True, tag="UpdateObjects"):
    """Property-level edits. A property equal to its current value is not an edit."""

    shapes: list[ShapePatch] = []
    tracks: list[TrackUpdate] = []
    tags: list[TagPatch] = []


class ElementKeyframe(msgspec.Struct, frozen=True, kw_only=True):
    element_id: int
    shape: TrackedShape


class SetKeyframe(Command, frozen=True, kw_only=True, tag="SetKeyframe"):
    """Insert or replace the keyframe at `shape.frame` (and/or at element tracks)."""

    track_id: int
    shape: TrackedShape | None = None
    elements: list[ElementKeyframe] = []


class DeleteKeyframe(Command, frozen=True, kw_only=True, tag="DeleteKeyframe"):
    """Remove the keyframe at `frame` from the track and from its element tracks."""

    track_id: int
    frame: int


class DeleteObjects(Command, frozen=True, kw_only=True, tag="DeleteObjects"):
    shapes: list[int] = []
    tracks: list[int] = []
    tags: list[int] = []


class ReplaceAnnotations(Command, frozen=True, kw_only=True, tag="ReplaceAnnotations"):
    shapes: list[LabeledShape] = []
    tracks: list[LabeledTrack] = []
    tags: list[LabeledImage] = []


class ClearAnnotations(Command, frozen=True, kw_only=True, tag="ClearAnnotations"):
    pass


AnyCommand: TypeAlias = (
    CreateJob
    | CreateObjects
    | UpdateObjects
    | SetKeyframe
    | DeleteKeyframe
    | DeleteObjects
    | ReplaceAnnotations
    | ClearAnnotations
)


def _track_ids(track: LabeledTrack) -> int:
    return 1 + len(track.shapes) + sum(1 + len(e.shapes) for e in track.elements)


def ids_needed(commands: list[Command]) -> int:
    """How many fresh ids decide() may draw for these commands (an upper bound).

    Exact for creations; for keyframe updates it counts every keyframe given, although
    unchanged ones draw none. Every object, skeleton element and keyframe gets an id.
    """
    total = 0
    for cmd in commands:
        if isinstance(cmd, CreateObjects | ReplaceAnnotations):
            total += sum(1 + len(s.elements) for s in cmd.shapes)
            total += sum(_track_ids(t) for t in cmd.tracks)
            total += len(cmd.tags)
        elif isinstance(cmd, SetKeyframe):
            total += (cmd.shape is not None) + len(cmd.elements)
        elif isinstance(cmd, UpdateObjects):
            for track in cmd.tracks:
                if not isinstance(track.shapes, UnsetType):
                    total += len(track.shapes)
                if not isinstance(track.elements, UnsetType):
                    total += sum(
                        len(e.shapes) for e in track.elements if not isinstance(e.shapes, UnsetType)
                    )
    return total
