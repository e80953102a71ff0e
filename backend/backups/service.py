"""Backup requests as the worker runs them: where files live, and the project restore
(every task is checked and built before the project is created; a failure afterwards
deletes the project with the tasks made so far).

    DATA_DIR/data/backups/{rq_id}/{download name}.zip   a finished export
    DATA_DIR/data/backups/upload-{user}-{id}/           a restore upload (backend/api/backups.py)
    DATA_DIR/data/backups/build-*, work-*               builds and scratch of running restores
"""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from backend.backups import export, restore
from backend.backups.layout import PROJECT_FILE, BackupError, ProjectIn
from backend.backups.reading import BackupArchive
from backend.domain import tasks as domain
from backend.domain.errors import DomainError
from backend.formats import pipeline
from backend.media.archive import ArchiveLimits
from backend.media.storage import TaskStorage

if TYPE_CHECKING:
    from backend.bootstrap import Container

_TASK_DIR = re.compile(r"^task_(\d+)/")
EXPORT_TTL_S = 24 * 3600  # a finished backup can be downloaded for a day, as CVAT's cache


def root(data_dir: str | Path) -> Path:
    return Path(data_dir) / "data" / "backups"


def result_dir(data_dir: str | Path, rq_id: str) -> Path:
    return root(data_dir) / rq_id


def limits(container: Container) -> ArchiveLimits:
    return ArchiveLimits(max_unpacked_bytes=container.settings.max_upload_mb * 4 * 2**20)


def sweep_expired(data_dir: str | Path, ttl_s: float = EXPORT_TTL_S) -> int:
    """Remove finished backups older than `ttl_s`, and builds, scratch directories and
    uploads a killed process left behind (as old). Returns how many entries went."""
    return pipeline.sweep_older(root(data_dir), ttl_s)


async def export_backup(
    container: Container, kind: str, ident: int, target: Path, *, with_history: bool,
    progress: Callable[[float], None], check: Callable[[], None],
) -> None:  # fmt: skip
    """Write the backup to `target` (through a temporary name: `target` appears complete
    or not at all)."""
    partial = target.with_name(target.name + ".part")
    partial.parent.mkdir(parents=True, exist_ok=True)
    try:
        backup = export.task_backup if kind == "task" else export.project_backup
        await backup(
            container, ident, partial, with_history=with_history, progress=progress, check=check
        )
        partial.replace(target)
    finally:
        shutil.rmtree(partial.parent / export.WORK_DIR, ignore_errors=True)
        partial.unlink(missing_ok=True)


def _task_dirs(archive: BackupArchive) -> list[str]:
    found: dict[int, str] = {}
    for name in archive.members:
        match = _TASK_DIR.match(name)
        if match:
            found[int(match.group(1))] = match.group(0)
    return [found[k] for k in sorted(found)]


async def restore_backup(
    container: Container, kind: str, path: Path, actor: int, rq_id: str, *,
    progress: Callable[[float], None], check: Callable[[], None],
) -> int:  # fmt: skip
    """Restore the uploaded backup at `path`; returns the new task or project id.
    BackupError (naming the file and the problem) when it cannot be, and nothing stays."""
    data_dir = Path(container.settings.data_dir)
    work = root(data_dir) / f"work-{uuid.uuid4().hex}"
    plans: list[restore.TaskPlan] = []
    try:
        archive = await asyncio.to_thread(BackupArchive, path, limits(container))
        with archive:
            if kind == "task":
                plan = await asyncio.to_thread(
                    restore.prepare_task, archive, "", work, data_dir,
                    limits=limits(container), labels=None, progress=progress, check=check,
                )  # fmt: skip
                plans.append(plan)
                return await restore.create_task(container, plan, actor, rq_id=rq_id)
            return await _restore_project(
                container, archive, work, actor, rq_id, plans, progress, check
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for plan in plans:  # published builds were renamed away; the others go
            shutil.rmtree(plan.build_dir, ignore_errors=True)


async def _restore_project(
    container: Container, archive: BackupArchive, work: Path, actor: int, rq_id: str,
    plans: list[restore.TaskPlan], progress: Callable[[float], None],
    check: Callable[[], None],
) -> int:  # fmt: skip
    project: ProjectIn = archive.json(PROJECT_FILE, ProjectIn)
    edits, labels = restore._label_set(project.labels, PROJECT_FILE)
    dirs = _task_dirs(archive)
    data_dir = Path(container.settings.data_dir)
    for index, prefix in enumerate(dirs):

        def part(value: float, index: int = index) -> None:
            progress((index + value) / max(len(dirs), 1))

        plan = await asyncio.to_thread(
            restore.prepare_task, archive, prefix, work / str(index), data_dir,
            limits=limits(container), labels=labels, progress=part, check=check,
        )  # fmt: skip
        plans.append(plan)
    fields = domain.ProjectFields(
        name=project.name, owner_id=actor, bug_tracker=project.bug_tracker
    )
    project_id, _ = await container.resources.create_project(actor, fields, edits)
    task_ids: list[int] = []
    try:
        for plan in plans:
            task_ids.append(
                await restore.create_task(
                    container, plan, actor, rq_id=rq_id, project_id=project_id
                )
            )
    except BaseException:
        try:
            await container.resources.delete_project(actor, project_id, task_ids)
        except DomainError:
            pass
        for task_id in task_ids:
            await asyncio.to_thread(TaskStorage(data_dir, task_id).remove_all)
        raise
    return project_id


__all__ = ["BackupError", "export_backup", "restore_backup"]
