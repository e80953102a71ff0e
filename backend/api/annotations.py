"""/api/jobs/{id}/annotations and /api/tasks/{id}/annotations: CVAT's LabeledData.

GET serves the `job_objects` read model (one jsonb row per object, already CVAT JSON) by
joining the rows' text in Postgres, so a 50,000-shape job is never decoded in Python.
Writes turn the request into domain commands, ONE batch per job (appended atomically on
that job's stream), and answer once the read models have the write (read-your-writes).

* PUT = ReplaceAnnotations; DELETE = ClearAnnotations.
* PATCH ?action=create = CreateObjects; ?action=delete = DeleteObjects by the ids of the
  (complete) objects sent; ?action=update: clients send complete objects, which become
  property-level patches against the current state (the domain drops properties equal to
  their current value, so concurrent edits of other properties survive); track keyframes
  as the full list.
* Task level: the request is split across the task's jobs by frame range and the jobs are
  merged back on the way out (backend/services/task_annotations.py). Every job's batch is
  validated before any job is written, so bad input appends nothing anywhere.
"""

from __future__ import annotations

import datetime
import itertools
import uuid
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

import msgspec
from msgspec import UNSET, UnsetType
from starlette.responses import Response

from backend.api import access
from backend.api.errors import ApiError, bad_request, from_msgspec
from backend.api.json_text import refuse_unstorable
from backend.api.routing import ApiRequest, ApiRouter
from backend.domain.annotations import CvatAnnotations, JobAnnotations
from backend.domain.commands import (
    ClearAnnotations,
    Command,
    CreateObjects,
    DeleteObjects,
    ElementTrackUpdate,
    ReplaceAnnotations,
    TrackUpdate,
    UpdateObjects,
)
from backend.domain.errors import DomainError
from backend.domain.events import AnnotationsReplaced, Event, ObjectsCreated
from backend.domain.labels import LabelSet
from backend.domain.objects import (
    AttributeVal,
    ElementShapePatch,
    Kind,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    ShapePatch,
    ShapeType,
    SkeletonElementTrack,
    Source,
    TagPatch,
    TrackedShape,
)
from backend.iam.principal import User
from backend.services.job_annotations import EventMetadata, Outcome
from backend.services.labels import labels_for_job, labels_for_task
from backend.services.task_annotations import (
    JobContent,
    JobPart,
    JobRange,
    Merged,
    merge,
    renamed,
    slice_track,
    split,
)

router = ApiRouter("annotations")

# --- wire types -----------------------------------------------------------------------
# Creation and replacement decode straight into the domain's objects (CVAT's field names
# and defaults). Unknown keys (what a client echoes back from GET) are ignored.


class LabeledDataRequest(msgspec.Struct, kw_only=True):
    version: int = 0
    tags: list[LabeledImage] = []
    shapes: list[LabeledShape] = []
    tracks: list[LabeledTrack] = []


class ElementShapeUpdate(msgspec.Struct, kw_only=True):
    id: int
    label_id: int | UnsetType = UNSET
    occluded: bool | UnsetType = UNSET
    outside: bool | UnsetType = UNSET
    z_order: int | UnsetType = UNSET
    rotation: float | UnsetType = UNSET
    points: list[float] | UnsetType = UNSET
    attributes: list[AttributeVal] | UnsetType = UNSET


class ShapeUpdate(msgspec.Struct, kw_only=True):
    """A shape as the client sends it for ?action=update: only `id` is required; a field
    that is absent stays as it is."""

    id: int
    type: ShapeType | UnsetType = UNSET
    frame: int | UnsetType = UNSET
    label_id: int | UnsetType = UNSET
    group: int | UnsetType | None = UNSET
    source: Source | UnsetType = UNSET
    occluded: bool | UnsetType = UNSET
    outside: bool | UnsetType = UNSET
    z_order: int | UnsetType = UNSET
    rotation: float | UnsetType = UNSET
    points: list[float] | UnsetType = UNSET
    attributes: list[AttributeVal] | UnsetType = UNSET
    elements: list[ElementShapeUpdate] | UnsetType = UNSET


