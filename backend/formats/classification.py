"""Image-level label datasets through datumaro: ImageNet 1.0 (as CVAT: `imagenet_txt`
lists without images, one directory per label with them; tags only) and Open Images V6
1.0 (image labels, boxes and masks, polygons painted as masks; frame sizes for the import
come from the task when the upload has no images)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from datumaro.components.dataset import Dataset
from datumaro.plugins.data_formats.imagenet import ImagenetBase, ImagenetExporter, ImagenetImporter
from datumaro.plugins.data_formats.imagenet_txt import (
    ImagenetTxtBase,
    ImagenetTxtExporter,
    ImagenetTxtImporter,
)
from datumaro.plugins.data_formats.open_images import (
    OpenImagesBase,
    OpenImagesExporter,
    OpenImagesImporter,
)
from datumaro.plugins.transforms import MergeInstanceSegments

from backend.formats import dm_bridge
from backend.formats.model import CvatAnnotations, ExportSource, FormatError
from backend.formats.registry import FormatInfo, register

_TAGS_ONLY = dm_bridge.ExportOptions(tracks=False, skip_types=frozenset(
    {"rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton"}
))  # fmt: skip


def export_imagenet(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dataset = dm_bridge.to_dataset(source, save_images, _TAGS_ONLY)
    exporter = ImagenetExporter if save_images else ImagenetTxtExporter
    dm_bridge.export_with(exporter, dataset, out_dir, save_images)


def import_imagenet(path: Path, target: ExportSource) -> CvatAnnotations:
    if not path.is_dir():
        raise FormatError(f"{path.name}: not an ImageNet dataset (expected a zip)")
    options = dm_bridge.ImportOptions(file=path.name, tracks=False)
    if any(path.glob("*.txt")):
        dataset = dm_bridge.import_with(path, ImagenetTxtImporter, ImagenetTxtBase)
    elif any(p.is_dir() for p in path.iterdir()):
        dataset = dm_bridge.import_with(path, ImagenetImporter, ImagenetBase)
    else:
        raise FormatError(
            f"{path.name}: not an ImageNet dataset (expected <subset>.txt and labels.txt, "
            "or a directory of images per label)"
        )
    return dm_bridge.from_dataset(dataset, target, options)


def export_open_images(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    options = dm_bridge.ExportOptions(tracks=False, regions_as_masks=True, boxes_as_masks=False)
    dataset = dm_bridge.to_dataset(source, save_images, options)
    dataset = Dataset.from_extractors(MergeInstanceSegments(dataset))
    dm_bridge.export_with(OpenImagesExporter, dataset, out_dir, save_images)


def _image_ids(path: Path) -> list[str]:
    ids = []
    for description in path.rglob("annotations/*images*.csv"):
        with description.open(newline="", encoding="utf-8") as file:
            for row in csv.DictReader(file):
                if row.get("ImageID"):
                    ids.append(row["ImageID"])
    return ids


def import_open_images(path: Path, target: ExportSource) -> CvatAnnotations:
    if not path.is_dir() or not any(path.rglob("annotations/*.csv")):
        raise FormatError(f"{path.name}: not an Open Images dataset (expected annotations/*.csv)")
    # boxes are stored normalised: the reader needs the images' sizes
    sizes = {}
    by_stem = {os.path.splitext(f.name)[0]: f for f in target.frames}
    by_base = {os.path.basename(k): f for k, f in by_stem.items()}
    for image_id in _image_ids(path):
        frame = by_stem.get(image_id) or by_base.get(os.path.basename(image_id))
        if frame is not None:
            sizes[image_id] = (frame.height, frame.width)
    dataset = dm_bridge.import_with(path, OpenImagesImporter, OpenImagesBase, image_meta=sizes)
    return dm_bridge.from_dataset(
        dataset, target, dm_bridge.ImportOptions(file=path.name, tracks=False)
    )


register(
    FormatInfo(
        name="ImageNet", ext="ZIP", version="1.0", dimension="2d",
        importer=import_imagenet, exporter=export_imagenet,
    )
)  # fmt: skip
register(
    FormatInfo(
        name="Open Images V6", ext="ZIP", version="1.0", dimension="2d",
        importer=import_open_images, exporter=export_open_images,
    )
)  # fmt: skip
