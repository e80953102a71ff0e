"""Face and person datasets through datumaro, as CVAT exports them: WiderFace 1.0 (boxes
with WIDER's attributes, a label per image), VGGFace2 1.0 (boxes and five-point
landmarks, `bb_landmark/loose_*.csv`), LFW 1.0 (landmark points and the pairs lists)."""

from __future__ import annotations

import os
from pathlib import Path

from datumaro.components.annotation import Annotation, AnnotationType
from datumaro.components.dataset_base import DatasetItem
from datumaro.plugins.data_formats.lfw import LfwBase, LfwExporter, LfwImporter
from datumaro.plugins.data_formats.vgg_face2 import (
    VggFace2Base,
    VggFace2Exporter,
    VggFace2Importer,
)
from datumaro.plugins.data_formats.widerface import (
    WiderFaceBase,
    WiderFaceExporter,
    WiderFaceImporter,
)

from backend.formats import dm_bridge
from backend.formats.model import CvatAnnotations, ExportSource, FormatError, FrameSpec
from backend.formats.registry import FormatInfo, register

_NO_TRACKS = dm_bridge.ExportOptions(tracks=False)
_SHAPES = dm_bridge.ImportOptions(tracks=False)

export_wider, import_wider = dm_bridge.plain_format(
    "WiderFace", "1.0", WiderFaceExporter, WiderFaceImporter, [WiderFaceBase],
    required="wider_face_split/*.txt", export_options=_NO_TRACKS, import_options=_SHAPES,
)  # fmt: skip
# VGGFace2 names an image's identity by its boxes' and landmarks' label (the directory
# in NAME_ID); a tag would be written as a second row the reader refuses
export_vgg, import_vgg = dm_bridge.plain_format(
    "VGGFace2", "1.0", VggFace2Exporter, VggFace2Importer, [VggFace2Base],
    required="bb_landmark/*.csv",
    export_options=dm_bridge.ExportOptions(tracks=False, tags=False),
    import_options=_SHAPES,
)  # fmt: skip


def _landmarks_of_the_person(item: DatasetItem) -> list[Annotation]:
    """LFW keeps landmarks per image, without a label: they belong to the image's
    person (datumaro 1.13 labels them with whatever label it read last)."""
    person = next((a.label for a in item.annotations if a.type == AnnotationType.label), None)
    return [
        a.wrap(label=person) if a.type == AnnotationType.points else a for a in item.annotations
    ]


def _image_name(index: int, frame: FrameSpec) -> str:
    """LFW names an image `<person>/<name>`: datumaro 1.13 cannot read deeper names back,
    so images go by their file name (export_lfw checks they are unique)."""
    return os.path.splitext(os.path.basename(frame.name))[0]


_export_lfw, _import_lfw = dm_bridge.plain_format(
    "LFW", "1.0", LfwExporter, LfwImporter, [LfwBase],
    required="annotations/pairs.txt",
    export_options=dm_bridge.ExportOptions(tracks=False, item_id=_image_name),
    import_options=dm_bridge.ImportOptions(tracks=False, rewrite=_landmarks_of_the_person),
)  # fmt: skip


def export_lfw(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    """LFW is a dataset of people: an image with landmarks needs a person (a tag)."""
    tagged = {tag.frame for tag in source.annotations.tags}
    for shape in source.annotations.shapes:
        if shape.type == "points" and shape.frame not in tagged:
            name = next((f.name for f in source.frames if f.number == shape.frame), shape.frame)
            raise FormatError(f"LFW: frame {name} has landmarks but no tag naming its person")
    names = [_image_name(0, frame) for frame in source.frames]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})[0]
        raise FormatError(f"LFW: two frames are named {twice!r} (LFW names images by file name)")
    _export_lfw(source, out_dir, save_images)


def import_lfw(path: Path, target: ExportSource) -> CvatAnnotations:
    try:
        return _import_lfw(path, target)
    except FormatError as error:
        if "local variable" in str(error):  # datumaro 1.13 on landmarks without a person
            raise FormatError(
                f"{path.name}: annotations/landmarks.txt: an image has landmarks but no "
                "person (expected <person>/<image> names)"
            ) from error
        raise


for name, export, import_ in (
    ("WiderFace", export_wider, import_wider),
    ("VGGFace2", export_vgg, import_vgg),
    ("LFW", export_lfw, import_lfw),
):
    register(
        FormatInfo(
            name=name, ext="ZIP", version="1.0", dimension="2d", importer=import_, exporter=export
        )
    )
