"""Projects and tasks: their events (streams `project-{id}`, `task-{id}`), the state those
events fold into, and the decisions that validate requests and produce events.

Labels live on the project, or on the task when it has no project. A task's data (frames)
is attached once; attaching it cuts the frames into jobs as CVAT does (segment size and
overlap), and the service then starts each job's own stream with JobCreated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from backend.domain.errors import Conflict, NotFound, ValidationError
from backend.domain.events import Event, register_events
from backend.domain.label_edits import LabelEdit, edit_labels, new_labels
from backend.domain.labels import LabelSpec

Location = Literal["local", "cloud_storage"]


class Storage(msgspec.Struct, frozen=True, kw_only=True):
    location: Location = "local"
    cloud_storage_id: int | None = None


class FrameInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    width: int
    height: int
    related_files: int = 0


class TaskData(msgspec.Struct, frozen=True, kw_only=True):
    """What the media pipeline found and decided for a task's frames."""

    frames: list[FrameInfo]
    image_quality: int = 70
    chunk_size: int = 36
    sorting_method: str = "lexicographical"
    start_frame: int = 0
    stop_frame: int = 0
    frame_filter: str = ""
    storage_method: str = "file_system"
    storage: str = "local"
    use_zip_chunks: bool = True
    compressed_chunk_type: str = "imageset"
    original_chunk_type: str = "imageset"
    mode: Literal["annotation", "interpolation"] = "annotation"
    dimension: Literal["2d", "3d"] = "2d"


class Segment(msgspec.Struct, frozen=True):
    job_id: int
    start_frame: int
    stop_frame: int


# --- project ---------------------------------------------------------------------------


class ProjectFields(msgspec.Struct, frozen=True, kw_only=True):
    """Editable project fields; UNSET = unchanged (in an update)."""

    name: str | UnsetType = UNSET
    owner_id: int | UnsetType | None = UNSET
    assignee_id: int | UnsetType | None = UNSET
    bug_tracker: str | UnsetType = UNSET
    source_storage: Storage | UnsetType | None = UNSET
    target_storage: Storage | UnsetType | None = UNSET


class ProjectCreated(Event, frozen=True, kw_only=True, tag="ProjectCreated"):
    project_id: int
    fields: ProjectFields
    labels: list[LabelSpec] = []


class ProjectUpdated(Event, frozen=True, kw_only=True, tag="ProjectUpdated"):
    project_id: int
    fields: ProjectFields
    labels: list[LabelSpec] | UnsetType = UNSET  # the complete new list, when it changed


class ProjectDeleted(Event, frozen=True, kw_only=True, tag="ProjectDeleted"):
    project_id: int


# --- task ------------------------------------------------------------------------------


class TaskFields(msgspec.Struct, frozen=True, kw_only=True):
    name: str | UnsetType = UNSET
    project_id: int | UnsetType | None = UNSET
    owner_id: int | UnsetType | None = UNSET
    assignee_id: int | UnsetType | None = UNSET
    bug_tracker: str | UnsetType = UNSET
    subset: str | UnsetType = UNSET
    source_storage: Storage | UnsetType | None = UNSET
    target_storage: Storage | UnsetType | None = UNSET


class TaskCreated(Event, frozen=True, kw_only=True, tag="TaskCreated"):
    task_id: int
    fields: TaskFields
    segment_size: int = 0
    overlap: int | None = None
    labels: list[LabelSpec] = []  # empty when the task belongs to a project


class TaskUpdated(Event, frozen=True, kw_only=True, tag="TaskUpdated"):
    task_id: int
    fields: TaskFields
    labels: list[LabelSpec] | UnsetType = UNSET


class TaskDataAttached(Event, frozen=True, kw_only=True, tag="TaskDataAttached"):
    task_id: int
    data: TaskData
    segment_size: int  # as used: the whole task when the task's was 0
    overlap: int
    jobs: list[Segment]


class TaskDeleted(Event, frozen=True, kw_only=True, tag="TaskDeleted"):
    task_id: int
    job_ids: list[int] = []  # so read models can drop the jobs without asking another one


register_events(
    ProjectCreated, ProjectUpdated, ProjectDeleted,
    TaskCreated, TaskUpdated, TaskDataAttached, TaskDeleted,
)  # fmt: skip


class ProjectState(msgspec.Struct, kw_only=True):
    project_id: int = 0
    exists: bool = False
    deleted: bool = False
    labels: list[LabelSpec] = []
    revision: int = -1

    def apply(self, event: Event) -> None:
        if isinstance(event, ProjectCreated):
            self.project_id, self.exists, self.labels = event.project_id, True, event.labels
        elif isinstance(event, ProjectUpdated) and isinstance(event.labels, list):
            self.labels = event.labels
        elif isinstance(event, ProjectDeleted):
            self.deleted = True
        self.revision += 1


class TaskState(msgspec.Struct, kw_only=True):
    task_id: int = 0
    exists: bool = False
    deleted: bool = False
    project_id: int | None = None
    labels: list[LabelSpec] = []
    segment_size: int = 0
    overlap: int | None = None
    data: TaskData | None = None
    job_ids: list[int] = []
    revision: int = -1

    def apply(self, event: Event) -> None:
        if isinstance(event, TaskCreated):
            self.task_id, self.exists = event.task_id, True
            self.project_id = (
                event.fields.project_id if isinstance(event.fields.project_id, int) else None
            )
            self.labels, self.segment_size, self.overlap = (
                event.labels,
                event.segment_size,
                event.overlap,
            )
        elif isinstance(event, TaskUpdated):
            if not isinstance(event.fields.project_id, UnsetType):
                self.project_id = event.fields.project_id
            if isinstance(event.labels, list):
                self.labels = event.labels
        elif isinstance(event, TaskDataAttached):
            self.data, self.job_ids = event.data, [j.job_id for j in event.jobs]
        elif isinstance(event, TaskDeleted):
            self.deleted = True
        self.revision += 1


