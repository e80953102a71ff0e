"""Event wire format: round trips, and stored old versions read back through upcasters."""

from __future__ import annotations

import pytest

from backend.domain.events import (
    JobCreated,
    ObjectsCreated,
    ObjectsUpdated,
    UnknownEvent,
    decode_event,
    encode_event,
)
from backend.domain.objects import LabeledShape, ShapePatch


def test_job_created_v1_bytes_are_upcast_to_v2() -> None:
    # Literally what a v1 writer stored: one frame_range pair, no frame list.
    stored = b'{"type":"JobCreated","job_id":7,"task_id":3,"frame_range":[10,19]}'
    event = decode_event("JobCreated", 1, stored)
    assert event == JobCreated(job_id=7, task_id=3, start_frame=10, stop_frame=19, frames=None)
    assert encode_event(event)[:2] == ("JobCreated", 2)


def test_current_version_round_trips() -> None:
    event = ObjectsCreated(
        shapes=[LabeledShape(id=1, type="rectangle", frame=0, label_id=2, points=[1, 2, 3, 4])]
    )
    name, version, data = encode_event(event)
    assert (name, version) == ("ObjectsCreated", 1)
    assert decode_event(name, version, data) == event


def test_unset_patch_fields_are_omitted_on_the_wire() -> None:
    _, _, data = encode_event(ObjectsUpdated(shapes=[ShapePatch(id=3, z_order=2)]))
    assert b'"z_order":2' in data
    assert b"points" not in data and b"occluded" not in data


def test_unknown_type_and_future_version_are_refused() -> None:
    with pytest.raises(UnknownEvent):
        decode_event("NoSuchEvent", 1, b"{}")
    with pytest.raises(UnknownEvent):
        decode_event("ObjectsCreated", 99, b"{}")
