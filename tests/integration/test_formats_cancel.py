"""Cancelling an export or import stops its worker thread within an item or two, not at the
end (#7): the request's cancel flag (Postgres) is seen by in_thread, which sets the Event
that the exporters, importers and the zip writer check per frame, item or file."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from backend.formats import pipeline, registry
from backend.formats.cancel import Cancelled, cancellable
from backend.formats.import_context import ImportContext
from backend.formats.masks import masks_to_polygons
from backend.formats.model import ExportSource
from backend.services import requests
from tests.unit import format_sources as fs
from workers.formats_jobs import Progress, in_thread


@pytest.mark.parametrize("format_name", ["COCO 1.0", "CVAT for images 1.1"])
async def test_a_cancel_stops_an_export_between_two_frames(
    pool: Any, tmp_path: Path, format_name: str
) -> None:
    operation = requests.Operation(type="export:dataset", target="task", task_id=1)
    async with pool.connection() as conn:
        rq_id = await requests.create(conn, owner_id=1, operation=operation)
        assert await requests.mark_started(conn, rq_id)
    base = fs.source(fs.frames(40), shapes=[fs.box(i) for i in range(40)], image_dir=tmp_path)
    assert base.image_path is not None
    read: list[int] = []
    reached, release = threading.Event(), threading.Event()

    def image_path(number: int) -> Path:
        """The task's files, the fifth one held until the test has cancelled."""
        if number == 5:
            reached.set()
            release.wait(10)
        read.append(number)
        return base.image_path(number)  # type: ignore[misc]

    source = dataclasses.replace(base, image_path=image_path)
    exporter = registry.exporter_for(format_name).exporter
    assert exporter is not None
    progress = Progress(SimpleNamespace(pool=pool), rq_id)  # type: ignore[arg-type]
    out = tmp_path / "out"
    run = functools.partial(pipeline.run_exporter, exporter, source, out, True)
    running = asyncio.ensure_future(in_thread(progress, run))
    assert await asyncio.to_thread(reached.wait, 10)
    async with pool.connection() as conn:
        assert await requests.cancel(conn, rq_id) == "started"
    assert await asyncio.to_thread(progress.cancelled.wait, 10)  # in_thread saw the flag
    release.set()
    with pytest.raises(Cancelled):
        await running
    assert 5 in read and max(read) <= 6, read  # stopped at the next frame, not the 40th


def _checks(work: Any) -> bool:
    """Whether `work` stops at once when its request is already cancelled."""
    event = threading.Event()
    event.set()
    with cancellable(event):
        try:
            work()
        except Cancelled:
            return True
    return False


def test_exporters_importers_and_the_zip_writer_all_check(tmp_path: Path) -> None:
    source = fs.source(fs.frames(3), shapes=[fs.box(0), fs.mask(1)])
    exported = {}
    for name in ("COCO 1.0", "CVAT for images 1.1", "CVAT for video 1.1", "YOLO 1.1"):
        exporter = registry.exporter_for(name).exporter
        assert exporter is not None
        out = tmp_path / name.replace(" ", "_")
        assert _checks(lambda e=exporter, o=out: pipeline.run_exporter(e, source, o, False)), name
        pipeline.run_exporter(exporter, source, out, False)  # and without a cancel, it runs
        exported[name] = out
    target = dataclasses.replace(fs.source(fs.frames(3)), importing=ImportContext())
    importer = registry.importer_for("COCO 1.0").importer
    assert importer is not None
    assert _checks(lambda: importer(exported["COCO 1.0"], target))
    assert _checks(lambda: pipeline.zip_directory(exported["YOLO 1.1"], tmp_path / "y.zip"))
    assert not (tmp_path / "y.zip").exists()
    frames = {frame.number: frame for frame in source.frames}
    assert _checks(lambda: masks_to_polygons(source.annotations, frames))
    big: ExportSource = fs.source(fs.frames(300), shapes=[fs.box(i) for i in range(300)])
    xml = tmp_path / "big"
    exporter = registry.exporter_for("CVAT for images 1.1").exporter
    assert exporter is not None
    pipeline.run_exporter(exporter, big, xml, False)
    cvat = registry.importer_for("CVAT 1.1").importer
    assert cvat is not None
    assert _checks(lambda: cvat(xml, dataclasses.replace(big, importing=ImportContext())))
