"""Datumaro 1.0: datumaro's own JSON (`annotations/default.json`), the format that keeps
the most: every shape kind (ellipses included), attributes, groups, z-order, tags,
skeletons (as points with their point names), and tracks through track_id/keyframe.
"""

from __future__ import annotations

from pathlib import Path

from datumaro.plugins.data_formats.datumaro.base import DatumaroBase
from datumaro.plugins.data_formats.datumaro.exporter import DatumaroExporter
from datumaro.plugins.data_formats.datumaro.importer import DatumaroImporter

from backend.formats import dm_bridge
from backend.formats.model import CvatAnnotations, ExportSource, FormatError
from backend.formats.registry import FormatInfo, register


def export_datumaro(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    dataset = dm_bridge.to_dataset(source, save_images)
    dm_bridge.export_with(DatumaroExporter, dataset, out_dir, save_images)


def import_datumaro(path: Path, target: ExportSource) -> CvatAnnotations:
    if path.is_file() and path.suffix.lower() != ".json":
        raise FormatError(f"{path.name}: not a Datumaro file (expected .json or a zip)")
    if path.is_dir() and not list(path.rglob("annotations/*.json")):
        raise FormatError(f"{path.name}: not a Datumaro dataset (expected annotations/*.json)")
    dataset = dm_bridge.import_with(path, DatumaroImporter, DatumaroBase)
    return dm_bridge.from_dataset(dataset, target, dm_bridge.ImportOptions(file=path.name))


register(
    FormatInfo(
        name="Datumaro",
        ext="ZIP",
        version="1.0",
        dimension="2d",
        importer=import_datumaro,
        exporter=export_datumaro,
    )
)