class ElementTrackUpdateIn(msgspec.Struct, kw_only=True):
    id: int
    label_id: int | UnsetType = UNSET
    attributes: list[AttributeVal] | UnsetType = UNSET
    shapes: list[TrackedShape] | UnsetType = UNSET


class TrackUpdateIn(msgspec.Struct, kw_only=True):
    id: int
    frame: int | UnsetType = UNSET
    label_id: int | UnsetType = UNSET
    group: int | UnsetType | None = UNSET
    source: Source | UnsetType = UNSET
    attributes: list[AttributeVal] | UnsetType = UNSET
    shapes: list[TrackedShape] | UnsetType = UNSET  # the complete keyframe list
    elements: list[ElementTrackUpdateIn] | UnsetType = UNSET


class TagUpdate(msgspec.Struct, kw_only=True):
    id: int
    frame: int | UnsetType = UNSET
    label_id: int | UnsetType = UNSET
    group: int | UnsetType | None = UNSET
    source: Source | UnsetType = UNSET
    attributes: list[AttributeVal] | UnsetType = UNSET


class UpdateRequest(msgspec.Struct, kw_only=True):
    version: int = 0
    tags: list[TagUpdate] = []
    shapes: list[ShapeUpdate] = []
    tracks: list[TrackUpdateIn] = []


class ObjectId(msgspec.Struct):
    id: int


class DeleteRequest(msgspec.Struct, kw_only=True):
    tags: list[ObjectId] = []
    shapes: list[ObjectId] = []
    tracks: list[ObjectId] = []


class PatchQuery(msgspec.Struct, kw_only=True):
    action: Literal["create", "update", "delete"] | None = None


class GetQuery(msgspec.Struct, kw_only=True):
    revision: int | None = None  # time travel: the job as it was at this stream revision
    at: str | None = None  # time travel: the state at this ISO 8601 time


class TaskGetQuery(msgspec.Struct, kw_only=True):
    at: str | None = None  # time travel: every job as it was at this ISO 8601 time


def _parse_at(text: str) -> datetime.datetime:
    """An ISO 8601 time (a time without a zone is UTC), or 400 naming `at`."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad_request("at", f"{text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


async def _revision_at(conn: Any, job_id: int, moment: datetime.datetime) -> int:
    """The job stream's last revision recorded at or before `moment` (-1: none yet)."""
    cur = await conn.execute(
        "SELECT max(revision) FROM events WHERE stream_id = %s AND recorded_at <= %s",
        [f"job-{job_id}", moment],
    )
    row = await cur.fetchone()
    return -1 if row is None or row[0] is None else int(row[0])


async def _time_travel_revision(conn: Any, job_id: int, query: GetQuery) -> int:
    """The revision `?revision=` or `?at=` asks for; 400 naming the parameter when it is
    out of range (beyond the head, negative) or both are given."""
    if query.revision is not None and query.at is not None:
        raise bad_request("at", "give either revision or at, not both")
    if query.at is not None:
        return await _revision_at(conn, job_id, _parse_at(query.at))
    assert query.revision is not None
    if query.revision < 0:
        raise bad_request("revision", "a revision is 0 or more")
    cur = await conn.execute(
        "SELECT max(revision) FROM events WHERE stream_id = %s", [f"job-{job_id}"]
    )
    row = await cur.fetchone()
    head = -1 if row is None or row[0] is None else int(row[0])
    if query.revision > head:
        raise bad_request("revision", f"revision {query.revision} is beyond the head ({head})")
    return query.revision


Action = Literal["create", "update", "delete"]
_T = TypeVar("_T")
_encode = msgspec.json.Encoder().encode
_DECODERS: dict[str | None, msgspec.json.Decoder[Any]] = {
    None: msgspec.json.Decoder(LabeledDataRequest),
    "create": msgspec.json.Decoder(LabeledDataRequest),
    "update": msgspec.json.Decoder(UpdateRequest),
    "delete": msgspec.json.Decoder(DeleteRequest),
}
_OBJECT_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "shape": msgspec.json.Decoder(LabeledShape),
    "track": msgspec.json.Decoder(LabeledTrack),
    "tag": msgspec.json.Decoder(LabeledImage),
}


