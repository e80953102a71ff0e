"""The files of a backup as data: what task.json / project.json hold, written from our
model and read back defensively (msgspec structs: a wrong type or a missing key is a
`BackupError` naming the file and the field). CVAT's keys are kept; keys CVAT writes that
Vellum does not use are accepted and ignored."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from backend.domain.job_workflow import job_status
from backend.domain.labels import AttributeSpec, LabelSpec
from backend.domain.tasks import segments

VERSION = "1.0"
TASK_FILE = "task.json"
PROJECT_FILE = "project.json"
ANNOTATIONS_FILE = "annotations.json"
DATA_DIR = "data"
HISTORY_DIR = "history"
MAX_JSON_BYTES = 256 * 2**20  # task.json / annotations.json / a history file, unpacked


class BackupError(ValueError):
    """A backup that cannot be restored; the message names the file and the problem."""


# --- reading --------------------------------------------------------------------------


class AttributeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    name: str
    input_type: str
    mutable: bool = False
    values: list[str] = []
    default_value: str | None = None


class LabelIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    name: str
    color: str = ""
    type: str = "any"
    svg: str = ""
    attributes: list[AttributeIn] = []
    sublabels: list[LabelIn] = []


class DataIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    chunk_size: int | None = None
    image_quality: int = 70
    start_frame: int = 0
    stop_frame: int | None = None
    frame_filter: str = ""
    chunk_type: str = "imageset"
    storage_method: str = "file_system"
    storage: str = "local"
    sorting_method: Literal["lexicographical", "natural", "predefined", "random"] = (
        "lexicographical"
    )
    deleted_frames: list[int] = []


class JobIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    start_frame: int
    stop_frame: int
    status: str = "annotation"
    type: str = "annotation"
    stage: str | None = None
    state: str | None = None


class VellumIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """Vellum's section of task.json. `frames`: data/ holds exactly these frames, in this
    order (None: data/ holds the source to cut with the data settings, as in CVAT)."""

    frames: list[str] | None = None
    use_cache: bool = False
    use_zip_chunks: bool = False
    with_history: bool = False


class TaskIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    version: str
    name: str
    bug_tracker: str = ""
    subset: str = ""
    status: str = "annotation"
    labels: list[LabelIn] = []
    data: DataIn
    jobs: list[JobIn]
    segment_size: int | None = None
    overlap: int | None = None
    mode: str | None = None
    vellum: VellumIn | None = None


class ProjectIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    version: str
    name: str
    bug_tracker: str = ""
    labels: list[LabelIn] = []


def decode_json(raw: bytes, file: str, kind: type[Any]) -> Any:
    """`raw` as `kind`, or BackupError naming `file` and the field (or the JSON error)."""
    try:
        value = msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise BackupError(f"{file}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BackupError(f"{file}: not valid JSON ({exc})") from None
    version = getattr(value, "version", VERSION)
    if version != VERSION:
        raise BackupError(f"{file}: version {version!r} is not supported (only {VERSION!r})")
    return value


def label_edits(labels: list[LabelIn]) -> list[dict[str, Any]]:
    """task.json labels as the label edits of a new task or project (ids are drawn anew)."""
    return [
        {
            "name": label.name, "color": label.color, "type": label.type or "any",
            "svg": label.svg,
            "attributes": [
                {
                    "name": a.name, "input_type": a.input_type, "mutable": a.mutable,
                    "values": a.values,
                    **({} if a.default_value is None else {"default_value": a.default_value}),
                }
                for a in label.attributes
            ],
            "sublabels": label_edits(label.sublabels),
        }
        for label in labels
    ]  # fmt: skip


def segment_params(task: TaskIn) -> tuple[int, int | None]:
    """(segment size, overlap) of the restored task: Vellum's own values when present,
    else derived from the jobs as CVAT does."""
    jobs = [j for j in task.jobs if j.type == "annotation"]
    if task.segment_size is not None:
        return task.segment_size, task.overlap
    if not jobs:
        return 0, None
    size = jobs[0].stop_frame - jobs[0].start_frame + 1
    overlap = 0 if len(jobs) == 1 else jobs[0].stop_frame - jobs[1].start_frame + 1
    return size, overlap


def check_jobs(task: TaskIn, frames: int, mode: str, task_file: str = TASK_FILE) -> None:
    """The jobs the restored task will get must be the backup's (same frame ranges)."""
    size, overlap = segment_params(task)
    expected = [(s, e) for s, e in segments(frames, size, overlap, mode)[2]]
    got = [(j.start_frame, j.stop_frame) for j in task.jobs if j.type == "annotation"]
    if got != expected:
        raise BackupError(
            f"{task_file}: jobs: the frame ranges {got} do not match the task's "
            f"{frames} frames cut by segment size {size} (expected {expected})"
        )


# --- writing --------------------------------------------------------------------------


def _attribute(spec: AttributeSpec) -> dict[str, Any]:
    return {
        "name": spec.name, "mutable": spec.mutable, "input_type": spec.input_type,
        "default_value": spec.default_value, "values": list(spec.values),
    }  # fmt: skip


def label_out(label: LabelSpec) -> dict[str, Any]:
    """A label as CVAT's backup writes it: by name; a skeleton's svg names its points
    (`data-label-name`) instead of their ids."""
    svg = label.svg
    for sub in label.sublabels:
        svg = svg.replace(f'data-label-id="{sub.id}"', f'data-label-name="{sub.name}"')
    return {
        "name": label.name, "color": label.color, "type": label.type, "svg": svg,
        "attributes": [_attribute(a) for a in label.attributes],
        "sublabels": [label_out(s) for s in label.sublabels],
    }  # fmt: skip


def job_out(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "start_frame": job["start_frame"], "stop_frame": job["stop_frame"],
        "status": job_status(job["stage"], job["state"]), "type": job.get("type") or "annotation",
        "stage": job["stage"], "state": job["state"],
    }  # fmt: skip


def restore_svg(svg: str, sublabels: list[LabelSpec]) -> str:
    """The inverse of `label_out` for a restored skeleton: point names back to new ids."""
    for sub in sublabels:
        svg = svg.replace(f'data-label-name="{sub.name}"', f'data-label-id="{sub.id}"')
    return svg
