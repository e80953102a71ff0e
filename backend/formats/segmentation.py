"""CamVid 1.0, Cityscapes 1.0 and KITTI 1.0: datasets of painted masks (KITTI also of
boxes), through datumaro's plugins, as CVAT exports them: boxes, polygons and ellipses are
painted as masks (KITTI keeps boxes as its detection labels), shapes of one group form one
instance, and the label map carries the labels' colours (background black). Imports read
the masks back as mask shapes with the label of their colour / class id.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from datumaro.components.dataset import Dataset
from datumaro.plugins.data_formats.camvid import CamvidBase, CamvidExporter, CamvidImporter
from datumaro.plugins.data_formats.cityscapes import (
    CityscapesBase,
    CityscapesExporter,
    CityscapesImporter,
)
from datumaro.plugins.data_formats.kitti.base import KittiDetectionBase, KittiSegmentationBase
from datumaro.plugins.data_formats.kitti.exporter import KittiExporter
from datumaro.plugins.data_formats.kitti.importer import (
    KittiDetectionImporter,
    KittiSegmentationImporter,
)
from datumaro.plugins.transforms import MergeInstanceSegments

from backend.formats import dm_bridge
from backend.formats.model import CvatAnnotations, ExportSource, FormatError, LabelSpec
from backend.formats.registry import FormatInfo, register
from backend.formats.voc import label_colors


def colormap(labels: list[LabelSpec]) -> OrderedDict[str, tuple[int, int, int]]:
    return OrderedDict((name, value[0]) for name, value in label_colors(labels).items())


def _painted(source: ExportSource, save_images: bool, keep_boxes: bool = False) -> Dataset:
    options = dm_bridge.ExportOptions(
        tracks=False, regions_as_masks=True, boxes_as_masks=not keep_boxes
    )
    dataset = dm_bridge.to_dataset(source, save_images, options)
    return Dataset.from_extractors(MergeInstanceSegments(dataset))


def _require(path: Path, pattern: str, what: str) -> None:
    if not path.is_dir() or not any(path.rglob(pattern)):
        raise FormatError(f"{path.name}: not a {what} dataset (expected {pattern})")


def export_camvid(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dm_bridge.export_with(
        CamvidExporter,
        _painted(source, save_images),
        out_dir,
        save_images,
        apply_colormap=True,
        label_map=colormap(source.labels),
    )


def import_camvid(path: Path, target: ExportSource) -> CvatAnnotations:
    _require(path, "label_colors.txt", "CamVid")
    dataset = dm_bridge.import_with(path, CamvidImporter, CamvidBase)
    return dm_bridge.from_dataset(
        dataset, target, dm_bridge.ImportOptions(file=path.name, tracks=False)
    )


def export_cityscapes(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dm_bridge.export_with(
        CityscapesExporter,
        _painted(source, save_images),
        out_dir,
        save_images,
        apply_colormap=True,
        label_map=colormap(source.labels),
    )


def import_cityscapes(path: Path, target: ExportSource) -> CvatAnnotations:
    _require(path, "gtFine", "Cityscapes")
    # datumaro wants leftImg8bit/<subset> beside gtFine/<subset>, images or not
    for subset in path.rglob("gtFine/*"):
        if subset.is_dir():
            (subset.parent.parent / "leftImg8bit" / subset.name).mkdir(parents=True, exist_ok=True)
    dataset = dm_bridge.import_with(path, CityscapesImporter, CityscapesBase)
    return dm_bridge.from_dataset(
        dataset, target, dm_bridge.ImportOptions(file=path.name, tracks=False)
    )


def export_kitti(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dm_bridge.export_with(
        KittiExporter,
        _painted(source, save_images, keep_boxes=True),
        out_dir,
        save_images,
        apply_colormap=True,
        label_map=colormap(source.labels),
    )


def import_kitti(path: Path, target: ExportSource) -> CvatAnnotations:
    """Boxes from label_2/ and masks from instance/ (datumaro reads only one of the two
    at a time, so each is read on its own)."""
    boxes = any(path.rglob("label_2/**/*.txt"))
    masks = any(path.rglob("instance/**/*.png"))
    if not path.is_dir() or not (boxes or masks):
        raise FormatError(
            f"{path.name}: not a KITTI dataset (expected label_2/*.txt or instance/*.png)"
        )
    options = dm_bridge.ImportOptions(file=path.name, tracks=False)
    parts = []
    if boxes:
        dataset = dm_bridge.import_with(path, KittiDetectionImporter, KittiDetectionBase)
        parts.append(dm_bridge.from_dataset(dataset, target, options))
    if masks:
        dataset = dm_bridge.import_with(path, KittiSegmentationImporter, KittiSegmentationBase)
        parts.append(dm_bridge.from_dataset(dataset, target, options))
    return CvatAnnotations(
        version=0,
        tags=[t for p in parts for t in p.tags],
        shapes=[s for p in parts for s in p.shapes],
        tracks=[],
    )


register(
    FormatInfo(
        name="CamVid", ext="ZIP", version="1.0", dimension="2d",
        importer=import_camvid, exporter=export_camvid,
    )
)  # fmt: skip
register(
    FormatInfo(
        name="Cityscapes", ext="ZIP", version="1.0", dimension="2d",
        importer=import_cityscapes, exporter=export_cityscapes,
    )
)  # fmt: skip
register(
    FormatInfo(
        name="KITTI", ext="ZIP", version="1.0", dimension="2d",
        importer=import_kitti, exporter=export_kitti,
    )
)  # fmt: skip