async def _decode(req: ApiRequest, action: str | None) -> Any:
    raw = await req.request.body()
    refuse_unstorable(raw)
    try:
        return _DECODERS[action].decode(raw if raw.strip() else b"{}")
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise from_msgspec(exc, "body") from None


def _action(req: ApiRequest) -> Action:
    query: PatchQuery = req.query
    if query.action is None:
        raise bad_request("action", "Please specify a correct 'action' for the request")
    return query.action


# --- permissions ----------------------------------------------------------------------


async def authorize(
    conn: Any,
    user: User,
    scope: Literal["job", "task"],
    ident: int,
    action: Literal["view", "update", "delete"],
) -> None:
    """The one permission check of this module: 404 when the job/task does not exist or
    the user may not see it, 403 when the policy refuses the action."""
    policy_action = {
        "view": "view:annotations",
        "update": "update:annotations",
        "delete": "delete:annotations",
    }[action]
    if scope == "job":
        await access.check_job(conn, user, policy_action, ident)
    else:
        await access.check_task(conn, user, policy_action, ident)


# --- reading --------------------------------------------------------------------------

# Shapes and tags in frame order, tracks by id (CVAT's order); ids break ties.
_JOB_ROWS = (
    "SELECT kind, string_agg(data::text, ',' ORDER BY"
    " CASE WHEN kind = 'track' THEN 0 ELSE frame END, object_id)"
    " FROM job_objects WHERE job_id = %s GROUP BY kind"
)


async def _job_json(conn: Any, job_id: int) -> bytes:
    cur = await conn.execute("SELECT revision FROM jobs WHERE id = %s", [job_id])
    row = await cur.fetchone()
    version = 0 if row is None else max(int(row[0]), 0)
    cur = await conn.execute(_JOB_ROWS, [job_id])
    parts = {kind: text for kind, text in await cur.fetchall()}
    return (
        f'{{"version":{version},"tags":[{parts.get("tag", "")}],'
        f'"shapes":[{parts.get("shape", "")}],"tracks":[{parts.get("track", "")}]}}'
    ).encode()


async def _task_jobs(conn: Any, task_id: int) -> list[tuple[JobRange, int]]:
    cur = await conn.execute(
        "SELECT id, start_frame, stop_frame, revision FROM jobs"
        " WHERE task_id = %s AND type = 'annotation' ORDER BY start_frame, id",
        [task_id],
    )
    return [(JobRange(r[0], r[1], r[2]), int(r[3])) for r in await cur.fetchall()]


async def _task_contents(conn: Any, jobs: Sequence[JobRange]) -> list[JobContent]:
    contents = {job.job_id: JobContent(job=job) for job in jobs}
    if not contents:
        return []
    cur = await conn.execute(
        "SELECT job_id, kind, data::text FROM job_objects WHERE job_id = ANY(%s)",
        [list(contents)],
    )
    for job_id, kind, data in await cur.fetchall():
        obj = _OBJECT_DECODERS[kind].decode(data)
        getattr(contents[job_id], f"{kind}s").append(obj)
    return list(contents.values())


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status, media_type="application/json")


def _data(version: int, merged: Merged | CvatAnnotations | None = None) -> bytes:
    if merged is None:
        return _encode(CvatAnnotations(version=version, tags=[], shapes=[], tracks=[]))
    return _encode(
        CvatAnnotations(
            version=version, tags=merged.tags, shapes=merged.shapes, tracks=merged.tracks
        )
    )


@router.get(
    "/api/jobs/{id:int}/annotations",
    query=GetQuery,
    response=CvatAnnotations,
    summary="A job's annotations",
)
async def get_job_annotations(req: ApiRequest) -> Response:
    job_id: int = req.path["id"]
    query: GetQuery = req.query
    async with req.container.pool.connection() as conn:
        await authorize(conn, req.principal, "job", job_id, "view")
        if query.revision is None and query.at is None:
            return _json(await _job_json(conn, job_id))
        revision = await _time_travel_revision(conn, job_id, query)
    state = await req.container.annotations.load(job_id, at_revision=revision)
    return _json(_encode(_in_get_order(state.to_cvat())))


