"""The undo / redo rule of backend/domain/undo.py on a job's log in memory: writes by two
users, undo and redo appended as the service appends them (one write id per write,
compensating events marked undo_of / redo_of)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

from domain_factories import BOX_ONLY, CAR, COLOR, JOB, LABELS, PLATE, SPEED, WEATHER, ids

from backend.domain.annotations import JobAnnotations
from backend.domain.commands import (
    ClearAnnotations,
    Command,
    CreateObjects,
    DeleteObjects,
    ReplaceAnnotations,
    SetKeyframe,
    TrackUpdate,
    UpdateObjects,
)
from backend.domain.events import Event, decode_event, encode_event
from backend.domain.labels import LabelSet
from backend.domain.objects import (
    AttributeVal,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    ShapePatch,
    TagPatch,
    TrackedShape,
)
from backend.domain.undo import LoggedEvent, Plan, plan, stacks

ADA, BOB = 1, 2


class Log:
    def __init__(self) -> None:
        self.state = JobAnnotations()
        self.log: list[LoggedEvent] = []
        self.new_ids = ids(1000)
        self.labels: LabelSet | None = None  # the job's labels now (None: all exist)
        self._events = itertools.count()
        self._writes = itertools.count()
        self.write(None, [JOB])

    def _append(
        self,
        actor: int | None,
        events: Sequence[Event],
        undo_of: str | None = None,
        redo_of: str | None = None,
    ) -> None:
        write_id = f"w{next(self._writes)}"
        for event in events:
            event = decode_event(*encode_event(event))  # through the wire, as stored
            self.state.apply(event)
            self.log.append(
                LoggedEvent(
                    revision=self.state.revision,
                    event_id=f"e{next(self._events)}",
                    event=event,
                    actor=actor,
                    write_id=write_id,
                    undo_of=undo_of,
                    redo_of=redo_of,
                )
            )

    def write(self, actor: int | None, commands: Sequence[Command]) -> list[Event]:
        events = self.state.decide(commands, LABELS, self.new_ids)
        self._append(actor, events)
        return events

    def step(self, actor: int, action: Literal["undo", "redo"]) -> Plan | None:
        found = plan(self.log, actor, action, self.labels)
        if found is not None:
            marker = {f"{action}_of": found.target.id}
            self._append(actor, found.events, **marker)
        return found

    def undo(self, actor: int) -> Plan | None:
        return self.step(actor, "undo")

    def redo(self, actor: int) -> Plan | None:
        return self.step(actor, "redo")

    def objects(self) -> dict[tuple[str, int], object]:
        return dict(self.state.objects)


def box(frame: int = 0, points: list[float] | None = None, **fields: object) -> LabeledShape:
    return LabeledShape(type="rectangle", frame=frame, label_id=CAR,
                        points=points or [0, 0, 10, 10], **fields)  # type: ignore[arg-type]  # fmt: skip


def created_id(events: Sequence[Event]) -> int:
    shape_id = events[0].shapes[0].id  # type: ignore[attr-defined]
    assert isinstance(shape_id, int)
    return shape_id


def shape(log: Log, shape_id: int) -> LabeledShape:
    found = log.state.get("shape", shape_id)
    assert isinstance(found, LabeledShape)
    return found


def test_undo_restores_each_property_the_change_set():
    log = Log()
    sid = created_id(log.write(ADA, [CreateObjects(shapes=[box()])]))
    before = log.objects()
    blue = [AttributeVal(COLOR, "blue")]
    patch = ShapePatch(id=sid, points=[1, 1, 5, 5], z_order=2, attributes=blue)
    log.write(ADA, [UpdateObjects(shapes=[patch])])
    assert log.undo(ADA) is not None
    assert log.objects() == before
    assert log.log[-1].undo_of == log.log[-2].undo_of  # one write, marked


def test_undo_never_removes_someone_elses_later_edit_of_the_same_property():
    log = Log()
    sid = created_id(log.write(ADA, [CreateObjects(shapes=[box()])]))
    log.write(ADA, [UpdateObjects(shapes=[ShapePatch(id=sid, points=[1, 1, 5, 5], z_order=2)])])
    log.write(BOB, [UpdateObjects(shapes=[ShapePatch(id=sid, points=[7, 7, 9, 9])])])
    done = log.undo(ADA)
    assert done is not None
    assert shape(log, sid).points == [7, 7, 9, 9]  # Bob's points stay
    assert shape(log, sid).z_order == 0  # Ada's z_order is undone
    [skip] = done.skipped
    assert (skip.kind, skip.id, skip.properties) == ("shape", sid, ["points"])


def test_undone_create_deletes_unless_someone_else_changed_the_object():
    log = Log()
    first = created_id(log.write(ADA, [CreateObjects(shapes=[box()])]))
    second = created_id(log.write(ADA, [CreateObjects(shapes=[box(1)])]))
    assert log.undo(ADA) is not None
    assert log.state.get("shape", second) is None
    log.write(BOB, [UpdateObjects(shapes=[ShapePatch(id=first, z_order=3)])])
    # Ada's create of `first` is all Bob's now: nothing left to undo in it, nor before it.
    assert log.undo(ADA) is None
    assert shape(log, first).z_order == 3


def test_undone_create_that_someone_edited_is_kept_and_reported_while_the_rest_is_undone():
    log = Log()
    events = log.write(ADA, [CreateObjects(shapes=[box(), box(2)])])
    kept, gone = (s.id for s in events[0].shapes)  # type: ignore[attr-defined]
    log.write(BOB, [UpdateObjects(shapes=[ShapePatch(id=kept, occluded=True)])])
    done = log.undo(ADA)
    assert done is not None
    assert log.state.get("shape", gone) is None
    assert shape(log, kept).occluded
    assert [(s.id, s.reason) for s in done.skipped] == [
        (kept, "changed by someone else since: kept")
    ]


def test_undone_delete_recreates_the_objects_with_their_old_ids():
    log = Log()
    track = LabeledTrack(frame=0, label_id=CAR, shapes=[
        TrackedShape(type="rectangle", frame=0, points=[0, 0, 4, 4]),
        TrackedShape(type="rectangle", frame=5, points=[1, 1, 5, 5])])  # fmt: skip
    tag = LabeledImage(frame=3, label_id=WEATHER)
    created = log.write(ADA, [CreateObjects(shapes=[box()], tracks=[track], tags=[tag])])
    before = log.objects()
    event = created[0]
    log.write(ADA, [DeleteObjects(shapes=[event.shapes[0].id], tracks=[event.tracks[0].id],  # type: ignore[attr-defined]
                                  tags=[event.tags[0].id])])  # type: ignore[attr-defined]  # fmt: skip
    assert log.undo(ADA) is not None
    assert log.objects() == before  # same ids, keyframe ids included


def test_undo_of_a_put_brings_back_the_old_content_and_keeps_others_new_objects():
    log = Log()
    log.write(ADA, [CreateObjects(shapes=[box(), box(1)])])
    before = log.objects()
    log.write(ADA, [ReplaceAnnotations(shapes=[box(4)])])
    bobs = created_id(log.write(BOB, [CreateObjects(shapes=[box(9)])]))
    assert log.undo(ADA) is not None
    assert {k: v for k, v in log.objects().items() if k != ("shape", bobs)} == before
    assert log.state.get("shape", bobs) is not None
    log.write(ADA, [ClearAnnotations()])
    assert log.undo(ADA) is not None
    assert ("shape", bobs) in log.objects() and len(log.objects()) == 3


def test_redo_reapplies_the_undone_change_and_a_new_change_clears_the_redo_stack():
    log = Log()
    sid = created_id(log.write(ADA, [CreateObjects(shapes=[box()])]))
    log.write(ADA, [UpdateObjects(shapes=[ShapePatch(id=sid, points=[1, 1, 5, 5])])])
    after = log.objects()
    log.undo(ADA)
    log.undo(ADA)
    assert log.state.get("shape", sid) is None
    assert log.redo(ADA) is not None and log.redo(ADA) is not None
    assert log.objects() == after
    assert log.redo(ADA) is None
    log.undo(ADA)
    log.write(ADA, [UpdateObjects(shapes=[ShapePatch(id=sid, z_order=1)])])
    assert log.redo(ADA) is None  # a new change empties the redo stack
    undo, redo = stacks(log.log, ADA)
    assert len(undo) == 2 and redo == []


def test_undo_and_redo_are_per_user():
    log = Log()
    mine = created_id(log.write(ADA, [CreateObjects(shapes=[box()])]))
    bobs = created_id(log.write(BOB, [CreateObjects(shapes=[box(1)])]))
    log.undo(ADA)
    assert log.state.get("shape", mine) is None
    assert log.state.get("shape", bobs) is not None
    assert log.undo(ADA) is None  # the job's creation is no one's change
    assert log.redo(BOB) is None


def test_a_label_change_is_undone_with_the_attributes_it_voided():
    log = Log()
    attributes = [AttributeVal(COLOR, "blue"), AttributeVal(PLATE, "X1")]
    new_tag = LabeledImage(frame=0, label_id=CAR, attributes=attributes)
    tag = log.write(ADA, [CreateObjects(tags=[new_tag])])[0].tags[0].id  # type: ignore[attr-defined]
    before = log.objects()
    log.write(ADA, [UpdateObjects(tags=[TagPatch(id=tag, label_id=WEATHER, group=4)])])
    assert log.undo(ADA) is not None
    assert log.objects() == before
    # If someone else set an attribute since, the label (and its attributes) stay.
    log.redo(ADA)
    log.write(ADA, [UpdateObjects(tags=[TagPatch(id=tag, label_id=CAR)])])
    log.write(BOB, [UpdateObjects(tags=[TagPatch(id=tag, attributes=[AttributeVal(SPEED, "5")])])])
    done = log.undo(ADA)
    assert done is None or all("label_id" in s.properties for s in done.skipped)
    found = log.state.get("tag", tag)
    assert found is not None and found.label_id == CAR


def test_undo_of_a_keyframe_change_restores_the_track():
    log = Log()
    track = LabeledTrack(frame=0, label_id=CAR, shapes=[
        TrackedShape(type="rectangle", frame=0, points=[0, 0, 4, 4])])  # fmt: skip
    tid = log.write(ADA, [CreateObjects(tracks=[track])])[0].tracks[0].id  # type: ignore[attr-defined]
    before = log.objects()
    keyframe = TrackedShape(type="rectangle", frame=8, points=[2, 2, 6, 6])
    log.write(ADA, [SetKeyframe(track_id=tid, shape=keyframe)])
    assert log.undo(ADA) is not None
    assert log.objects() == before


def test_objects_whose_label_was_deleted_are_not_brought_back():
    log = Log()
    sid = created_id(log.write(ADA, [CreateObjects(shapes=[box()])]))
    log.write(ADA, [DeleteObjects(shapes=[sid])])
    log.labels = LabelSet([])  # every label deleted since
    assert log.undo(ADA) is None
    assert log.state.get("shape", sid) is None
    log.labels = None
    assert log.undo(ADA) is not None
    assert log.state.get("shape", sid) is not None


def test_a_track_label_change_is_undone_with_its_keyframe_attributes():
    log = Log()
    speed = [AttributeVal(SPEED, "5")]
    keyframes = [
        TrackedShape(type="rectangle", frame=0, points=[0, 0, 4, 4], attributes=speed),
        TrackedShape(type="rectangle", frame=6, points=[1, 1, 5, 5], attributes=speed),
    ]
    blue = [AttributeVal(COLOR, "blue")]
    track = LabeledTrack(frame=0, label_id=CAR, attributes=blue, shapes=keyframes)
    tid = log.write(ADA, [CreateObjects(tracks=[track])])[0].tracks[0].id  # type: ignore[attr-defined]
    before = log.objects()
    log.write(ADA, [UpdateObjects(tracks=[TrackUpdate(id=tid, label_id=BOX_ONLY, group=2)])])
    changed = log.state.get("track", tid)
    assert isinstance(changed, LabeledTrack) and changed.shapes[0].attributes == []
    done = log.undo(ADA)
    assert done is not None and done.skipped == []
    # A property patch and keyframe changes, not a delete and re-create.
    assert [type(e).__name__ for e in done.events] == ["ObjectsUpdated", "TrackKeyframesChanged"]
    assert log.objects() == before
    assert log.redo(ADA) is not None
    assert log.state.get("track", tid) == changed
