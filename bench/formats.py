"""Format export benchmarks on a generated task of 10,000 frames and 100,000 boxes (with
attributes), each against datumaro exporting the same, already built Dataset directly in
the same run (ratio = ours / datumaro direct; the issue's target is <= 1.5):

  formats.coco_export_s       COCO 1.0 through dm_bridge (our annotations -> Dataset ->
                              datumaro's COCO exporter) / datumaro's COCO exporter alone
  formats.cvat_xml_export_s   CVAT for images 1.1 (our XML writer) / datumaro's CVAT
                              exporter on the same Dataset
  formats.export_peak_mb      peak RSS growth of our COCO export (the bridge makes
                              datumaro's items frame by frame while the exporter reads
                              them; a child process per measurement) / datumaro direct
                              exporting an already built Dataset

No database is needed: exporters work on an ExportSource, as the export job builds it."""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import log, median, report

from backend.domain.annotations import CvatAnnotations
from backend.domain.objects import AttributeVal, LabeledShape
from backend.formats import dm_bridge
from backend.formats.model import AttributeSpec, ExportSource, FrameSpec, LabelSpec
from backend.formats.registry import FORMATS

FRAMES = int(os.environ.get("BENCH_FORMAT_FRAMES", "10000"))
SHAPES_PER_FRAME = int(os.environ.get("BENCH_FORMAT_SHAPES_PER_FRAME", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))


def make_source() -> ExportSource:
    labels = [
        LabelSpec(
            id=i + 1,
            name=f"class{i}",
            attributes=[
                AttributeSpec(id=100 + i, name="kind", input_type="select",
                              values=["a", "b"], default_value="a"),
            ],
        )
        for i in range(10)
    ]  # fmt: skip
    frames = [FrameSpec(number=n, name=f"images/{n:06d}.jpg", width=1920, height=1080)
              for n in range(FRAMES)]  # fmt: skip
    shapes = []
    for n in range(FRAMES):
        for k in range(SHAPES_PER_FRAME):
            x, y = (n * 7 + k * 97) % 1800, (n * 3 + k * 61) % 1000
            label = k % 10
            shapes.append(
                LabeledShape(
                    type="rectangle", frame=n, label_id=label + 1, id=n * 100 + k,
                    points=[x, y, x + 50.5, y + 40.25], z_order=k % 3, occluded=k % 4 == 0,
                    attributes=[AttributeVal(100 + label, "b" if k % 2 else "a")],
                )
            )  # fmt: skip
    return ExportSource(
        task_id=1, task_name="bench", job_id=None, mode="annotation", dimension="2d",
        frames=frames, labels=labels,
        annotations=CvatAnnotations(version=1, tags=[], shapes=shapes, tracks=[]),
        meta={},
    )  # fmt: skip


def _timed(func: Callable[[Path], None]) -> float:
    out = Path(tempfile.mkdtemp(prefix="vellum-bench-formats-"))
    try:
        started = time.perf_counter()
        func(out)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _peak_child(kind: str, queue: multiprocessing.Queue[float]) -> None:
    source = make_source()
    dataset = built_dataset(source) if kind == "direct" else None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if kind == "direct":
        _timed(lambda out: _coco_direct(dataset, out))
    else:
        _timed(lambda out: FORMATS["COCO 1.0"].exporter(source, out, False))  # type: ignore[misc]
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((after - before) / 1024)


def _peak_mb(kind: str) -> float:
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[float] = ctx.Queue()
    process = ctx.Process(target=_peak_child, args=(kind, queue))
    process.start()
    value = queue.get()
    process.join()
    return float(value)


def built_dataset(source: ExportSource) -> object:
    """The same frames and annotations as a datumaro Dataset held in memory: what
    'datumaro exporting the dataset directly' starts from."""
    from datumaro.components.dataset import Dataset
    from datumaro.components.media import Image

    frames = dm_bridge.to_dataset(source, False)
    return Dataset.from_iterable(list(frames), categories=frames.categories(), media_type=Image)


def _coco_direct(dataset: object, out: Path) -> None:
    from datumaro.plugins.data_formats.coco.exporter import CocoInstancesExporter

    CocoInstancesExporter.convert(dataset, save_dir=str(out), save_media=False)


def _cvat_direct(dataset: object, out: Path) -> None:
    from datumaro.plugins.data_formats.cvat.exporter import CvatExporter

    CvatExporter.convert(dataset, save_dir=str(out), save_media=False)


def main() -> None:
    logging.disable(logging.WARNING)  # datumaro logs a line per item it simplifies
    log(f"building a task of {FRAMES} frames, {FRAMES * SHAPES_PER_FRAME} boxes")
    source = make_source()
    coco = FORMATS["COCO 1.0"].exporter
    assert coco is not None
    ours, direct = [], []
    for _ in range(ROUNDS):
        dataset = built_dataset(source)
        direct.append(_timed(lambda out, d=dataset: _coco_direct(d, out)))
        ours.append(_timed(lambda out: coco(source, out, False)))
    value, baseline = median(ours), median(direct)
    report("formats.coco_export_s", value, "s", baseline, "ours / datumaro direct <= 1.5",
           value / baseline <= 1.5, frames=FRAMES, shapes=FRAMES * SHAPES_PER_FRAME)  # fmt: skip

    xml = FORMATS.get("CVAT for images 1.1")
    if xml is not None and xml.exporter is not None:
        exporter = xml.exporter
        ours, direct = [], []
        for _ in range(ROUNDS):
            dataset = built_dataset(source)
            direct.append(_timed(lambda out, d=dataset: _cvat_direct(d, out)))
            ours.append(_timed(lambda out: exporter(source, out, False)))
        value, baseline = median(ours), median(direct)
        report("formats.cvat_xml_export_s", value, "s", baseline,
               "ours / datumaro direct <= 1.5", value / baseline <= 1.5,
               frames=FRAMES, shapes=FRAMES * SHAPES_PER_FRAME)  # fmt: skip
    else:
        log("CVAT for images 1.1 is not registered: formats.cvat_xml_export_s skipped")

    ours_mb, direct_mb = _peak_mb("ours"), _peak_mb("direct")
    report("formats.export_peak_mb", ours_mb, "MB", direct_mb,
           "COCO export peak growth / datumaro direct <= 1.5",
           ours_mb <= 1.5 * max(direct_mb, 1.0), frames=FRAMES)  # fmt: skip


if __name__ == "__main__":
    main()