def _in_get_order(data: CvatAnnotations) -> CvatAnnotations:
    """The order GET serves from the read model (_JOB_ROWS): shapes and tags by frame,
    tracks by id, ids breaking ties."""
    return msgspec.structs.replace(
        data,
        shapes=sorted(data.shapes, key=lambda s: (s.frame, s.id or 0)),
        tags=sorted(data.tags, key=lambda t: (t.frame, t.id or 0)),
    )


@router.get(
    "/api/tasks/{id:int}/annotations",
    query=TaskGetQuery,
    response=CvatAnnotations,
    summary="A task's annotations (its jobs merged)",
)
async def get_task_annotations(req: ApiRequest) -> Response:
    task_id: int = req.path["id"]
    query: TaskGetQuery = req.query
    async with req.container.pool.connection() as conn:
        await authorize(conn, req.principal, "task", task_id, "view")
        jobs = await _task_jobs(conn, task_id)
        if query.at is not None:
            return await _task_at(req, conn, jobs, _parse_at(query.at))
        if len(jobs) == 1:
            return _json(await _job_json(conn, jobs[0][0].job_id))
        contents = await _task_contents(conn, [job for job, _ in jobs])
    version = max((revision for _, revision in jobs), default=0)
    return _json(_data(max(version, 0), merge(contents)))


async def _task_at(
    req: ApiRequest, conn: Any, jobs: Sequence[tuple[JobRange, int]], moment: datetime.datetime
) -> Response:
    """Every job of the task as it was at `moment`, merged as GET merges them now."""
    contents = []
    version = 0
    for job, _ in jobs:
        revision = await _revision_at(conn, job.job_id, moment)
        state = await req.container.annotations.load(job.job_id, at_revision=revision)
        version = max(version, revision)
        contents.append(
            JobContent(job=job, shapes=state.shapes(), tracks=state.tracks(), tags=state.tags())
        )
    return _json(_data(version, merge(contents)))


# --- job writes -----------------------------------------------------------------------


def _metadata(req: ApiRequest) -> EventMetadata:
    # One request id per request: the events one write appends share it, which is how the
    # undo stack (backend/services/undo.py) tells one change from the next.
    return EventMetadata(actor=req.principal.id, source="api", request_id=uuid.uuid4().hex)


async def _execute(
    req: ApiRequest, job_id: int, commands: list[Command], labels: LabelSet
) -> Outcome:
    outcome = await req.container.annotations.execute(job_id, commands, labels, _metadata(req))
    await req.projected(outcome.position)
    return outcome


def _created(events: Sequence[Event]) -> CvatAnnotations:
    tags: list[LabeledImage] = []
    shapes: list[LabeledShape] = []
    tracks: list[LabeledTrack] = []
    for event in events:
        if isinstance(event, ObjectsCreated | AnnotationsReplaced):
            tags += event.tags
            shapes += event.shapes
            tracks += event.tracks
    return CvatAnnotations(version=0, tags=tags, shapes=shapes, tracks=tracks)


def _picked(state: JobAnnotations, request: Any) -> CvatAnnotations:
    """The objects of `state` that the request names (by id)."""

    def pick(kind: Kind, items: Sequence[Any], cls: type[_T]) -> list[_T]:
        found = (state.get(kind, item.id) for item in items)
        return [obj for obj in found if isinstance(obj, cls)]

    return CvatAnnotations(
        version=max(state.revision, 0),
        tags=pick("tag", request.tags, LabeledImage),
        shapes=pick("shape", request.shapes, LabeledShape),
        tracks=pick("track", request.tracks, LabeledTrack),
    )


async def _job_labels(
    req: ApiRequest, job_id: int, action: Literal["update", "delete"]
) -> LabelSet:
    async with req.container.pool.connection() as conn:
        await authorize(conn, req.principal, "job", job_id, action)
        return await labels_for_job(conn, job_id)


