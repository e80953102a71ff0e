"""Per-user undo and redo of a job's annotation changes, as compensating events.

The rule (which change, what is restored, what is skipped) is the pure
`backend/domain/undo.py`; read its docstring. In short: undo compensates the user's latest
change that is not undone yet, restoring each property it changed to its value before,
except properties someone else changed since (their edits are never removed); an undone
create deletes the objects (those someone else edited since stay); an undone delete
re-creates them with their old ids. Redo compensates the undo under the same rule.

This module is the IO around it: read the job's stream, plan, append the compensation
with the expected revision (a concurrent write makes it plan again on the newer log), and
mark the events in their metadata (`undo_of` / `redo_of`: the event id of the first event
of the compensated change; a fresh `request_id` groups them). The stacks are derived from
those marks, so nothing is stored besides the events. Both HTTP (`POST
/api/jobs/{id}/undo`) and the realtime socket call `undo` / `redo` here.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from backend.domain.errors import Conflict
from backend.domain.events import Event, decode_job_event, encode_event
from backend.domain.undo import LoggedEvent, Skipped, plan
from backend.eventstore.port import NewEvent, RecordedEvent, WrongExpectedRevision
from backend.services.job_annotations import job_stream
from backend.services.labels import labels_for_job

if TYPE_CHECKING:
    from backend.bootstrap import Container

_MAX_ATTEMPTS = 10


class UndoOutcome(msgspec.Struct, frozen=True, kw_only=True):
    action: Literal["undo", "redo"]
    target: str  # event id of the first event of the change compensated
    revision: int  # the job stream's revision after the append
    position: int  # global position of the last event (read-your-writes)
    events: list[Event]
    skipped: list[Skipped]  # what was left alone, and why


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def logged(recorded: RecordedEvent) -> LoggedEvent:
    meta = recorded.metadata
    actor = meta.get("actor")
    return LoggedEvent(
        revision=recorded.revision,
        event_id=str(recorded.event_id),
        event=decode_job_event(recorded.type, recorded.version, recorded.data),
        actor=None if actor is None else int(actor),
        write_id=_str(meta.get("request_id")) or _str(meta.get("op_id")),
        undo_of=_str(meta.get("undo_of")),
        redo_of=_str(meta.get("redo_of")),
    )


def _actor_id(user: Any) -> int:
    return int(user if isinstance(user, int) else user.id)


async def _step(
    container: Container,
    job_id: int,
    user: Any,
    action: Literal["undo", "redo"],
    source: str,
    op_id: str | None,
) -> UndoOutcome:
    actor = _actor_id(user)
    stream = job_stream(job_id)
    for _ in range(_MAX_ATTEMPTS):
        async with container.pool.connection() as conn:
            labels = await labels_for_job(conn, job_id)
        recorded = await container.store.read_stream(stream)
        log = [logged(r) for r in recorded]
        found = plan(log, actor, action, labels)
        if found is None:
            raise Conflict(f"nothing to {action} in job {job_id}", action)
        meta: dict[str, Any] = {"actor": actor, "request_id": uuid.uuid4().hex}
        if source != "api":
            meta["source"] = source
        if op_id is not None:
            meta["op_id"] = op_id
        meta[f"{action}_of"] = found.target.id
        new = [
            NewEvent(type=t, version=v, data=d, metadata=meta)
            for t, v, d in (encode_event(e) for e in found.events)
        ]
        try:
            result = await container.store.append(stream, new, recorded[-1].revision)
        except WrongExpectedRevision:
            continue  # someone wrote meanwhile: plan again on the newer log
        return UndoOutcome(
            action=action,
            target=found.target.id,
            revision=result.last_revision,
            position=result.last_position,
            events=found.events,
            skipped=found.skipped,
        )
    raise RuntimeError(f"job {job_id}: too much contention, gave up after retries")


async def undo(
    container: Container,
    job_id: int,
    user: Any,
    *,
    source: str = "api",
    op_id: str | None = None,
) -> UndoOutcome:
    """Undo `user`'s latest change in the job (`user`: a principal or a user id).
    Raises Conflict (409) when there is nothing to undo."""
    return await _step(container, job_id, user, "undo", source, op_id)


async def redo(
    container: Container,
    job_id: int,
    user: Any,
    *,
    source: str = "api",
    op_id: str | None = None,
) -> UndoOutcome:
    """Redo `user`'s latest undo in the job. Raises Conflict (409) when there is none."""
    return await _step(container, job_id, user, "redo", source, op_id)
