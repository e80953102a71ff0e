"""The datumaro-backed formats: importing this registers them (see registry.FORMAT_MODULES)."""

from __future__ import annotations

import backend.formats.coco  # noqa: F401