@router.put(
    "/api/jobs/{id:int}/annotations",
    raw_body=True,
    body=LabeledDataRequest,
    response=CvatAnnotations,
    summary="Replace a job's annotations",
)
async def put_job_annotations(req: ApiRequest) -> Response:
    job_id: int = req.path["id"]
    labels = await _job_labels(req, job_id, "update")
    body: LabeledDataRequest = await _decode(req, None)
    command = ReplaceAnnotations(shapes=body.shapes, tracks=body.tracks, tags=body.tags)
    outcome = await _execute(req, job_id, [command], labels)
    created = _created(outcome.events)
    return _json(_encode(msgspec.structs.replace(created, version=outcome.revision)))


@router.patch(
    "/api/jobs/{id:int}/annotations",
    raw_body=True,
    body=LabeledDataRequest,
    query=PatchQuery,
    response=CvatAnnotations,
    summary="Create, update or delete some of a job's annotations",
)
async def patch_job_annotations(req: ApiRequest) -> Response:
    job_id: int = req.path["id"]
    action = _action(req)
    labels = await _job_labels(req, job_id, "delete" if action == "delete" else "update")
    body = await _decode(req, action)
    service = req.container.annotations
    if action == "create":
        command: Command = CreateObjects(shapes=body.shapes, tracks=body.tracks, tags=body.tags)
        outcome = await _execute(req, job_id, [command], labels)
        result = msgspec.structs.replace(_created(outcome.events), version=outcome.revision)
    elif action == "update":
        await _execute(req, job_id, [job_update(body)], labels)
        result = _picked(await service.load(job_id), body)
    else:
        before = await service.load(job_id)
        result = _picked(before, body)  # what is deleted, as it was (CVAT answers so)
        command = DeleteObjects(
            shapes=[s.id or 0 for s in result.shapes],
            tracks=[t.id or 0 for t in result.tracks],
            tags=[t.id or 0 for t in result.tags],
        )  # ids the job no longer has are skipped, as CVAT does
        outcome = await _execute(req, job_id, [command], labels)
        result = msgspec.structs.replace(result, version=outcome.revision)
    return _json(_encode(result))


@router.delete(
    "/api/jobs/{id:int}/annotations", status=204, summary="Delete all of a job's annotations"
)
async def delete_job_annotations(req: ApiRequest) -> None:
    job_id: int = req.path["id"]
    labels = await _job_labels(req, job_id, "delete")
    await _execute(req, job_id, [ClearAnnotations()], labels)


# --- update requests to domain patches ------------------------------------------------


def _shape_patch(
    update: ShapeUpdate, object_id: int, element_ids: dict[int, int] | None = None
) -> ShapePatch:
    elements: list[ElementShapePatch] | UnsetType = UNSET
    if not isinstance(update.elements, UnsetType):
        elements = [
            ElementShapePatch(
                id=(element_ids or {}).get(e.id, e.id),
                occluded=e.occluded,
                outside=e.outside,
                z_order=e.z_order,
                rotation=e.rotation,
                points=e.points,
                attributes=e.attributes,
            )
            for e in update.elements
        ]
    return ShapePatch(
        id=object_id,
        frame=update.frame,
        label_id=update.label_id,
        group=update.group,
        source=update.source,
        occluded=update.occluded,
        outside=update.outside,
        z_order=update.z_order,
        rotation=update.rotation,
        points=update.points,
        attributes=update.attributes,
        elements=elements,
    )


def _track_update(
    update: TrackUpdateIn,
    object_id: int,
    shapes: list[TrackedShape] | UnsetType = UNSET,
    elements: list[ElementTrackUpdate] | UnsetType | None = None,
) -> TrackUpdate:
    if elements is None:
        elements = UNSET
        if not isinstance(update.elements, UnsetType):
            elements = [
                ElementTrackUpdate(id=e.id, attributes=e.attributes, shapes=e.shapes)
                for e in update.elements
            ]
    return TrackUpdate(
        id=object_id,
        label_id=update.label_id,
        group=update.group,
        source=update.source,
        attributes=update.attributes,
        shapes=update.shapes if shapes is UNSET else shapes,
        elements=elements,
    )


def _tag_patch(update: TagUpdate, object_id: int) -> TagPatch:
    return TagPatch(
        id=object_id,
        frame=update.frame,
        label_id=update.label_id,
        group=update.group,
        source=update.source,
        attributes=update.attributes,
    )


