"""CVAT's conv_mask_to_poly (on by default for imports): imported masks become polygons,
one per connected region, traced as CVAT traces them (datumaro's mask_to_polygons)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from datumaro.util import mask_tools

from backend.domain.annotations import CvatAnnotations
from backend.domain.objects import LabeledShape
from backend.formats.cancel import checkpoint
from backend.formats.dm_bridge import cvat_rle_to_mask
from backend.formats.model import FrameSpec


def masks_to_polygons(data: CvatAnnotations, frames: Mapping[int, FrameSpec]) -> CvatAnnotations:
    """Every mask shape replaced by the polygons of its regions (same label, attributes,
    group, z order); a mask with no region of at least one pixel area is dropped."""
    if not any(shape.type == "mask" for shape in data.shapes):
        return data
    shapes: list[LabeledShape] = []
    for shape in data.shapes:
        checkpoint()
        frame = frames.get(shape.frame)
        if shape.type != "mask" or frame is None:
            shapes.append(shape)
            continue
        mask = cvat_rle_to_mask(shape.points, frame.width, frame.height)
        for polygon in mask_tools.mask_to_polygons(mask):
            if len(polygon) >= 6:
                shapes.append(
                    msgspec.structs.replace(
                        shape, id=None, type="polygon", points=[float(v) for v in polygon]
                    )
                )
    return msgspec.structs.replace(data, shapes=shapes)
