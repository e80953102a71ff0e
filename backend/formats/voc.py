"""PASCAL VOC 1.1 and Segmentation mask 1.1, through datumaro's VOC plugins.

PASCAL VOC (as CVAT: datumaro's `voc` exporter with the task's labels as label map):
boxes with their attributes, `occluded` and track ids in `Annotations/*.xml`; polygons
and masks as class and instance masks in `SegmentationClass`/`SegmentationObject`; tags
as image-level labels in `ImageSets/Main`. Masks read back stay masks.

Segmentation mask (as CVAT: datumaro's `voc_segmentation` with the labels' colours):
boxes, polygons and masks are painted into per-class and per-instance PNGs; the import
reads instances back as masks (the label is the class painted under the instance).
"""

from __future__ import annotations

import builtins
import io
import threading
from pathlib import Path
from typing import Any

from datumaro.components.annotation import Annotation, AnnotationType
from datumaro.components.dataset import Dataset
from datumaro.components.dataset_base import DatasetItem
from datumaro.plugins.data_formats.voc import exporter as voc_exporter_module
from datumaro.plugins.data_formats.voc.base import VocBase, VocInstanceSegmentationBase
from datumaro.plugins.data_formats.voc.exporter import VocExporter, VocSegmentationExporter
from datumaro.plugins.data_formats.voc.importer import (
    VocImporter,
    VocInstanceSegmentationImporter,
)
from datumaro.plugins.transforms import MergeInstanceSegments, PolygonsToMasks

from backend.formats import dm_bridge
from backend.formats.model import CvatAnnotations, ExportSource, FormatError, LabelSpec
from backend.formats.registry import FormatInfo, register


def label_colors(
    labels: list[LabelSpec],
) -> dict[str, tuple[tuple[int, int, int], list[str], list[str]]]:
    """VOC's label map from our labels: colour, parts, actions (CVAT's make_colormap)."""
    result: dict[str, tuple[tuple[int, int, int], list[str], list[str]]] = {
        "background": ((0, 0, 0), [], [])
    }
    used = {(0, 0, 0)}
    for index, label in enumerate(labels, start=1):
        color = _rgb(label.color)
        while color is None or color in used:
            color = ((index * 67) % 256, (index * 151) % 256, (index * 199) % 256)
            index += 7
        used.add(color)
        result[label.name] = (color, [], [])
    return result


def _rgb(color: str) -> tuple[int, int, int] | None:
    text = color.lstrip("#")
    if len(text) != 6:
        return None
    try:
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
    except ValueError:
        return None


def _check_layout(path: Path, needed: tuple[str, ...]) -> None:
    if not path.is_dir() or (
        not any((path / name).is_dir() for name in needed)
        and not any(p.is_dir() and any((p / n).is_dir() for n in needed) for p in path.iterdir())
    ):
        raise FormatError(
            f"{path.name}: not a PASCAL VOC dataset (expected {' or '.join(needed)} directories)"
        )


# datumaro's VOC writer rewrites an image's XML file once per box (the write sits inside
# its loop over objects): 100,000 boxes on 10,000 frames took a minute, all in file
# opens. While our subclass writes one image, the module's `open` keeps those writes in
# memory (in this thread only) and the last version of each file is written once.
_pending = threading.local()


class _PendingFile(io.StringIO):
    def __init__(self, into: dict[str, str], path: str) -> None:
        super().__init__()
        self._into, self._path = into, path

    def close(self) -> None:
        if not self.closed:
            self._into[self._path] = self.getvalue()
        super().close()


def _open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
    writes = getattr(_pending, "writes", None)
    if writes is None or mode != "w":
        return builtins.open(file, mode, *args, **kwargs)
    return _PendingFile(writes, str(file))


voc_exporter_module.open = _open  # the module's global name; every other caller is unchanged