def job_update(body: UpdateRequest) -> UpdateObjects:
    return UpdateObjects(
        shapes=[_shape_patch(s, s.id) for s in body.shapes],
        tracks=[_track_update(t, t.id) for t in body.tracks],
        tags=[_tag_patch(t, t.id) for t in body.tags],
    )


# --- task writes ----------------------------------------------------------------------


class _TaskWrite:
    """Commands for each job of a task, with the request indices of what each job got."""

    def __init__(self, jobs: Sequence[JobRange]) -> None:
        self.jobs = list(jobs)
        self.commands: dict[int, list[Command]] = {job.job_id: [] for job in jobs}
        self.origins: dict[int, JobPart] = {job.job_id: JobPart() for job in jobs}

    async def run(self, req: ApiRequest, labels: LabelSet) -> list[Outcome]:
        """Validate every job's batch first (nothing appended on a bad request), then
        append one batch per job."""
        service = req.container.annotations
        batches = [(job_id, cmds) for job_id, cmds in self.commands.items() if cmds]
        for job_id, commands in batches:
            state = await service.load(job_id)
            try:
                state.decide(commands, labels, itertools.count(-(1 << 62)))
            except DomainError as error:
                raise renamed(error, self.origins[job_id]) from None
        outcomes = []
        for job_id, commands in batches:
            try:
                outcome = await service.execute(job_id, commands, labels, _metadata(req))
            except DomainError as error:
                raise renamed(error, self.origins[job_id]) from None
            outcomes.append(outcome)
        await req.projected(max((o.position for o in outcomes), default=0))
        return outcomes


async def _task_context(
    req: ApiRequest, task_id: int, action: Literal["update", "delete"]
) -> tuple[list[JobRange], int, LabelSet]:
    async with req.container.pool.connection() as conn:
        await authorize(conn, req.principal, "task", task_id, action)
        jobs = await _task_jobs(conn, task_id)
        labels = await labels_for_task(conn, task_id)
    version = max((revision for _, revision in jobs), default=0)
    return [job for job, _ in jobs], version, labels


Stored = dict[tuple[Kind, int], Any]


async def _merged_now(req: ApiRequest, jobs: Sequence[JobRange]) -> tuple[Merged, Stored]:
    """The task's merged view, and every stored object (shown or a hidden twin) by id."""
    async with req.container.pool.connection() as conn:
        contents = await _task_contents(conn, jobs)
    stored: Stored = {}
    for content in contents:
        for shape in content.shapes:
            stored["shape", shape.id or 0] = shape
        for track in content.tracks:
            stored["track", track.id or 0] = track
    return merge(contents), stored


def _split_write(jobs: list[JobRange], body: LabeledDataRequest, replace: bool) -> _TaskWrite:
    write = _TaskWrite(jobs)
    parts = split(jobs, body.shapes, body.tracks, body.tags)
    for job in jobs:
        part = parts[job.job_id]
        write.origins[job.job_id] = part
        if replace:
            write.commands[job.job_id].append(
                ReplaceAnnotations(shapes=part.shapes, tracks=part.tracks, tags=part.tags)
            )
        elif part:
            write.commands[job.job_id].append(
                CreateObjects(shapes=part.shapes, tracks=part.tracks, tags=part.tags)
            )
    return write


def _created_contents(
    jobs: Sequence[JobRange], outcomes: Sequence[Outcome], order: Sequence[int]
) -> list[JobContent]:
    by_id = {job.job_id: job for job in jobs}
    contents = []
    for job_id, outcome in zip(order, outcomes, strict=True):
        created = _created(outcome.events)
        contents.append(
            JobContent(
                job=by_id[job_id], shapes=created.shapes, tracks=created.tracks, tags=created.tags
            )
        )
    return contents


