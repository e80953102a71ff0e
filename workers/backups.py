"""arq jobs: write a task or project backup (the request finishes with an absolute
`result_url`), and restore one (the request finishes with `result_id`, the new task or
project). A restore that cannot be done fails its request with a message naming the file
and the problem, and leaves nothing behind (backend/backups/restore.py)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from backend.backups import service as backups
from backend.backups.export import download_name
from backend.backups.layout import BackupError
from backend.media.build import Cancelled
from backend.services import requests
from workers.tasks_data import _report, _Watch

if TYPE_CHECKING:
    from backend.bootstrap import Container

log = structlog.get_logger(__name__)


async def _fail(container: Container, rq_id: str, message: str) -> None:
    async with container.pool.connection() as conn:
        await requests.fail(conn, rq_id, message)


async def export_backup(ctx: dict[str, Any], rq_id: str) -> str:
    container: Container = ctx["container"]
    async with container.pool.connection() as conn:
        started = await requests.mark_started(conn, rq_id)
        row = await requests.get(conn, rq_id)
    if not started or row is None:
        return "skipped"
    params = row.params
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y_%m_%d_%H_%M_%S")
    name = params.get("filename") or download_name(params["kind"], params["name"], stamp)
    folder = backups.result_dir(container.settings.data_dir, rq_id)
    await asyncio.to_thread(backups.sweep_expired, container.settings.data_dir)
    watch = _Watch()
    reporter = asyncio.create_task(_report(container, rq_id, watch))
    try:
        await backups.export_backup(
            container, params["kind"], int(params["id"]), folder / name,
            with_history=bool(params.get("with_history")),
            progress=watch.set_progress, check=watch.check,
        )  # fmt: skip
        await _stop(reporter)
        async with container.pool.connection() as conn:
            await conn.execute(
                "UPDATE requests SET params = params || jsonb_build_object('file', %s::text),"
                " expiry_date = now() + make_interval(secs => %s::float8) WHERE id = %s",
                [name, backups.EXPORT_TTL_S, rq_id],
            )
            await requests.finish(conn, rq_id, result_url=f"{params['download_url']}?rq_id={rq_id}")
        log.info("backup written", rq_id=rq_id, kind=params["kind"], id=params["id"])
        return "finished"
    except Cancelled:
        await _fail(container, rq_id, requests.CANCELLED_MESSAGE)
    except BackupError as exc:
        await _fail(container, rq_id, str(exc))
    except Exception as exc:
        log.exception("backup failed", rq_id=rq_id)
        await _fail(container, rq_id, f"Could not write the backup: {exc or type(exc).__name__}")
    finally:
        await _stop(reporter)
    shutil.rmtree(folder, ignore_errors=True)
    return "failed"


async def _stop(reporter: asyncio.Task[None]) -> None:
    reporter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reporter


async def restore_backup(ctx: dict[str, Any], rq_id: str) -> str:
    container: Container = ctx["container"]
    upload = backups.root(container.settings.data_dir) / f"upload-{rq_id}.zip"
    async with container.pool.connection() as conn:
        started = await requests.mark_started(conn, rq_id)
        row = await requests.get(conn, rq_id)
    if not started or row is None:
        upload.unlink(missing_ok=True)
        return "skipped"
    await asyncio.to_thread(backups.sweep_expired, container.settings.data_dir)
    watch = _Watch()
    reporter = asyncio.create_task(_report(container, rq_id, watch))
    outcome = "failed"
    try:
        new_id = await backups.restore_backup(
            container, str(row.params["kind"]), Path(upload), row.owner_id, rq_id,
            progress=lambda p: watch.set_progress(0.9 * p), check=watch.check,
        )  # fmt: skip
        await _stop(reporter)
        async with container.pool.connection() as conn:
            await requests.finish(conn, rq_id, result_id=new_id)
        outcome = "finished"
        log.info("backup restored", rq_id=rq_id, kind=row.params["kind"], id=new_id)
    except Cancelled:
        await _fail(container, rq_id, requests.CANCELLED_MESSAGE)
    except BackupError as exc:
        name = row.params.get("filename") or "the backup"
        await _fail(container, rq_id, f"{name}: {exc}")
    except Exception as exc:
        log.exception("restore failed", rq_id=rq_id)
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        await _fail(container, rq_id, f"Could not restore the backup: {message}")
    finally:
        await _stop(reporter)
        upload.unlink(missing_ok=True)
    return outcome
