"""A project export is ONE dataset over all of the project's tasks with data, as CVAT's
ProjectData makes it: CVAT XML writes it as one document (PROJECT_EXPORTERS); every other
format gets `project_source`, one ExportSource whose frames are all the tasks' frames, each
in its task's subset, so that the format's exporter writes one dataset with subsets.

As CVAT: tasks in (subset, id) order; a task without a subset is in "default" ("default_1"
when a task is literally in "default"); video frames are named frame_NNNNNN after their
number in the subset (each subset's tasks numbered one after the other). Unlike CVAT, image
names are made unique in the whole export rather than per subset (the second a.jpg is
a_1.jpg): several formats keep every subset's images or annotation files in one folder
(Pascal VOC's JPEGImages/ and Annotations/, MOT's img1/), where one subset's a.jpg would
overwrite another's."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from msgspec import structs
from psycopg.rows import dict_row

from backend.domain.annotations import CvatAnnotations
from backend.formats import sources
from backend.formats.cvat_xml import PROJECT_EXPORTERS
from backend.formats.cvat_xml_project import ProjectInfo, project_tasks
from backend.formats.model import Exporter, ExportSource, FrameSpec
from backend.formats.sources import SourceMissing, person
from backend.formats.subsets import renumber
from backend.services.labels import label_set

ProjectExporter = Callable[[ProjectInfo, Sequence[ExportSource], Path, bool], None]


def project_exporter_for(display_name: str) -> ProjectExporter | None:
    return PROJECT_EXPORTERS.get(display_name)


async def project_info(conn: Any, project_id: int) -> ProjectInfo:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT * FROM projects WHERE id = %s", [project_id])
        project = await cur.fetchone()
        if project is None:
            raise SourceMissing(f"project {project_id} does not exist")
        await cur.execute(
            "SELECT * FROM labels WHERE project_id = %s ORDER BY position", [project_id]
        )
        labels = label_set(list(await cur.fetchall())).top_level
    meta = {
        "bugtracker": project.get("bug_tracker") or "",
        "created": project["created_at"].isoformat(),
        "updated": project["updated_at"].isoformat(),
        "owner": await person(conn, project.get("owner_id")),
        "assignee": await person(conn, project.get("assignee_id")),
        "dumped": datetime.datetime.now(datetime.UTC).isoformat(),
    }
    return ProjectInfo(id=project_id, name=str(project["name"]), labels=labels, meta=meta)


async def task_sources(
    conn: Any, data_dir: str | Path, project_id: int, frames: sources.VideoFrames | None
) -> list[ExportSource]:
    """Every task of the project that has data (CVAT exports only those), by id."""
    cur = await conn.execute(
        "SELECT id FROM tasks WHERE project_id = %s AND size > 0 ORDER BY id", [project_id]
    )
    ids = [int(row[0]) for row in await cur.fetchall()]
    if not ids:
        raise SourceMissing(f"project {project_id} has no task with data to export")
    return [
        await sources.task_source(conn, data_dir, task_id, video_frames=frames) for task_id in ids
    ]


def project_source(project: ProjectInfo, tasks: Sequence[ExportSource]) -> ExportSource:
    """The project's tasks as one source: frames numbered one after the other over the
    tasks in CVAT's order, each named and placed in its subset as the module says; each
    task's annotations moved onto its frames, a track that is still visible at the end of
    its task closed there (it must not run on into the next task's frames)."""
    ordered, subsets = project_tasks(tasks, unique_per_subset=False)
    frames: list[FrameSpec] = []
    owners: list[tuple[ExportSource, int]] = []  # per project frame: its task and frame
    shapes, tracks, tags = [], [], []
    for task in ordered:
        base = len(frames)
        mapping = {}
        sizes = {f.number: f for f in task.source.frames}
        for index, (number, name) in enumerate(sorted(task.names.items())):
            frame = sizes[number]
            frames.append(FrameSpec(base + index, name, frame.width, frame.height, task.subset))
            owners.append((task.source, number))
            mapping[number] = base + index
        end = len(frames)
        mapping[max(mapping, default=-1) + 1] = end  # a track's closing keyframe
        moved = renumber(task.source.annotations, mapping)
        shapes += moved.shapes
        tags += moved.tags
        for track in moved.tracks:
            last = track.shapes[-1]
            if not last.outside and last.frame < end:
                closing = structs.replace(last, id=None, frame=end, outside=True)
                track = structs.replace(track, shapes=[*track.shapes, closing])
            tracks.append(track)

    image_path = None
    if tasks and all(t.image_path is not None for t in tasks):

        def image_path(number: int) -> Path:
            task, frame = owners[number]
            assert task.image_path is not None
            return task.image_path(frame)

    return ExportSource(
        task_id=0, task_name=project.name, job_id=None,
        mode="interpolation" if all(t.mode == "interpolation" for t in tasks) else "annotation",
        dimension=tasks[0].dimension if tasks else "2d", frames=frames, labels=project.labels,
        annotations=CvatAnnotations(version=0, shapes=shapes, tracks=tracks, tags=tags),
        meta={"project_id": project.id, "name": project.name, "subsets": subsets},
        image_path=image_path,
    )  # fmt: skip


def export_as_dataset(
    exporter: Exporter, project: ProjectInfo, tasks: Sequence[ExportSource], out: Path,
    save_images: bool,
) -> None:  # fmt: skip
    """A format's exporter over the project as one dataset (in the worker thread)."""
    out.mkdir(parents=True, exist_ok=True)
    exporter(project_source(project, tasks), out, save_images)
