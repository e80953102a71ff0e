"""How projects, tasks, jobs and labels look on the wire (CVAT's *Read models), and the
read-model queries they are built from. Fields the clients require are always present
(organization, target_storage, summaries); URLs are absolute, built from the request."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import msgspec

from backend.domain.job_workflow import STAGES, STATES, TASK_STATUS_PRECEDENCE, job_status


class Linker(Protocol):
    """What builds absolute URLs: the request (as the client reached the server), or the
    configured base URL where there is no request (webhook payloads)."""

    def absolute_url(self, path: str) -> str: ...


class BaseUrl:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def absolute_url(self, path: str) -> str:
        return self.base + "/" + path.lstrip("/")


class UserSummary(msgspec.Struct, frozen=True):
    id: int
    username: str
    first_name: str
    last_name: str
    url: str


class StorageRead(msgspec.Struct, frozen=True):
    location: str = "local"
    cloud_storage_id: int | None = None
    # CVAT's id of the storage row; we keep none, and cvat-sdk refuses a null id (an absent
    # one is fine), so it is left out.
    id: int | msgspec.UnsetType = msgspec.UNSET


class Summary(msgspec.Struct, frozen=True):
    url: str
    count: int = 0


class JobsSummary(msgspec.Struct, frozen=True):
    count: int
    completed: int | None
    validation: int | None
    url: str


class AttributeRead(msgspec.Struct, frozen=True):
    id: int
    name: str
    mutable: bool
    input_type: str
    values: list[str]
    default_value: str


class LabelRead(msgspec.Struct, frozen=True):
    id: int
    name: str
    color: str
    type: str
    svg: str
    attributes: list[AttributeRead]
    sublabels: list[LabelRead]
    project_id: int | None
    task_id: int | None
    parent_id: int | None
    has_parent: bool


class ProjectRead(msgspec.Struct, frozen=True):
    url: str
    id: int
    name: str
    labels: Summary
    tasks: Summary
    owner: UserSummary | None
    assignee: UserSummary | None
    guide_id: int | None
    bug_tracker: str
    task_subsets: list[str]
    created_date: datetime
    updated_date: datetime
    status: str
    dimension: str | None
    organization: int | None
    target_storage: StorageRead | None
    source_storage: StorageRead | None
    assignee_updated_date: datetime | None


class TaskRead(msgspec.Struct, frozen=True):
    url: str
    id: int
    name: str
    project_id: int | None
    mode: str
    owner: UserSummary | None
    assignee: UserSummary | None
    bug_tracker: str
    created_date: datetime
    updated_date: datetime
    overlap: int | None
    segment_size: int
    status: str
    labels: Summary
    jobs: JobsSummary
    data_chunk_size: int | None
    data_compressed_chunk_type: str | None
    data_original_chunk_type: str | None
    guide_id: int | None
    size: int
    image_quality: int
    data: int | None
    dimension: str
    subset: str
    organization: int | None
    target_storage: StorageRead | None
    source_storage: StorageRead | None
    assignee_updated_date: datetime | None
    validation_mode: str | None


class JobRead(msgspec.Struct, frozen=True):
    url: str
    id: int
    task_id: int
    project_id: int | None
    assignee: UserSummary | None
    guide_id: int | None
    dimension: str
    bug_tracker: str | None
    status: str
    stage: str
    state: str
    mode: str
    frame_count: int
    start_frame: int
    stop_frame: int
    data_chunk_size: int | None
    data_compressed_chunk_type: str | None
    data_original_chunk_type: str | None
    created_date: datetime
    updated_date: datetime
    issues: Summary
    labels: Summary
    type: str
    organization: int | None
    target_storage: StorageRead | None
    source_storage: StorageRead | None
    assignee_updated_date: datetime | None


def user_columns(alias: str, prefix: str) -> str:
    """SELECT columns for `user_summary`: a user joined as `alias`, named `prefix_*`."""
    return (
        f"{alias}.username AS {prefix}_username, {alias}.first_name AS {prefix}_first_name,"
        f" {alias}.last_name AS {prefix}_last_name"
    )


# The read-model queries as (SELECT list, FROM clause): the list endpoints hand them to
# lists.fetch_page, the detail endpoints add `WHERE <alias>.id = %s`.
PROJECT_SELECT = (
    "p.*, " + user_columns("ou", "owner") + ", " + user_columns("au", "assignee") + ","
    " (SELECT count(*) FROM tasks t WHERE t.project_id = p.id) AS tasks_count,"
    " (SELECT coalesce(array_agg(DISTINCT t.subset), '{}') FROM tasks t"
    "   WHERE t.project_id = p.id AND t.subset <> '') AS task_subsets"
)
PROJECT_SOURCE = (
    "projects p LEFT JOIN users ou ON ou.id = p.owner_id"
    " LEFT JOIN users au ON au.id = p.assignee_id"
)


def job_status_sql(alias: str) -> str:
    """`job_workflow.job_status` as SQL over a `jobs` row, generated from the function
    itself, so that lists, filters and details cannot disagree with it."""
    pairs: dict[str, list[str]] = {}
    for stage in STAGES:
        for state in STATES:
            pairs.setdefault(job_status(stage, state), []).append(f"('{stage}', '{state}')")
    whens = " ".join(
        f"WHEN ({alias}.stage, {alias}.state) IN ({', '.join(p)}) THEN '{status}'"
        for status, p in pairs.items()
    )
    return f"(CASE {whens} END)"


def _task_status_sql(statuses: str) -> str:
    """`job_workflow.task_status` as an aggregate over a column of job statuses."""
    whens = " ".join(
        f"WHEN bool_or({statuses} = '{status}') THEN '{status}'"
        for status in TASK_STATUS_PRECEDENCE
    )
    return f"(CASE WHEN count(*) = 0 THEN 'annotation' {whens} ELSE 'completed' END)"


TASK_SELECT = (
    "t.*, " + user_columns("ou", "owner") + ", " + user_columns("au", "assignee") + ","
    " js.jobs_count, js.jobs_completed, js.jobs_validation, js.task_status"
)
# CVAT's JobsSummary counts: completed = acceptance + completed, validation = in stage
# validation; the task's status follows its jobs' statuses.
TASK_SOURCE = (
    "tasks t LEFT JOIN users ou ON ou.id = t.owner_id"
    " LEFT JOIN users au ON au.id = t.assignee_id"
    " LEFT JOIN LATERAL (SELECT count(*) AS jobs_count,"
    "   count(*) FILTER (WHERE j.stage = 'acceptance' AND j.state = 'completed') AS jobs_completed,"
    "   count(*) FILTER (WHERE j.stage = 'validation') AS jobs_validation,"
    f"   {_task_status_sql(job_status_sql('j'))} AS task_status"
    "   FROM jobs j WHERE j.task_id = t.id) js ON true"
)
JOB_SELECT = (
    "j.*, t.project_id, t.mode, t.bug_tracker, t.data_chunk_size, t.owner_id AS task_owner_id,"
    " t.data->>'dimension' AS data_dimension,"
    " t.data->>'compressed_chunk_type' AS data_compressed_chunk_type,"
    " t.data->>'original_chunk_type' AS data_original_chunk_type,"
    " t.assignee_id AS task_assignee_id, t.source_storage, t.target_storage,"
    " (SELECT count(*) FROM issues i WHERE i.job_id = j.id) AS issues_count, "
    + user_columns("au", "assignee")
)
JOB_SOURCE = "jobs j JOIN tasks t ON t.id = j.task_id LEFT JOIN users au ON au.id = j.assignee_id"


def user_summary(req: Linker, row: dict[str, Any], prefix: str) -> UserSummary | None:
    user_id = row.get(f"{prefix}_id")
    if user_id is None or row.get(f"{prefix}_username") is None:
        return None
    return UserSummary(
        id=user_id, username=row[f"{prefix}_username"],
        first_name=row[f"{prefix}_first_name"] or "", last_name=row[f"{prefix}_last_name"] or "",
        url=req.absolute_url(f"/api/users/{user_id}"),
    )  # fmt: skip


def _storage(value: Any) -> StorageRead | None:
    return None if value is None else msgspec.convert(value, StorageRead)


def project_read(req: Linker, row: dict[str, Any]) -> ProjectRead:
    pid = row["id"]
    return ProjectRead(
        url=req.absolute_url(f"/api/projects/{pid}"), id=pid, name=row["name"],
        labels=Summary(url=req.absolute_url(f"/api/labels?project_id={pid}")),
        tasks=Summary(url=req.absolute_url(f"/api/tasks?project_id={pid}"),
                      count=row["tasks_count"]),
        owner=user_summary(req, row, "owner"), assignee=user_summary(req, row, "assignee"),
        guide_id=None,
        bug_tracker=row["bug_tracker"], task_subsets=sorted(row["task_subsets"] or []),
        created_date=row["created_at"], updated_date=row["updated_at"], status="annotation",
        dimension=None, organization=None, target_storage=_storage(row["target_storage"]),
        source_storage=_storage(row["source_storage"]),
        assignee_updated_date=row["assignee_updated_at"],
    )  # fmt: skip


def task_read(req: Linker, row: dict[str, Any]) -> TaskRead:
    tid = row["id"]
    has_data = row["data"] is not None
    data = row["data"] or {}
    return TaskRead(
        url=req.absolute_url(f"/api/tasks/{tid}"), id=tid, name=row["name"],
        project_id=row["project_id"], mode=row["mode"], owner=user_summary(req, row, "owner"),
        assignee=user_summary(req, row, "assignee"), bug_tracker=row["bug_tracker"],
        created_date=row["created_at"], updated_date=row["updated_at"], overlap=row["overlap"],
        segment_size=row["segment_size"], status=row["task_status"],
        labels=Summary(url=req.absolute_url(f"/api/labels?task_id={tid}")),
        jobs=JobsSummary(count=row["jobs_count"], completed=row["jobs_completed"],
                         validation=row["jobs_validation"],
                         url=req.absolute_url(f"/api/jobs?task_id={tid}")),
        data_chunk_size=row["data_chunk_size"],
        data_compressed_chunk_type=data.get("compressed_chunk_type") if has_data else None,
        data_original_chunk_type=data.get("original_chunk_type") if has_data else None,
        guide_id=None, size=row["size"], image_quality=row["image_quality"],
        data=tid if has_data else None,
        dimension=data.get("dimension") or "2d", subset=row["subset"], organization=None,
        target_storage=_storage(row["target_storage"]),
        source_storage=_storage(row["source_storage"]),
        assignee_updated_date=row["assignee_updated_at"], validation_mode=None,
    )  # fmt: skip


def job_read(req: Linker, row: dict[str, Any]) -> JobRead:
    jid = row["id"]
    return JobRead(
        url=req.absolute_url(f"/api/jobs/{jid}"), id=jid, task_id=row["task_id"],
        project_id=row["project_id"], assignee=user_summary(req, row, "assignee"), guide_id=None,
        dimension=row["data_dimension"] or "2d", bug_tracker=row["bug_tracker"] or None,
        status=job_status(row["stage"], row["state"]),
        stage=row["stage"], state=row["state"], mode=row["mode"],
        frame_count=row["stop_frame"] - row["start_frame"] + 1,
        start_frame=row["start_frame"], stop_frame=row["stop_frame"],
        data_chunk_size=row["data_chunk_size"],
        data_compressed_chunk_type=row["data_compressed_chunk_type"] or "imageset",
        data_original_chunk_type=row["data_original_chunk_type"] or "imageset",
        created_date=row["created_at"],
        updated_date=row["updated_at"],
        issues=Summary(url=req.absolute_url(f"/api/issues?job_id={jid}"),
                       count=row.get("issues_count") or 0),
        labels=Summary(url=req.absolute_url(f"/api/labels?job_id={jid}")), type=row["type"],
        organization=None, target_storage=_storage(row["target_storage"]),
        source_storage=_storage(row["source_storage"]),
        assignee_updated_date=row["assignee_updated_at"],
    )  # fmt: skip


def label_reads(rows: list[dict[str, Any]]) -> list[LabelRead]:
    """Top-level labels with their sublabels nested (rows in position order)."""
    children: dict[int, list[LabelRead]] = {}
    for row in rows:
        if row["parent_id"] is not None:
            children.setdefault(row["parent_id"], []).append(label_read(row, []))
    return [
        label_read(row, children.get(row["id"], [])) for row in rows if row["parent_id"] is None
    ]


def label_read(row: dict[str, Any], sublabels: list[LabelRead]) -> LabelRead:
    return LabelRead(
        id=row["id"], name=row["name"], color=row["color"], type=row["type"], svg=row["svg"],
        attributes=msgspec.convert(row["attributes"], list[AttributeRead]), sublabels=sublabels,
        project_id=row["project_id"], task_id=row["task_id"], parent_id=row["parent_id"],
        has_parent=row["parent_id"] is not None,
    )  # fmt: skip
