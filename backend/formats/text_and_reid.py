"""ICDAR Recognition / Localization / Segmentation 1.0 and Market-1501 1.0 through
datumaro, with CVAT's conventions for what datumaro keeps outside labels:

- ICDAR: the task has a label `icdar` with a text attribute `text`. Recognition: a tag's
  `text` is the image's transcription (a caption); Localization: boxes and polygons with
  their `text`; Segmentation: regions painted as masks with `text` (and `index`, `color`,
  `center` when the label has them). Imported annotations all get the `icdar` label.
- Market-1501: the task has a label `market-1501` with attributes `person_id`,
  `camera_id` and `query`; a tag of it on a frame names the image
  (`<person>_c<camera>s1_<frame>_00.jpg`, `query/` when `query` is true). The import
  matches images to frames by those names, so a round trip needs frames named that way
  (as Market-1501's own images are).
"""

from __future__ import annotations

from datumaro.components.annotation import Annotation, AnnotationType, Caption, Label
from datumaro.components.dataset_base import DatasetItem
from datumaro.plugins.data_formats.icdar.base import (
    IcdarTextLocalizationBase,
    IcdarTextLocalizationImporter,
    IcdarTextSegmentationBase,
    IcdarTextSegmentationImporter,
    IcdarWordRecognitionBase,
    IcdarWordRecognitionImporter,
)
from datumaro.plugins.data_formats.icdar.exporter import (
    IcdarTextLocalizationExporter,
    IcdarTextSegmentationExporter,
    IcdarWordRecognitionExporter,
)
from datumaro.plugins.data_formats.market1501 import (
    Market1501Base,
    Market1501Exporter,
    Market1501Importer,
)

from backend.formats import dm_bridge
from backend.formats.registry import FormatInfo, register

ICDAR_LABEL = "icdar"
MARKET_LABEL = "market-1501"


def _tags_to_captions(item: DatasetItem) -> DatasetItem:
    annotations: list[Annotation] = []
    for ann in item.annotations:
        if ann.type == AnnotationType.label and "text" in ann.attributes:
            annotations.append(Caption(str(ann.attributes["text"])))
    return item.wrap(annotations=annotations)


def _captions_to_tags(item: DatasetItem) -> list[Annotation]:
    return [
        Label(dm_bridge.NO_LABEL, attributes={"text": ann.caption})
        for ann in item.annotations
        if ann.type == AnnotationType.caption
    ]


def _unlabelled(item: DatasetItem) -> list[Annotation]:
    """ICDAR files have no labels: everything is `icdar`."""
    return [ann.wrap(label=None) for ann in item.annotations if hasattr(ann, "label")]


def _indexed(item: DatasetItem) -> DatasetItem:
    """ICDAR segmentation numbers an image's regions (`index`, the order of the colours
    in the picture); a label without that attribute gets them in shape order."""
    annotations = []
    position = 0
    for ann in item.annotations:
        if ann.type == AnnotationType.mask:
            index = ann.attributes.get("index")
            attributes = dict(ann.attributes)
            attributes["index"] = int(index) if isinstance(index, int | float) else position
            ann = ann.wrap(attributes=attributes)
            position += 1
        annotations.append(ann)
    return item.wrap(annotations=annotations)


_SHAPES = dm_bridge.ImportOptions(tracks=False, default_label=ICDAR_LABEL, rewrite=_unlabelled)

export_recognition, import_recognition = dm_bridge.plain_format(
    "ICDAR Recognition", "1.0", IcdarWordRecognitionExporter, IcdarWordRecognitionImporter,
    [IcdarWordRecognitionBase], required="gt.txt",
    export_options=dm_bridge.ExportOptions(tracks=False), rewrite_items=_tags_to_captions,
    import_options=dm_bridge.ImportOptions(
        tracks=False, default_label=ICDAR_LABEL, rewrite=_captions_to_tags
    ),
)  # fmt: skip
export_localization, import_localization = dm_bridge.plain_format(
    "ICDAR Localization", "1.0", IcdarTextLocalizationExporter, IcdarTextLocalizationImporter,
    [IcdarTextLocalizationBase], required="gt_*.txt",
    export_options=dm_bridge.ExportOptions(tracks=False, tags=False, ellipse_as="polygon"),
    import_options=_SHAPES,
)  # fmt: skip
export_segmentation, import_segmentation = dm_bridge.plain_format(
    "ICDAR Segmentation", "1.0", IcdarTextSegmentationExporter, IcdarTextSegmentationImporter,
    [IcdarTextSegmentationBase], required="*_GT.txt",
    export_options=dm_bridge.ExportOptions(tracks=False, tags=False, regions_as_masks=True),
    import_options=_SHAPES, rewrite_items=_indexed,
)  # fmt: skip


def _tag_to_item_attributes(item: DatasetItem) -> DatasetItem:
    """Market-1501 keeps person, camera and query in the image's name, which datumaro
    builds from the item's attributes."""
    attributes = dict(item.attributes)
    for ann in item.annotations:
        if ann.type == AnnotationType.label and "person_id" in ann.attributes:
            attributes.update(ann.attributes)
            break
    return item.wrap(annotations=[], attributes=attributes)


def _item_attributes_to_tag(item: DatasetItem) -> list[Annotation]:
    keys = ("person_id", "camera_id", "query")
    values = {k: item.attributes[k] for k in keys if k in item.attributes}
    # read from the images list, datumaro files every image under the list's subset: a
    # query image is known by its directory
    path = getattr(item.media, "path", "") or ""
    if values and "query/" in path.replace("\\", "/"):
        values["query"] = True
    return [Label(dm_bridge.NO_LABEL, attributes=values)] if values else []


export_market, import_market = dm_bridge.plain_format(
    "Market-1501", "1.0", Market1501Exporter, Market1501Importer, [Market1501Base],
    required="images_*.txt",
    export_options=dm_bridge.ExportOptions(tracks=False), rewrite_items=_tag_to_item_attributes,
    import_options=dm_bridge.ImportOptions(
        tracks=False, default_label=MARKET_LABEL, rewrite=_item_attributes_to_tag
    ),
)  # fmt: skip

for name, export, import_ in (
    ("ICDAR Recognition", export_recognition, import_recognition),
    ("ICDAR Localization", export_localization, import_localization),
    ("ICDAR Segmentation", export_segmentation, import_segmentation),
    ("Market-1501", export_market, import_market),
):
    register(
        FormatInfo(
            name=name, ext="ZIP", version="1.0", dimension="2d", importer=import_, exporter=export
        )
    )
