"""Formats whose project export is ONE document over all tasks (CVAT XML: CVAT's
ProjectData) rather than a directory per task: which formats, and the project's fields
they need. Every other format exports a project task by task (task_<id>/ each)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from psycopg.rows import dict_row

from backend.formats.cvat_xml import PROJECT_EXPORTERS
from backend.formats.cvat_xml_project import ProjectInfo
from backend.formats.model import ExportSource
from backend.formats.sources import SourceMissing, person
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
