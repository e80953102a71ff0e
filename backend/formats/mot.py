"""MOT 1.1 and MOTS PNG 1.0: tracking formats, through datumaro's MOT plugins.

MOT (as CVAT: datumaro's `mot_seq_gt`): `gt/gt.txt` rows of frame (1-based, the index
among the exported frames), track id, box, confidence, class and visibility (0 for an
occluded box), labels in `gt/labels.txt`. Only boxes; a track's boxes keep their track id
and come back as a track whose every box is a keyframe (gaps become outside keyframes),
boxes outside tracks come back as shapes.

MOTS PNG (as CVAT: `mots_png`): per frame a 16-bit PNG of instances (class * 1000 +
track id); only tracks are written, polygons and boxes painted as masks. The import
rebuilds mask tracks.
"""

from __future__ import annotations

from pathlib import Path

from datumaro.components.dataset_base import DatasetItem
from datumaro.plugins.data_formats.mot import MotSeqBase, MotSeqGtExporter, MotSeqImporter
from datumaro.plugins.data_formats.mots import MotsImporter, MotsPngExporter, MotsPngExtractor

from backend.formats import dm_bridge
from backend.formats.model import (
    CvatAnnotations,
    ExportSource,
    FormatError,
    FrameSpec,
)
from backend.formats.registry import FormatInfo, register


def _mot_item_id(index: int, frame: FrameSpec) -> str:
    return str(index + 1)


def export_mot(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dataset = dm_bridge.to_dataset(
        source, save_images, dm_bridge.ExportOptions(item_id=_mot_item_id)
    )
    dm_bridge.export_with(MotSeqGtExporter, dataset, out_dir, save_images)


def _mot_frame(item: DatasetItem, target: ExportSource) -> int | None:
    try:
        index = int(item.id) - 1
    except ValueError:
        return None
    return target.frames[index].number if 0 <= index < len(target.frames) else None


def import_mot(path: Path, target: ExportSource) -> CvatAnnotations:
    if not path.is_dir() or not list(path.rglob("gt/gt.txt")):
        raise FormatError(f"{path.name}: not a MOT sequence (expected gt/gt.txt)")
    dataset = dm_bridge.import_with(path, MotSeqImporter, MotSeqBase)
    return dm_bridge.from_dataset(
        dataset,
        target,
        dm_bridge.ImportOptions(file=path.name, all_keyframes=True, frame_of=_mot_frame),
    )


def _tracks_only(source: ExportSource) -> ExportSource:
    from dataclasses import replace

    annotations = CvatAnnotations(
        version=source.annotations.version, tags=[], shapes=[], tracks=source.annotations.tracks
    )
    return replace(source, annotations=annotations)


def export_mots(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dataset = dm_bridge.to_dataset(
        _tracks_only(source), save_images, dm_bridge.ExportOptions(regions_as_masks=True)
    )
    dm_bridge.export_with(MotsPngExporter, dataset, out_dir, save_images)


def import_mots(path: Path, target: ExportSource) -> CvatAnnotations:
    if not path.is_dir() or not list(path.rglob("instances")):
        raise FormatError(f"{path.name}: not a MOTS PNG dataset (expected instances/)")
    dataset = dm_bridge.import_with(path, MotsImporter, MotsPngExtractor)
    return dm_bridge.from_dataset(
        dataset, target, dm_bridge.ImportOptions(file=path.name, all_keyframes=True)
    )


register(
    FormatInfo(
        name="MOT", ext="ZIP", version="1.1", dimension="2d",
        importer=import_mot, exporter=export_mot,
    )
)  # fmt: skip
register(
    FormatInfo(
        name="MOTS PNG", ext="ZIP", version="1.0", dimension="2d",
        importer=import_mots, exporter=export_mots,
    )
)  # fmt: skip
