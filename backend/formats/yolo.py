"""YOLO 1.1 (darknet layout, as CVAT): `obj.data`, `obj.names`, `train.txt` and one
`obj_train_data/<frame>.txt` per frame with `class cx cy w h` normalised to the image.
Only boxes: other shapes are left out, as CVAT does. The import takes frame sizes from
the task (the upload has no images), and a box outside 0..1 is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

from datumaro.plugins.data_formats.yolo.base import YoloStrictBase
from datumaro.plugins.data_formats.yolo.exporter import YoloExporter
from datumaro.plugins.data_formats.yolo.importer import _YoloStrictImporter

from backend.formats import dm_bridge
from backend.formats.model import CvatAnnotations, ExportSource, FormatError
from backend.formats.registry import FormatInfo, register


def export_yolo(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dataset = dm_bridge.to_dataset(source, save_images, dm_bridge.ExportOptions(tracks=False))
    dm_bridge.export_with(YoloExporter, dataset, out_dir, save_images)


def import_yolo(path: Path, target: ExportSource) -> CvatAnnotations:
    if not path.is_dir() or not list(path.rglob("obj.data")):
        raise FormatError(f"{path.name}: not a YOLO dataset (expected obj.data)")
    sizes: dict[str, tuple[int, int]] = {}
    for frame in target.frames:
        stem = os.path.splitext(frame.name)[0]
        for key in (stem, os.path.basename(stem)):
            sizes[key] = (frame.height, frame.width)
    # one label file per image in obj_<subset>_data/, named like the image
    for txt in path.rglob("obj_*_data/**/*.txt"):
        if txt.stem not in sizes:
            raise FormatError(
                f"{txt.relative_to(path)}: item '{txt.stem}' does not match any frame of the "
                f"{target.whole}"
            )
    dataset = dm_bridge.import_with(path, _YoloStrictImporter, YoloStrictBase, image_info=sizes)
    return dm_bridge.from_dataset(
        dataset, target, dm_bridge.ImportOptions(file=path.name, tracks=False)
    )


register(
    FormatInfo(
        name="YOLO",
        ext="ZIP",
        version="1.1",
        dimension="2d",
        importer=import_yolo,
        exporter=export_yolo,
    )
)