def _check_name(name: str | UnsetType, required: bool) -> None:
    if isinstance(name, UnsetType):
        if required:
            raise ValidationError("This field is required.", "name")
        return
    if not name.strip():
        raise ValidationError("This field may not be blank.", "name")
    if len(name) > 256:
        raise ValidationError("Ensure this field has no more than 256 characters.", "name")


def create_project(
    project_id: int, fields: ProjectFields, labels: list[LabelEdit], new_ids: Iterator[int]
) -> ProjectCreated:
    _check_name(fields.name, required=True)
    return ProjectCreated(project_id=project_id, fields=fields, labels=new_labels(labels, new_ids))


def update_project(
    state: ProjectState, fields: ProjectFields, labels: list[LabelEdit], new_ids: Iterator[int]
) -> ProjectUpdated:
    _require(state.exists and not state.deleted, "project", state.project_id)
    _check_name(fields.name, required=False)
    changed = edit_labels(state.labels, labels, new_ids) if labels else UNSET
    return ProjectUpdated(project_id=state.project_id, fields=fields, labels=changed)


def create_task(
    task_id: int,
    fields: TaskFields,
    labels: list[LabelEdit],
    new_ids: Iterator[int],
    *,
    segment_size: int = 0,
    overlap: int | None = None,
) -> TaskCreated:
    _check_name(fields.name, required=True)
    if segment_size < 0:
        raise ValidationError("Ensure this value is greater than or equal to 0.", "segment_size")
    if overlap is not None and overlap < 0:
        raise ValidationError("Ensure this value is greater than or equal to 0.", "overlap")
    in_project = isinstance(fields.project_id, int)
    if in_project and labels:
        raise ValidationError("a task in a project uses the project's labels", "labels")
    return TaskCreated(
        task_id=task_id, fields=fields, segment_size=segment_size, overlap=overlap,
        labels=[] if in_project else new_labels(labels, new_ids),
    )  # fmt: skip


def update_task(
    state: TaskState, fields: TaskFields, labels: list[LabelEdit], new_ids: Iterator[int]
) -> TaskUpdated:
    _require(state.exists and not state.deleted, "task", state.task_id)
    _check_name(fields.name, required=False)
    moving = isinstance(fields.project_id, int) and fields.project_id != state.project_id
    if labels and (state.project_id is not None or moving):
        raise ValidationError("a task in a project uses the project's labels", "labels")
    changed: list[LabelSpec] | UnsetType = UNSET
    if labels:
        changed = edit_labels(state.labels, labels, new_ids)
    elif moving:
        changed = []  # the project's labels apply from now on
    return TaskUpdated(task_id=state.task_id, fields=fields, labels=changed)


def attach_data(state: TaskState, data: TaskData, job_ids: Iterator[int]) -> TaskDataAttached:
    _require(state.exists and not state.deleted, "task", state.task_id)
    if state.data is not None:
        raise Conflict("the task already has data", "data")
    if not data.frames:
        raise ValidationError("no frames: the upload contained no usable images", "client_files")
    size = len(data.frames)
    segment_size, overlap, bounds = segments(size, state.segment_size, state.overlap, data.mode)
    jobs = [Segment(next(job_ids), start, stop) for start, stop in bounds]
    return TaskDataAttached(
        task_id=state.task_id, data=data, segment_size=segment_size, overlap=overlap, jobs=jobs
    )


def segments(
    size: int, segment_size: int, overlap: int | None, mode: str
) -> tuple[int, int, list[tuple[int, int]]]:
    """CVAT's cut of `size` frames into jobs: (segment size used, overlap used,
    [(start, stop)] inclusive). Segment size 0 means one job; the default overlap is 5
    frames for video (interpolation) and 0 for images, never more than half a segment."""
    if segment_size <= 0 or segment_size > size:
        segment_size = size
    default = 5 if mode == "interpolation" else 0
    overlap = min(default if overlap is None else overlap, segment_size // 2)
    step = max(segment_size - overlap, 1)
    bounds = []
    for start in range(0, max(size - overlap, 1), step):
        bounds.append((start, min(start + segment_size - 1, size - 1)))
    return segment_size, overlap, bounds


def ids_for_jobs(size: int, segment_size: int, overlap: int | None, mode: str) -> int:
    return len(segments(size, segment_size, overlap, mode)[2])


def delete_task(state: TaskState) -> TaskDeleted:
    _require(state.exists and not state.deleted, "task", state.task_id)
    return TaskDeleted(task_id=state.task_id, job_ids=state.job_ids)


def delete_project(state: ProjectState) -> ProjectDeleted:
    _require(state.exists and not state.deleted, "project", state.project_id)
    return ProjectDeleted(project_id=state.project_id)


def _require(ok: bool, kind: str, ident: int) -> None:
    if not ok:
        raise NotFound(f"{kind} {ident} does not exist")