@router.put(
    "/api/tasks/{id:int}/annotations",
    raw_body=True,
    body=LabeledDataRequest,
    response=CvatAnnotations,
    summary="Replace a task's annotations",
)
async def put_task_annotations(req: ApiRequest) -> Response:
    task_id: int = req.path["id"]
    jobs, version, labels = await _task_context(req, task_id, "update")
    body: LabeledDataRequest = await _decode(req, None)
    write = _split_write(jobs, body, replace=True)
    outcomes = await write.run(req, labels)
    order = [job_id for job_id, cmds in write.commands.items() if cmds]
    merged = merge(_created_contents(jobs, outcomes, order))
    return _json(_data(max([version, *(o.revision for o in outcomes)]), merged))


@router.patch(
    "/api/tasks/{id:int}/annotations",
    raw_body=True,
    body=LabeledDataRequest,
    query=PatchQuery,
    response=CvatAnnotations,
    summary="Create, update or delete some of a task's annotations",
)
async def patch_task_annotations(req: ApiRequest) -> Response:
    task_id: int = req.path["id"]
    action = _action(req)
    jobs, version, labels = await _task_context(
        req, task_id, "delete" if action == "delete" else "update"
    )
    body = await _decode(req, action)
    if action == "create":
        write = _split_write(jobs, body, replace=False)
        outcomes = await write.run(req, labels)
        order = [job_id for job_id, cmds in write.commands.items() if cmds]
        result = merge(_created_contents(jobs, outcomes, order))
    else:
        current, stored = await _merged_now(req, jobs)
        if action == "delete":
            write = _task_delete(jobs, current, body)
            result = _shown(current, body)
            outcomes = await write.run(req, labels)
        else:
            write = _task_update(jobs, current, stored, body)
            outcomes = await write.run(req, labels)
            result = _shown((await _merged_now(req, jobs))[0], body)
    return _json(_data(max([version, *(o.revision for o in outcomes)]), result))


@router.delete(
    "/api/tasks/{id:int}/annotations", status=204, summary="Delete all of a task's annotations"
)
async def delete_task_annotations(req: ApiRequest) -> None:
    task_id: int = req.path["id"]
    jobs, _, labels = await _task_context(req, task_id, "delete")
    write = _TaskWrite(jobs)
    for job in jobs:
        write.commands[job.job_id].append(ClearAnnotations())
    await write.run(req, labels)


def _shown(current: Merged, body: Any) -> Merged:
    """The shown objects that the request names."""
    wanted = {
        "shape": {s.id for s in body.shapes},
        "track": {t.id for t in body.tracks},
        "tag": {t.id for t in body.tags},
    }
    return Merged(
        shapes=[s for s in current.shapes if s.id in wanted["shape"]],
        tracks=[t for t in current.tracks if t.id in wanted["track"]],
        tags=[t for t in current.tags if t.id in wanted["tag"]],
    )


def _task_delete(jobs: list[JobRange], current: Merged, body: DeleteRequest) -> _TaskWrite:
    """Delete each named object and every twin it stands for (unknown ids are skipped)."""
    write = _TaskWrite(jobs)
    ids: dict[int, dict[Kind, list[int]]] = {
        j.job_id: {"shape": [], "track": [], "tag": []} for j in jobs
    }
    kinds: tuple[tuple[Kind, list[ObjectId]], ...] = (
        ("shape", body.shapes),
        ("track", body.tracks),
        ("tag", body.tags),
    )
    for kind, items in kinds:
        for item in items:
            for job_id, object_id in current.where(kind, item.id):
                ids[job_id][kind].append(object_id)
    for job_id, by_kind in ids.items():
        if any(by_kind.values()):
            write.commands[job_id].append(
                DeleteObjects(shapes=by_kind["shape"], tracks=by_kind["track"], tags=by_kind["tag"])
            )
    return write


def _twins_or_400(current: Merged, kind: Kind, object_id: int, where: str) -> list[tuple[int, int]]:
    twins = current.where(kind, object_id)
    if not twins:
        raise ApiError(400, {f"{where}.id": [f"{kind} {object_id} does not exist or was deleted"]})
    return twins


