"""Versioned domain events of a job stream, with their wire encoding and upcasters.

One event per user action: a batch that creates 2,000 shapes is one `ObjectsCreated`.
Events are facts in the past tense; stored bytes are never rewritten. When an event's
shape changes, bump its VERSION and register an upcaster that turns the stored dict of the
old version into the next one; `decode_event` runs the chain on read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal, TypeAlias

import msgspec
from msgspec import UNSET, UnsetType

from backend.domain.objects import (
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    ShapePatch,
    TagPatch,
    TrackKeyframeChanges,
    TrackPatch,
)


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    VERSION: ClassVar[int] = 1


# --- job stream lifecycle -------------------------------------------------------------


class JobCreated(Event, frozen=True, kw_only=True, tag="JobCreated"):
    """A job exists and owns these frames. v1 stored `frame_range: [start, stop]`."""

    VERSION: ClassVar[int] = 2

    job_id: int
    task_id: int
    start_frame: int
    stop_frame: int
    frames: list[int] | None = None  # None: every frame of start_frame..stop_frame


JobStage = Literal["annotation", "validation", "acceptance"]
JobState = Literal["new", "in progress", "rejected", "completed"]


class JobUpdated(Event, frozen=True, kw_only=True, tag="JobUpdated"):
    """Workflow fields of a job changed (only those given)."""

    job_id: int
    stage: JobStage | UnsetType = UNSET
    state: JobState | UnsetType = UNSET
    assignee_id: int | UnsetType | None = UNSET


# --- annotation changes ---------------------------------------------------------------


class ObjectsCreated(Event, frozen=True, kw_only=True, tag="ObjectsCreated"):
    """New objects, ids assigned (skeleton elements and keyframes included)."""

    shapes: list[LabeledShape] = []
    tracks: list[LabeledTrack] = []
    tags: list[LabeledImage] = []


class ObjectsUpdated(Event, frozen=True, kw_only=True, tag="ObjectsUpdated"):
    """Changed properties only, per object (see objects.ShapePatch)."""

    shapes: list[ShapePatch] = []
    tracks: list[TrackPatch] = []
    tags: list[TagPatch] = []


class TrackKeyframesChanged(Event, frozen=True, kw_only=True, tag="TrackKeyframesChanged"):
    """Keyframes set or removed on tracks (and on the element tracks of skeleton tracks)."""

    tracks: list[TrackKeyframeChanges]


class ObjectsDeleted(Event, frozen=True, kw_only=True, tag="ObjectsDeleted"):
    shapes: list[int] = []
    tracks: list[int] = []
    tags: list[int] = []


class AnnotationsReplaced(Event, frozen=True, kw_only=True, tag="AnnotationsReplaced"):
    """PUT: the whole new content of the job; everything before it is gone."""

    shapes: list[LabeledShape] = []
    tracks: list[LabeledTrack] = []
    tags: list[LabeledImage] = []


class AnnotationsCleared(Event, frozen=True, kw_only=True, tag="AnnotationsCleared"):
    """DELETE: the job has no annotations any more."""


AnyEvent: TypeAlias = (
    JobCreated
    | JobUpdated
    | ObjectsCreated
    | ObjectsUpdated
    | TrackKeyframesChanged
    | ObjectsDeleted
    | AnnotationsReplaced
    | AnnotationsCleared
)
EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        JobCreated,
        JobUpdated,
        ObjectsCreated,
        ObjectsUpdated,
        TrackKeyframesChanged,
        ObjectsDeleted,
        AnnotationsReplaced,
        AnnotationsCleared,
    )
}
RESETTING_EVENTS: tuple[type[Event], ...] = (AnnotationsReplaced, AnnotationsCleared)

# --- encoding and upcasting -----------------------------------------------------------

Upcaster: TypeAlias = Callable[[dict[str, Any]], dict[str, Any]]
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}
_ENCODER = msgspec.json.Encoder()
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    name: msgspec.json.Decoder(cls) for name, cls in EVENT_TYPES.items()
}


def register_events(*classes: type[Event]) -> None:
    """Make events of other modules (projects, tasks) decodable by `decode_event`."""
    for cls in classes:
        EVENT_TYPES[cls.__name__] = cls
        _DECODERS[cls.__name__] = msgspec.json.Decoder(cls)


class UnknownEvent(Exception):
    """Stored bytes that this code cannot read (unknown type, or a version from the future)."""


def upcaster(event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function turning data of `from_version` into data of `from_version + 1`."""

    def register(func: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in _UPCASTERS:
            raise ValueError(f"upcaster for {event_type} v{from_version} already registered")
        _UPCASTERS[key] = func
        return func

    return register


def encode_event(event: Event) -> tuple[str, int, bytes]:
    """(type name, version, JSON bytes of the data) as the event store keeps them."""
    cls = type(event)
    return cls.__name__, cls.VERSION, _ENCODER.encode(event)


class ForeignEvent(Event, frozen=True, kw_only=True, tag="ForeignEvent"):
    """A job-stream event that annotations do not interpret (review issues, or a type added
    by a later version): folding it only advances the revision. Never stored."""

    name: str


def decode_job_event(event_type: str, version: int, data: bytes) -> Event:
    """Like decode_event, but an event type this module does not define (other features
    share the job stream) becomes a ForeignEvent instead of an error."""
    if event_type not in EVENT_TYPES:
        return ForeignEvent(name=event_type)
    return decode_event(event_type, version, data)


def decode_event(event_type: str, version: int, data: bytes) -> Event:
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEvent(f"unknown event type {event_type!r}")
    if version == cls.VERSION:
        # The common case stays on msgspec's fast path: no intermediate dict.
        event: Event = _DECODERS[event_type].decode(data)
        return event
    if version > cls.VERSION:
        raise UnknownEvent(f"{event_type} v{version} is newer than this code (v{cls.VERSION})")
    raw: dict[str, Any] = msgspec.json.decode(data)
    for step in range(version, cls.VERSION):
        func = _UPCASTERS.get((event_type, step))
        if func is None:
            raise UnknownEvent(f"no upcaster for {event_type} v{step}")
        raw = func(raw)
    raw["type"] = event_type
    converted: Event = msgspec.convert(raw, cls)
    return converted


@upcaster("JobCreated", from_version=1)
def _job_created_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # v1 kept the segment as one pair and had no notion of a job's own frame list.
    data = dict(data)
    start, stop = data.pop("frame_range")
    data.update(start_frame=start, stop_frame=stop, frames=None)
    return data
