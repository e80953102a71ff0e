"""CVAT for images / video 1.1 of a whole project: one annotations.xml, as CVAT writes it.

CVAT's ProjectData layout: <meta><project> with the project's fields, its tasks (each as
in a task export, without labels), the subsets and the labels once; tasks ordered by
subset then id; frame numbers run on from task to task within a subset (a task's offset
is the sum of start_frame + step * size of the tasks before it in that subset); image
names made unique within a subset (a second a.jpg is a_1.jpg); <image> gains subset and
task_id, <track> task_id and subset; images, when asked for, go to images/<subset>/.

The pipeline calls `export_project_images` / `export_project_video` (through
PROJECT_EXPORTERS in cvat_xml) instead of one exporter per task.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from backend.domain.labels import LabelSpec
from backend.formats.cancel import checkpoint
from backend.formats.cvat_xml_export import (
    FrameNumbering,
    MetaValue,
    Names,
    XmlWriter,
    close_document,
    dumped,
    flat_labels,
    image_name,
    labels_meta,
    open_document,
    person_meta,
    quote,
    task_meta,
    write_images_body,
    write_video_body,
)
from backend.formats.model import ExportSource, FrameSpec

__all__ = [
    "ProjectInfo",
    "ProjectTask",
    "defaulted_subset",
    "project_tasks",
    "save_project_images",
    "write_project_images_xml",
    "write_project_video_xml",
]

DEFAULT_SUBSET = "default"


@dataclass(frozen=True)
class ProjectInfo:
    """The project's own fields for <meta><project>; `meta` may carry bugtracker, created,
    updated, owner and assignee ({username, email}) and dumped."""

    id: int
    name: str
    labels: list[LabelSpec]
    meta: dict[str, Any]


def defaulted_subset(subset: str, subsets: Sequence[str]) -> str:
    """CVAT's get_defaulted_subset: a task without a subset is 'default', or 'default_N'
    when some task is literally in a subset named 'default'."""
    if subset:
        return subset
    if DEFAULT_SUBSET not in subsets:
        return DEFAULT_SUBSET
    i = 1
    while f"{DEFAULT_SUBSET}_{i}" in subsets:
        i += 1
    return f"{DEFAULT_SUBSET}_{i}"


def mangle_image_name(name: str, subset: str, seen: defaultdict[tuple[str, str], int]) -> str:
    """CVAT's mangle_image_name: the second a.jpg of a subset is a_1.jpg, the third a_2.jpg
    (a_1_1.jpg if a real a_1.jpg came first)."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""

    def join(base: str) -> str:
        return f"{base}.{ext}" if dot else base

    if not seen[(subset, stem)]:
        seen[(subset, stem)] += 1
        return join(stem)
    image_name = f"{stem}_{seen[(subset, stem)]}"
    if not seen[(subset, image_name)]:
        seen[(subset, stem)] += 1
        return join(image_name)
    i = 1
    while seen[(subset, f"{image_name}_{i}")]:
        i += 1
    seen[(subset, stem)] += 1
    return join(f"{image_name}_{i}")


@dataclass(frozen=True)
class ProjectTask:
    source: ExportSource
    subset: str  # defaulted
    numbering: FrameNumbering
    names: dict[int, str]  # frame number -> its (mangled) name


def project_tasks(
    sources: Sequence[ExportSource], unique_per_subset: bool = True
) -> tuple[list[ProjectTask], list[str]]:
    """The tasks in CVAT's order (subset, id) with their numbering and names, and the
    subsets as CVAT lists them. Image names are made unique within each subset (CVAT), or
    over the whole project (`unique_per_subset=False`)."""
    raw = sorted({str(s.meta.get("subset") or "") for s in sources})
    ordered = sorted(sources, key=lambda s: (str(s.meta.get("subset") or ""), s.task_id))
    seen: defaultdict[tuple[str, str], int] = defaultdict(int)
    tasks: list[ProjectTask] = []
    offset, current = 0, None
    for source in ordered:
        subset_raw = str(source.meta.get("subset") or "")
        if subset_raw != current:
            offset, current = 0, subset_raw
        base = FrameNumbering.of(source.meta)
        numbering = FrameNumbering(base.start, base.step, offset)
        size = int(source.meta.get("size", len(source.frames)))
        offset += base.start + base.step * size
        subset = defaulted_subset(subset_raw, raw)
        video = source.mode == "interpolation"
        names = {}
        for f in sorted(source.frames, key=lambda f: f.number):
            # video frames are named by their number in the subset (CVAT's abs_frame_id)
            name = f"frame_{numbering.absolute(f.number):06d}" if video else f.name
            if not unique_per_subset:
                name = mangle_image_name(name, "", seen)
            elif not video:
                name = mangle_image_name(name, subset, seen)
            names[f.number] = name
        tasks.append(ProjectTask(source, subset, numbering, names))
    return tasks, [s or DEFAULT_SUBSET for s in raw]


def _project_meta(
    project: ProjectInfo,
    tasks: Sequence[ProjectTask],
    subsets: Sequence[str],
    labels: list[LabelSpec],
) -> list[tuple[str, MetaValue]]:
    meta = project.meta
    items: list[tuple[str, MetaValue]] = [
        ("id", str(project.id)),
        ("name", project.name),
        ("bugtracker", str(meta.get("bugtracker") or "")),
        ("created", str(meta.get("created") or "")),
        ("updated", str(meta.get("updated") or "")),
        ("tasks", [("task", task_meta(t.source, None)) for t in tasks]),
        ("subsets", "\n".join(subsets)),
        ("owner", person_meta(meta.get("owner"))),
        ("assignee", person_meta(meta.get("assignee"))),
        ("labels", labels_meta(labels)),
    ]
    return [("project", items), ("dumped", dumped(meta))]


def _begin(
    project: ProjectInfo, sources: Sequence[ExportSource], out: TextIO
) -> tuple[XmlWriter, Names, list[ProjectTask]]:
    tasks, subsets = project_tasks(sources)
    labels = flat_labels(project.labels)
    w = XmlWriter(out)
    open_document(w, _project_meta(project, tasks, subsets, labels))
    return w, Names(labels), tasks


def write_project_images_xml(
    project: ProjectInfo, sources: Sequence[ExportSource], out: TextIO
) -> None:
    w, names, tasks = _begin(project, sources, out)
    for task in sorted(tasks, key=lambda t: t.source.task_id):  # CVAT: frames by (task, frame)
        extra = f' subset={quote(task.subset)} task_id="{task.source.task_id}"'

        def name_of(frame: FrameSpec, task: ProjectTask = task) -> str:
            return task.names[frame.number]

        write_images_body(w, names, task.source, task.numbering, extra, name_of)
    close_document(w)


def write_project_video_xml(
    project: ProjectInfo, sources: Sequence[ExportSource], out: TextIO
) -> None:
    w, names, tasks = _begin(project, sources, out)
    index = 0
    for task in tasks:
        extra = f' task_id="{task.source.task_id}" subset={quote(task.subset)}'
        index = write_video_body(w, names, task.source, task.numbering, extra, index)
    close_document(w)


def save_project_images(sources: Sequence[ExportSource], out_dir: Path) -> None:
    """images/<subset>/<name> for every frame with an original file."""
    tasks, _ = project_tasks(sources)
    for task in tasks:
        image_path = task.source.image_path
        if image_path is None:
            continue
        root = out_dir / "images" / task.subset
        for number, name in task.names.items():
            checkpoint()
            original = image_path(number)
            target = root / image_name(name, original)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(original, target)
