"""Property tests of the undo rule (backend/domain/undo.py) over random histories of two
users (the random commands of test_replay_properties: shapes, skeletons, tracks, tags,
updates, keyframes, deletes, PUTs and clears):

- without interference, undo restores the state before the change, redo the state after
  it, and undo after redo the state before again;
- an undo never changes a property that someone else changed after the undone change,
  and never deletes or re-creates an object someone else created or deleted.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_replay_properties import commands, shape_patch
from test_undo_rules import ADA, BOB, Log

from backend.domain.annotations import JobAnnotations
from backend.domain.apply import apply_to_objects
from backend.domain.commands import CreateObjects, UpdateObjects
from backend.domain.errors import DomainError
from backend.domain.objects import AnnotationObject, Key, LabeledShape
from backend.domain.undo import properties

SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def write(data: st.DataObject, log: Log, actor: int) -> bool:
    """One random batch by `actor`; False when the domain refused it (nothing written)."""
    batch = data.draw(st.lists(commands(log.state), min_size=1, max_size=2))
    try:
        return bool(log.write(actor, batch))
    except DomainError:
        return False


def history(data: st.DataObject, log: Log) -> None:
    for _ in range(data.draw(st.integers(0, 5))):
        write(data, log, data.draw(st.sampled_from([ADA, BOB])))


@SETTINGS
@given(st.data())
def test_undo_then_redo_returns_to_the_same_state_without_interference(
    data: st.DataObject,
) -> None:
    log = Log()
    history(data, log)
    before = log.objects()
    if not write(data, log, ADA) or log.objects() == before:
        return
    after = log.objects()
    assert log.undo(ADA) is not None
    assert log.objects() == before
    assert log.redo(ADA) is not None
    assert log.objects() == after
    assert log.undo(ADA) is not None
    assert log.objects() == before
    # The state the log folds to is the state the compensations were applied to.
    assert JobAnnotations.from_events(e.event for e in log.log).objects == log.state.objects


def touched_by(log: Log, start: int, actor: int) -> dict[Key, set[Any]]:
    """Per object, the properties `actor`'s events from log index `start` on changed
    ("*": the object was created or deleted)."""
    objects: dict[Key, AnnotationObject] = {}
    for logged in log.log[:start]:
        apply_to_objects(logged.event, objects)
    touched: dict[Key, set[Any]] = {}
    for logged in log.log[start:]:
        old = dict(objects)
        apply_to_objects(logged.event, objects)
        if logged.actor != actor:
            continue
        for key in old.keys() | objects.keys():
            was, now = old.get(key), objects.get(key)
            if was is now:
                continue
            if was is None or now is None:
                touched.setdefault(key, set()).add("*")
                continue
            a, b = properties(was), properties(now)
            changed = {p for p in a.keys() | b.keys() if a.get(p) != b.get(p)}
            if changed:
                touched.setdefault(key, set()).update(changed)
    return touched


@SETTINGS
@given(st.data())
def test_undo_never_changes_what_someone_else_changed_later(data: st.DataObject) -> None:
    log = Log()
    history(data, log)
    if not write(data, log, ADA):
        return
    for _ in range(data.draw(st.integers(1, 4))):
        write(data, log, BOB)
    check_undo_keeps_bobs_edits(log)


def check_undo_keeps_bobs_edits(log: Log) -> None:
    now = log.objects()
    done = log.undo(ADA)
    if done is None:
        return
    undone = log.objects()
    for key, props in touched_by(log, done.target.last + 1, BOB).items():
        if "*" in props:  # Bob created or deleted it: the undo leaves it as it is
            assert undone.get(key) == now.get(key), key
            continue
        assert (key in undone) == (key in now), key  # never deleted under Bob's hands
        if key in now:
            was, became = properties(now[key]), properties(undone[key])
            for prop in props:
                assert became.get(prop) == was.get(prop), (key, prop)


def edit_shapes(data: st.DataObject, log: Log, actor: int, ids: list[int]) -> None:
    shapes = [s for s in log.state.shapes() if s.id in ids]
    if not shapes:
        return
    picked = data.draw(st.lists(st.sampled_from(shapes), min_size=1, unique_by=lambda s: s.id))
    try:
        log.write(actor, [UpdateObjects(shapes=[data.draw(shape_patch(s)) for s in picked])])
    except DomainError:
        pass


@SETTINGS
@given(st.data())
def test_undo_keeps_edits_of_the_same_objects_made_after_it(data: st.DataObject) -> None:
    """Bob edits exactly the shapes Ada's change created or edited: the collisions the
    rule is about, which random histories rarely produce."""
    log = Log()
    created = log.write(ADA, [CreateObjects(shapes=[data.draw(shape_st) for _ in range(3)])])
    ids = [s.id or 0 for s in created[0].shapes]  # type: ignore[attr-defined]
    for _ in range(data.draw(st.integers(0, 2))):
        edit_shapes(data, log, ADA, ids)
    for _ in range(data.draw(st.integers(1, 3))):
        edit_shapes(data, log, BOB, ids)
    check_undo_keeps_bobs_edits(log)
    check_undo_keeps_bobs_edits(log)


shape_st = st.builds(
    LabeledShape,
    type=st.just("rectangle"),
    frame=st.integers(0, 3),
    label_id=st.just(1),
    points=st.lists(st.integers(0, 50).map(float), min_size=4, max_size=4),
)