class _OneWritePerImage(VocExporter):  # type: ignore[misc]
    NAME = VocExporter.NAME

    def _export_annotations(self, item: DatasetItem, **kwargs: Any) -> None:
        writes: dict[str, str] = {}
        _pending.writes = writes
        try:
            super()._export_annotations(item, **kwargs)
        finally:
            _pending.writes = None
        for path, text in writes.items():
            with builtins.open(path, "w", encoding="utf-8") as file:
                file.write(text)


def export_voc(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dataset = dm_bridge.to_dataset(source, save_images, dm_bridge.ExportOptions(ellipse_as="mask"))
    # VOC keeps segments only as masks: polygons are painted, not dropped
    dataset = Dataset.from_extractors(PolygonsToMasks(dataset))
    dm_bridge.export_with(
        _OneWritePerImage, dataset, out_dir, save_images, label_map=label_colors(source.labels)
    )


def _class_mask_duplicate(item: DatasetItem, ann: Annotation) -> bool:
    """datumaro reads the class mask beside the instance masks: keep only instances."""
    return bool(
        (
            ann.type == AnnotationType.mask
            and ann.attributes.get("is_class_mask", False) is not False
        )
        or (
            ann.type == AnnotationType.mask
            and ann.group == 0
            and ann.id == 0
            and _has_instances(item)
        )
    )


def _has_instances(item: DatasetItem) -> bool:
    return any(a.type == AnnotationType.mask and (a.id or a.group) for a in item.annotations)


def _complete_layout(path: Path) -> None:
    """Accept what CVAT accepts: annotation XMLs without `ImageSets/Main` lists, or lying
    flat in the archive (the unpacked upload is ours to rearrange)."""
    if not path.is_dir() or any(path.rglob("ImageSets/Main/*.txt")):
        return
    annotations = path / "Annotations"
    if not annotations.is_dir():
        flat = [p for p in path.rglob("*.xml") if p.is_file()]
        if not flat:
            return
        annotations.mkdir()
        for xml in flat:
            xml.rename(annotations / xml.name)
    names = sorted(p.stem for p in annotations.glob("*.xml"))
    if names:
        lists = path / "ImageSets" / "Main"
        lists.mkdir(parents=True, exist_ok=True)
        (lists / "default.txt").write_text("\n".join(names) + "\n")


def import_voc(path: Path, target: ExportSource) -> CvatAnnotations:
    _complete_layout(path)
    _check_layout(path, ("Annotations", "SegmentationClass", "SegmentationObject", "ImageSets"))
    dataset = dm_bridge.import_with(path, VocImporter, VocBase)
    return dm_bridge.from_dataset(
        dataset, target, dm_bridge.ImportOptions(file=path.name, drop=_class_mask_duplicate)
    )


def export_segmentation(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dataset = dm_bridge.to_dataset(
        source, save_images, dm_bridge.ExportOptions(tracks=False, regions_as_masks=True)
    )
    dataset = Dataset.from_extractors(MergeInstanceSegments(dataset))
    dm_bridge.export_with(
        VocSegmentationExporter,
        dataset,
        out_dir,
        save_images,
        apply_colormap=True,
        label_map=label_colors(source.labels),
    )


def import_segmentation(path: Path, target: ExportSource) -> CvatAnnotations:
    _check_layout(path, ("SegmentationClass", "SegmentationObject"))
    dataset = dm_bridge.import_with(
        path, VocInstanceSegmentationImporter, VocInstanceSegmentationBase
    )
    return dm_bridge.from_dataset(
        dataset,
        target,
        dm_bridge.ImportOptions(file=path.name, tracks=False, drop=_class_mask_duplicate),
    )


register(
    FormatInfo(
        name="PASCAL VOC",
        ext="ZIP",
        version="1.1",
        dimension="2d",
        importer=import_voc,
        exporter=export_voc,
    )
)
register(
    FormatInfo(
        name="Segmentation mask",
        ext="ZIP",
        version="1.1",
        dimension="2d",
        importer=import_segmentation,
        exporter=export_segmentation,
    )
)
