"""Which formats exist, under CVAT's display names, and which of them work here.

`CATALOG` is every format the server knows of (the issue's list, CVAT's names, extensions
and versions); a format module makes one usable by calling `register(FormatInfo(...))` at
import. `FORMATS` holds only registered formats. The listing endpoint shows the catalog,
with `enabled=False` for a side (import or export) nobody registered.

Format modules are imported at the bottom of this file, each guarded, so that a missing
optional dependency (TensorFlow for TFRecord, ...) disables only that format.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

from backend.formats.model import Exporter, Importer

__all__ = [
    "CATALOG",
    "FORMATS",
    "FormatInfo",
    "FormatNotFound",
    "FormatSide",
    "exporter_for",
    "importer_for",
    "listing",
    "register",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FormatInfo:
    """One format under its display name ("CVAT for images 1.1" = name + " " + version).

    `ext` is what the exporter writes (CVAT: "ZIP"); `import_ext` what the importer takes
    when it differs (CVAT: "XML, ZIP" for CVAT XML, "JSON, ZIP" for COCO)."""

    name: str
    ext: str
    version: str
    dimension: str  # "2d" or "3d"
    importer: Importer | None
    exporter: Exporter | None
    enabled: bool = True
    import_ext: str | None = None

    @property
    def display_name(self) -> str:
        return f"{self.name} {self.version}"


class FormatNotFound(LookupError):
    """A format name that is unknown, or known but not usable in that direction."""


FORMATS: dict[str, FormatInfo] = {}


def register(info: FormatInfo) -> None:
    """Make a format usable; a second registration under one name replaces the first (a
    module may register import and export separately by registering the merged info)."""
    FORMATS[info.display_name] = info


def unregister(display_name: str) -> None:
    """For tests that register a format of their own."""
    FORMATS.pop(display_name, None)


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    version: str
    ext: str = "ZIP"
    import_ext: str = "ZIP"
    dimension: str = "2d"
    sides: tuple[str, ...] = ("import", "export")  # which lists CVAT shows it in

    @property
    def display_name(self) -> str:
        return f"{self.name} {self.version}"


# The formats, spelled as CVAT lists them (cvat/apps/dataset_manager/formats/*.py).
CATALOG: tuple[CatalogEntry, ...] = (
    # CVAT imports both XML flavours as "CVAT 1.1" and exports them under two names.
    CatalogEntry("CVAT", "1.1", import_ext="XML, ZIP", sides=("import",)),
    CatalogEntry("CVAT for video", "1.1", sides=("export",)),
    CatalogEntry("CVAT for images", "1.1", sides=("export",)),
    CatalogEntry("Datumaro", "1.0"),
    CatalogEntry("Datumaro 3D", "1.0", dimension="3d"),
    CatalogEntry("COCO", "1.0", import_ext="JSON, ZIP"),
    CatalogEntry("COCO Keypoints", "1.0", import_ext="JSON, ZIP"),
    CatalogEntry("PASCAL VOC", "1.1"),
    CatalogEntry("Segmentation mask", "1.1"),
    CatalogEntry("YOLO", "1.1"),
    CatalogEntry("MOT", "1.1"),
    CatalogEntry("MOTS PNG", "1.0"),
    CatalogEntry("LabelMe", "3.0"),
    CatalogEntry("ImageNet", "1.0"),
    CatalogEntry("WiderFace", "1.0"),
    CatalogEntry("CamVid", "1.0"),
    CatalogEntry("VGGFace2", "1.0"),
    CatalogEntry("Market-1501", "1.0"),
    CatalogEntry("ICDAR Recognition", "1.0"),
    CatalogEntry("ICDAR Localization", "1.0"),
    CatalogEntry("ICDAR Segmentation", "1.0"),
    CatalogEntry("Open Images V6", "1.0"),
    CatalogEntry("Cityscapes", "1.0"),
    CatalogEntry("KITTI", "1.0"),
    CatalogEntry("LFW", "1.0"),
    CatalogEntry("TFRecord", "1.0"),
)

FormatSide = dict[str, object]  # one entry of the listing, CVAT's DatasetFormatSerializer


def listing() -> dict[str, list[FormatSide]]:
    """GET /api/server/annotation/formats: the catalog, plus any registered format that the
    catalog does not name (a test's), each side enabled only when implemented."""
    lists: dict[str, list[FormatSide]] = {"importers": [], "exporters": []}
    catalog_names = {entry.display_name for entry in CATALOG}
    entries = list(CATALOG) + [
        CatalogEntry(
            info.name,
            info.version,
            info.ext,
            info.import_ext or info.ext,
            info.dimension,
            tuple(side for side in ("import", "export") if getattr(info, f"{side}er")),
        )
        for name, info in FORMATS.items()
        if name not in catalog_names
    ]
    for entry in entries:
        info = FORMATS.get(entry.display_name)
        for side in entry.sides:
            if side == "import":
                ext = (info.import_ext or info.ext) if info else entry.import_ext
            else:
                ext = info.ext if info else entry.ext
            lists[f"{side}ers"].append(
                {
                    "name": entry.display_name,
                    "ext": ext,
                    "version": entry.version,
                    "enabled": bool(info and info.enabled and getattr(info, f"{side}er")),
                    "dimension": entry.dimension,
                }
            )
    return lists


def _usable(display_name: str, side: str) -> FormatInfo:
    info = FORMATS.get(display_name)
    if info is None or not info.enabled or getattr(info, side) is None:
        known = any(entry.display_name == display_name for entry in CATALOG) or info
        usable = sorted(n for n, i in FORMATS.items() if i.enabled and getattr(i, side))
        what = "is not available for" if known else "is not a known format for"
        raise FormatNotFound(
            f"format {display_name!r} {what} {side[:-2]}ing; "
            f"available: {', '.join(repr(n) for n in usable) or 'none'}"
        )
    return info


def exporter_for(display_name: str) -> FormatInfo:
    """The registered format with an exporter, or FormatNotFound saying which ones exist."""
    return _usable(display_name, "exporter")


def importer_for(display_name: str) -> FormatInfo:
    """The registered format with an importer, or FormatNotFound saying which ones exist."""
    return _usable(display_name, "importer")


# Format modules, imported for their register() calls (a format helper adds its module
# here). A module not written yet, or one whose optional dependency is missing, leaves its
# formats listed as disabled.
FORMAT_MODULES: tuple[str, ...] = (
    "backend.formats.cvat_xml",
    "backend.formats.dm_formats",
)


def _load_format_modules() -> None:
    for module in FORMAT_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            if isinstance(exc, ModuleNotFoundError) and exc.name == module:
                continue  # not written (yet)
            log.warning("format module %s disabled: %s", module, exc)


_load_format_modules()