def _task_update(
    jobs: list[JobRange], current: Merged, stored: Stored, body: UpdateRequest
) -> _TaskWrite:
    """Each named object's update reaches every twin; a track's new keyframes are cut per
    job like a new track (a job it now enters gets a new part, one it leaves loses its)."""
    write = _TaskWrite(jobs)
    updates: dict[int, UpdateObjects] = {j.job_id: UpdateObjects() for j in jobs}
    creates: dict[int, list[LabeledTrack]] = {j.job_id: [] for j in jobs}
    deletes: dict[int, list[int]] = {j.job_id: [] for j in jobs}

    def note(job_id: int, kind: str, index: int) -> None:
        getattr(write.origins[job_id], f"{kind}_from").append(index)

    for i, shape in enumerate(body.shapes):
        twins = _twins_or_400(current, "shape", shape.id, f"shapes[{i}]")
        shown = stored.get(("shape", shape.id))
        for job_id, twin_id in twins:
            element_ids = _element_map(shown, stored.get(("shape", twin_id)))
            updates[job_id].shapes.append(_shape_patch(shape, twin_id, element_ids))
            note(job_id, "shapes", i)
    for i, tag in enumerate(body.tags):
        for job_id, twin_id in _twins_or_400(current, "tag", tag.id, f"tags[{i}]"):
            updates[job_id].tags.append(_tag_patch(tag, twin_id))
            note(job_id, "tags", i)
    for i, track in enumerate(body.tracks):
        track_twins = dict(_twins_or_400(current, "track", track.id, f"tracks[{i}]"))
        shown_track = next(t for t in current.tracks if t.id == track.id)  # merged
        if isinstance(track.shapes, UnsetType):
            for job_id, twin_id in track_twins.items():
                updates[job_id].tracks.append(_track_update(track, twin_id))
                note(job_id, "tracks", i)
            continue
        whole = _desired_track(shown_track, track)
        for job in jobs:
            piece = slice_track(whole, job.start_frame, job.stop_frame)
            twin_track = track_twins.get(job.job_id)
            if twin_track is None:
                if piece is not None:
                    creates[job.job_id].append(piece)
                continue
            if piece is None:
                deletes[job.job_id].append(twin_track)
                continue
            twin = stored.get(("track", twin_track))
            label_to_id = (
                {e.label_id: e.id or 0 for e in twin.elements}
                if isinstance(twin, LabeledTrack)
                else {}
            )
            elements = [
                ElementTrackUpdate(id=label_to_id.get(e.label_id, e.id or 0), shapes=e.shapes)
                for e in piece.elements
            ]
            updates[job.job_id].tracks.append(
                _track_update(track, twin_track, piece.shapes, elements or UNSET)
            )
            note(job.job_id, "tracks", i)
    for job in jobs:
        commands = write.commands[job.job_id]
        update = updates[job.job_id]
        if update.shapes or update.tracks or update.tags:
            commands.append(update)
        if creates[job.job_id]:
            commands.append(CreateObjects(tracks=creates[job.job_id]))
        if deletes[job.job_id]:
            commands.append(DeleteObjects(tracks=deletes[job.job_id]))
    return write


def _element_map(shown: LabeledShape | None, twin: Any) -> dict[int, int] | None:
    if shown is None or not isinstance(twin, LabeledShape) or twin is shown:
        return None
    by_label = {e.label_id: e.id for e in twin.elements}
    return {e.id or 0: by_label.get(e.label_id) or 0 for e in shown.elements}


def _desired_track(shown: LabeledTrack, update: TrackUpdateIn) -> LabeledTrack:
    """The whole track as the update wants it (for cutting into job parts)."""
    shapes = update.shapes if not isinstance(update.shapes, UnsetType) else shown.shapes
    elements = list(shown.elements)
    if not isinstance(update.elements, UnsetType):
        given = {e.id: e for e in update.elements}
        elements = [
            msgspec.structs.replace(e, shapes=g.shapes)
            if (g := given.get(e.id or 0)) is not None and not isinstance(g.shapes, UnsetType)
            else e
            for e in shown.elements
        ]
    frames = [s.frame for s in shapes] or [shown.frame]
    track = msgspec.structs.replace(
        shown, shapes=list(shapes), frame=min(frames), elements=list[SkeletonElementTrack](elements)
    )
    if not isinstance(update.label_id, UnsetType):
        track = msgspec.structs.replace(track, label_id=update.label_id)
    return track
