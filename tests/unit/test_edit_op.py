"""The socket's compound `edit` op (merge, split, paste): its parts become one batch of domain
commands that decide() takes whole or refuses whole, and a refusal names the part."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from backend.domain.commands import CreateObjects, DeleteObjects, UpdateObjects
from backend.domain.errors import NotFound
from backend.domain.events import ObjectsCreated, ObjectsDeleted, TrackKeyframesChanged
from backend.domain.objects import LabeledShape, LabeledTrack
from backend.realtime import commands, protocol
from tests.unit.domain_factories import LABELS, box_track, ids, job, rect, run

_op = msgspec.json.Decoder(protocol.Op)


def edit(body: dict[str, object]) -> protocol.EditCommand:
    op = _op.decode(msgspec.json.encode({"op_id": "x", "job": 1, "command": body}))
    assert isinstance(op.command, protocol.EditCommand)
    return op.command


def plain(value: object) -> Any:
    return msgspec.to_builtins(value)


def test_merge_creates_the_track_and_deletes_the_shapes_in_one_batch() -> None:
    state = job(CreateObjects(shapes=[rect(0), rect(3, [30.0, 0.0, 40.0, 10.0])]))
    shapes = [s.id for s in state.shapes()]
    track = plain(box_track(0, 3))
    command = edit({"type": "edit", "create": {"tracks": [track]},
                    "delete": {"shapes": [{"id": i} for i in shapes]}})  # fmt: skip
    batch = commands.to_commands(command)
    assert [type(c) for c in batch] == [CreateObjects, DeleteObjects]
    events = run(state, batch)
    assert [type(e) for e in events] == [ObjectsCreated, ObjectsDeleted]
    assert state.shapes() == [] and [len(t.shapes) for t in state.tracks()] == [2]


def test_split_creates_the_rest_and_ends_the_track_with_its_keyframe_list() -> None:
    state = job(CreateObjects(tracks=[box_track(0, 4, 8)]))
    [old] = state.tracks()
    here = {"type": "rectangle", "frame": 2, "points": [2, 2, 12, 12]}
    first = plain(old.shapes[0])
    rest = {"frame": 2, "label_id": old.label_id, "shapes": [here, *plain(old.shapes[1:])]}
    command = edit({
        "type": "edit",
        "create": {"tracks": [rest]},
        "update": {"tracks": [{"id": old.id, "shapes": [first, {**here, "outside": True}]}]},
    })  # fmt: skip
    batch = commands.to_commands(command)
    assert [type(c) for c in batch] == [CreateObjects, UpdateObjects]
    events = run(state, batch)
    assert [type(e) for e in events] == [ObjectsCreated, TrackKeyframesChanged]
    ended = state.get("track", old.id)
    assert isinstance(ended, LabeledTrack)
    assert [(k.frame, k.outside) for k in ended.shapes] == [(0, False), (2, True)]
    [new] = [t for t in state.tracks() if t.id != old.id]
    assert [k.frame for k in new.shapes] == [2, 4, 8]


def test_a_bad_part_refuses_the_whole_edit_and_names_itself() -> None:
    state = job(CreateObjects(shapes=[rect(0)]))
    [shape] = state.shapes()
    command = edit({
        "type": "edit",
        "create": {"shapes": [plain(rect(1))]},
        "update": {"shapes": [{"id": shape.id, "z_order": 5}]},
        "delete": {"shapes": [{"id": shape.id}, {"id": 424242}]},
    })  # fmt: skip
    with pytest.raises(NotFound) as raised:
        state.decide(commands.to_commands(command), LABELS, ids())
    assert commands.error_field(command, raised.value) == "delete.shapes[1]"
    assert state.shapes() == [shape]  # nothing of it applied
    assert isinstance(shape, LabeledShape) and shape.z_order == 0


def test_an_empty_edit_decides_nothing() -> None:
    command = edit({"type": "edit"})
    assert commands.to_commands(command) == []
    assert job().decide([], LABELS, ids()) == []
