"""Application service for a job's annotations: load the aggregate, decide, append with the
expected revision, and retry the decision on a concurrent write.

Commands are property-level, so re-deciding on top of a concurrent writer's events is the
intended semantics (different properties both apply, the same property is last-writer-wins
in server order, an edit of an object deleted meanwhile is rejected by the domain).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from backend.domain.annotations import JobAnnotations, JobAnnotationsSnapshot
from backend.domain.commands import Command, CreateJob, ids_needed
from backend.domain.errors import NotFound
from backend.domain.events import Event, decode_job_event, encode_event
from backend.domain.job_workflow import WorkflowChange, decide_job_update
from backend.domain.labels import LabelSet
from backend.eventstore.port import (
    NO_STREAM,
    EventStore,
    NewEvent,
    RecordedEvent,
    Snapshot,
    WrongExpectedRevision,
)

SNAPSHOT_TYPE = "JobAnnotationsSnapshot"
# 2: snapshots carry the job's workflow (stage, state, assignee); a v1 snapshot lacks
# it, so it is not used (the stream is read from the start once more).
SNAPSHOT_VERSION = 2
# An append this large is worth a snapshot at once: loading it back from the log would
# decode it again on every cold load.
_BIG_APPEND_BYTES = 1 << 20
_MAX_ATTEMPTS = 10

_snapshot_decoder = msgspec.json.Decoder(JobAnnotationsSnapshot)
_encoder = msgspec.json.Encoder()


def job_stream(job_id: int) -> str:
    return f"job-{job_id}"


class EventMetadata(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who and how, stored beside each event (never personal data: ids only)."""

    actor: int | None = None
    source: str = "api"  # api | ws | import | auto-annotation | system
    op_id: str | None = None  # the client's op id (realtime), echoed to subscribers
    request_id: str | None = None
    # an import's report: format, file, mode, what this job got, what was skipped
    report: dict[str, Any] | None = None


class Outcome(msgspec.Struct, frozen=True):
    revision: int  # the job stream's revision after the append
    position: int  # global position of the last event (for read-your-writes)
    events: list[Event]


def _decode(recorded: Sequence[RecordedEvent]) -> list[Event]:
    return [decode_job_event(e.type, e.version, e.data) for e in recorded]


