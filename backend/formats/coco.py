"""COCO 1.0 (instances) and COCO Keypoints 1.0, through datumaro's COCO plugins.

As CVAT: images in `images/`, annotations in `annotations/instances_default.json` (or
`person_keypoints_default.json`); polygons stay polygons and masks are written as RLE
(`iscrowd` 1); ellipses become polygons; shapes in one group are one COCO object (COCO's
own model). Track shapes carry `track_id`/`keyframe` attributes and come back as tracks.
On import the box datumaro adds beside each segmentation is dropped (it is the same
object), and so are `is_crowd` and other attributes the label does not have.
For keypoints, a skeleton is one COCO object whose keypoints are the skeleton's points
(in the label's point order); the object's box, written by datumaro, is not imported.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from datumaro.components.annotation import Annotation, AnnotationType
from datumaro.components.dataset import Dataset
from datumaro.components.dataset_base import DatasetItem
from datumaro.plugins.data_formats.coco.base import CocoInstancesBase, CocoPersonKeypointsBase
from datumaro.plugins.data_formats.coco.exporter import (
    CocoInstancesExporter,
    CocoPersonKeypointsExporter,
)
from datumaro.plugins.data_formats.coco.importer import (
    CocoInstancesImporter,
    CocoPersonKeypointsImporter,
)

from backend.formats import dm_bridge
from backend.formats.model import CvatAnnotations, ExportSource, FormatError
from backend.formats.registry import FormatInfo, register


def _single_json(path: Path, prefix: str) -> None:
    if path.is_file() and path.suffix.lower() != ".json":
        raise FormatError(f"{path.name}: not a COCO file (expected a .json file or a zip)")
    if path.is_dir() and not any(path.rglob(f"{prefix}*.json")):
        raise FormatError(
            f"{path.name}: no COCO annotation file found (expected annotations/{prefix}*.json)"
        )


def export_instances(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dataset = dm_bridge.to_dataset(source, save_images, dm_bridge.ExportOptions())
    dm_bridge.export_with(CocoInstancesExporter, dataset, out_dir, save_images, merge_images=False)


def _segmentation_box(item: DatasetItem, ann: Annotation) -> bool:
    """datumaro reads each COCO object with a segmentation as that shape plus its box."""
    return ann.type == AnnotationType.bbox and any(
        other.id == ann.id and other.type != AnnotationType.bbox for other in item.annotations
    )


@contextmanager
def _as_dataset_dir(path: Path, prefix: str) -> Iterator[Path]:
    """datumaro reads a COCO file only from an `annotations/` directory: a lone JSON
    upload is linked into one (named as datumaro expects)."""
    if path.is_dir():
        # datumaro also wants an images/ directory beside annotations/ (a zip of an
        # export without images has none): the unpacked upload is ours to add it to
        for found in path.rglob(f"annotations/{prefix}*.json"):
            (found.parent.parent / "images").mkdir(exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory() as temp:
        name = path.name if path.name.startswith(prefix) else f"{prefix}default.json"
        (Path(temp) / "annotations").mkdir()
        (Path(temp) / "images").mkdir()
        (Path(temp) / "annotations" / name).symlink_to(path.resolve())
        yield Path(temp)


def _read(path: Path, prefix: str, importer: type, extractor: type) -> Dataset:
    _single_json(path, prefix)
    with _as_dataset_dir(path, prefix) as root:
        try:
            dataset = dm_bridge.import_with(root, importer, extractor)
        except FormatError as error:
            if root == path:
                raise
            text = re.sub(rf"{re.escape(root.name)}(: annotations/[^:]*)?", path.name, str(error))
            raise FormatError(text) from error
    return dataset


def import_instances(path: Path, target: ExportSource) -> CvatAnnotations:
    dataset = _read(path, "instances_", CocoInstancesImporter, CocoInstancesBase)
    return dm_bridge.from_dataset(
        dataset, target, dm_bridge.ImportOptions(file=path.name, drop=_segmentation_box)
    )


def export_keypoints(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dataset = dm_bridge.to_dataset(source, save_images)
    dm_bridge.export_with(
        CocoPersonKeypointsExporter, dataset, out_dir, save_images, merge_images=False
    )


def _not_points(item: DatasetItem, ann: Annotation) -> bool:
    return bool(ann.type != AnnotationType.points)


def import_keypoints(path: Path, target: ExportSource) -> CvatAnnotations:
    dataset = _read(path, "person_keypoints_", CocoPersonKeypointsImporter, CocoPersonKeypointsBase)
    return dm_bridge.from_dataset(
        dataset, target, dm_bridge.ImportOptions(file=path.name, drop=_not_points)
    )


register(
    FormatInfo(
        name="COCO",
        ext="ZIP",
        version="1.0",
        dimension="2d",
        importer=import_instances,
        exporter=export_instances,
        import_ext="JSON, ZIP",
    )
)
register(
    FormatInfo(
        name="COCO Keypoints",
        ext="ZIP",
        version="1.0",
        dimension="2d",
        importer=import_keypoints,
        exporter=export_keypoints,
        import_ext="JSON, ZIP",
    )
)
