"""LabelMe 3.0 through datumaro: one XML per image with polygons, boxes and masks, their
attributes and `occluded` (as CVAT)."""

from __future__ import annotations

from datumaro.plugins.data_formats.labelme import LabelMeBase, LabelMeExporter, LabelMeImporter

from backend.formats import dm_bridge
from backend.formats.registry import FormatInfo, register

export_labelme, import_labelme = dm_bridge.plain_format(
    "LabelMe", "3.0", LabelMeExporter, LabelMeImporter, [LabelMeBase],
    required="*.xml",
    export_options=dm_bridge.ExportOptions(tracks=False, ellipse_as="polygon"),
    import_options=dm_bridge.ImportOptions(tracks=False),
)  # fmt: skip

register(
    FormatInfo(
        name="LabelMe", ext="ZIP", version="3.0", dimension="2d",
        importer=import_labelme, exporter=export_labelme,
    )
)  # fmt: skip