class JobAnnotationsService:
    def __init__(
        self,
        store: EventStore,
        pool: AsyncConnectionPool,
        *,
        snapshot_every: int = 500,
        cache_size: int = 64,
    ) -> None:
        self.store = store
        self.pool = pool
        self.snapshot_every = snapshot_every
        # Hot aggregates stay in memory and are brought up to date from the stream tail.
        self._cache: OrderedDict[int, JobAnnotations] = OrderedDict()
        self._cache_size = cache_size
        # Starts the stream of a job its task has (the composition root wires it to
        # ResourceService.ensure_job_stream): repairs a crash between the task's
        # TaskDataAttached and the job's JobCreated.
        self.start_missing_job: Callable[[int], Awaitable[None]] | None = None

    async def load(self, job_id: int, at_revision: int | None = None) -> JobAnnotations:
        """The aggregate now, or as it was at `at_revision` (time travel)."""
        if at_revision is None:
            cached = self._cache.get(job_id)
            if cached is not None:
                self._cache.move_to_end(job_id)
                for event in _decode(
                    await self.store.read_stream(job_stream(job_id), cached.revision + 1)
                ):
                    cached.apply(event)
                return cached
        state = await self._load_cold(job_id, at_revision)
        if at_revision is None:
            self._remember(job_id, state)
        return state

    async def _load_cold(self, job_id: int, at_revision: int | None) -> JobAnnotations:
        stream = job_stream(job_id)
        snap = await self.store.load_snapshot(stream)
        if (
            snap is not None
            and snap.version == SNAPSHOT_VERSION
            and (at_revision is None or snap.revision <= at_revision)
        ):
            state = JobAnnotations.from_snapshot(_snapshot_decoder.decode(snap.data))
        else:
            state = JobAnnotations()
        limit = None if at_revision is None else at_revision - state.revision
        if limit is None or limit > 0:
            for event in _decode(await self.store.read_stream(stream, state.revision + 1, limit)):
                state.apply(event)
        return state

    def _remember(self, job_id: int, state: JobAnnotations) -> None:
        self._cache[job_id] = state
        self._cache.move_to_end(job_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def execute(
        self,
        job_id: int,
        commands: Sequence[Command],
        labels: LabelSet,
        metadata: EventMetadata | None = None,
    ) -> Outcome:
        """Decide and append one batch atomically. Raises DomainError (nothing appended)."""
        meta = msgspec.to_builtins(metadata or EventMetadata())
        for _ in range(_MAX_ATTEMPTS):
            state = await self.load(job_id)
            if state.job is None and self.start_missing_job is not None:
                if not any(isinstance(c, CreateJob) for c in commands):
                    await self.start_missing_job(job_id)
                    state = await self.load(job_id)
            ids = await self._allocate_ids(ids_needed(list(commands)))
            events = state.decide(commands, labels, iter(ids))
            outcome = await self._append(job_id, state, events, meta)
            if outcome is not None:
                return outcome
        raise RuntimeError(f"job {job_id}: too much contention, gave up after retries")

    async def update_workflow(
        self, job_id: int, change: WorkflowChange, metadata: EventMetadata | None = None
    ) -> Outcome:
        """Change the job's stage, state or assignee (job_workflow.decide_job_update on the
        stream's own state). Raises DomainError (nothing appended)."""
        meta = msgspec.to_builtins(metadata or EventMetadata())
        for _ in range(_MAX_ATTEMPTS):
            state = await self.load(job_id)
            if state.job is None and self.start_missing_job is not None:
                await self.start_missing_job(job_id)
                state = await self.load(job_id)
            if state.job is None:
                raise NotFound(f"job {job_id} does not exist", "job")
            event = decide_job_update(job_id, state.workflow, change)
            outcome = await self._append(job_id, state, [] if event is None else [event], meta)
            if outcome is not None:
                return outcome
        raise RuntimeError(f"job {job_id}: too much contention, gave up after retries")

    async def _append(
        self, job_id: int, state: JobAnnotations, events: list[Event], meta: dict[str, Any]
    ) -> Outcome | None:
        """Append what was decided on `state`; None when someone wrote first (decide
        again on the newer state)."""
        if not events:
            return Outcome(state.revision, 0, [])
        encoded = [encode_event(e) for e in events]
        new = [NewEvent(type=t, version=v, data=d, metadata=meta) for t, v, d in encoded]
        before = state.revision
        expected = NO_STREAM if before < 0 else before
        try:
            result = await self.store.append(job_stream(job_id), new, expected)
        except WrongExpectedRevision:
            return None
        # A load in this process may already have read our events from the stream
        # while we waited for the commit: apply them only if nobody has.
        if state.revision == before:
            for event in events:
                state.apply(event)
        size = sum(len(d) for _, _, d in encoded)
        if size >= _BIG_APPEND_BYTES or before // self.snapshot_every != (
            result.last_revision // self.snapshot_every
        ):
            await self.save_snapshot(job_id, state)
        return Outcome(result.last_revision, result.last_position, events)

    async def create_job(
        self, command: CreateJob, metadata: EventMetadata | None = None
    ) -> Outcome:
        return await self.execute(command.job_id, [command], LabelSet([]), metadata)

    async def save_snapshot(self, job_id: int, state: JobAnnotations) -> None:
        await self.store.save_snapshot(
            Snapshot(
                stream_id=job_stream(job_id),
                revision=state.revision,
                type=SNAPSHOT_TYPE,
                version=SNAPSHOT_VERSION,
                data=_encoder.encode(state.snapshot()),
            )
        )

    async def _allocate_ids(self, count: int) -> list[int]:
        if count == 0:
            return []
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT nextval('annotation_ids') FROM generate_series(1, %s)", [count]
            )
            return [int(row[0]) for row in await cur.fetchall()]
