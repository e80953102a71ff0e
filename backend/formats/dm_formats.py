"""The datumaro-backed formats: importing this registers them (see registry.FORMAT_MODULES)."""

from __future__ import annotations

import backend.formats.classification
import backend.formats.coco
import backend.formats.datumaro_format
import backend.formats.faces
import backend.formats.labelme
import backend.formats.mot
import backend.formats.segmentation
import backend.formats.text_and_reid
import backend.formats.voc
import backend.formats.yolo  # noqa: F401
