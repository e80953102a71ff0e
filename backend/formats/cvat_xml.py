"""CVAT for images 1.1 and CVAT for video 1.1: the formats as the registry sees them.

Both export to a directory the pipeline zips: annotations.xml, and images/ with the
frames' original files when images are asked for (CVAT's layout). Both import with the
same reader (CVAT's single "CVAT 1.1" importer reads either layout); it is also
registered under CVAT's importer name "CVAT 1.1", which is what cvat-sdk and the UI send.

What `ExportSource.meta` may carry for <meta> (all optional): created, updated, dumped,
overlap, bugtracker, subset, start_frame / frame_filter or frame_step (the data's frame
numbering), stop_frame, size, segments (dicts with id, start, stop, url), owner and
assignee (dicts with username, email), source (the video file name: marks a video task,
which adds original_size) and original_size ({width, height} or (width, height)); a
segment without url gets CVAT's /api/jobs/{id} path (the host is not known here).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from backend.formats.cancel import checkpoint
from backend.formats.cvat_xml_export import image_name, write_images_xml, write_video_xml
from backend.formats.cvat_xml_import import import_cvat_xml
from backend.formats.cvat_xml_project import (
    ProjectInfo,
    save_project_images,
    write_project_images_xml,
    write_project_video_xml,
)
from backend.formats.model import ExportSource
from backend.formats.registry import FormatInfo, register

__all__ = [
    "PROJECT_EXPORTERS",
    "ProjectExporter",
    "ProjectInfo",
    "export_images",
    "export_project_images",
    "export_project_video",
    "export_video",
    "import_cvat_xml",
]

ANNOTATIONS_FILE = "annotations.xml"
IMAGES_DIR = "images"
_BUFFER = 1 << 20


def _save_images(source: ExportSource, out_dir: Path) -> None:
    if source.image_path is None:
        return
    root = out_dir / IMAGES_DIR
    for frame in source.frames:
        checkpoint()
        original = source.image_path(frame.number)
        target = root / image_name(frame.name, original)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, target)


def export_images(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    with (out_dir / ANNOTATIONS_FILE).open("w", encoding="utf-8", buffering=_BUFFER) as f:
        write_images_xml(source, f)
    if save_images:
        _save_images(source, out_dir)


def export_video(source: ExportSource, out_dir: Path, save_images: bool) -> None:
    with (out_dir / ANNOTATIONS_FILE).open("w", encoding="utf-8", buffering=_BUFFER) as f:
        write_video_xml(source, f)
    if save_images:
        _save_images(source, out_dir)


def export_project_images(
    project: ProjectInfo, sources: Sequence[ExportSource], out_dir: Path, save_images: bool
) -> None:
    with (out_dir / ANNOTATIONS_FILE).open("w", encoding="utf-8", buffering=_BUFFER) as f:
        write_project_images_xml(project, sources, f)
    if save_images:
        save_project_images(sources, out_dir)


def export_project_video(
    project: ProjectInfo, sources: Sequence[ExportSource], out_dir: Path, save_images: bool
) -> None:
    with (out_dir / ANNOTATIONS_FILE).open("w", encoding="utf-8", buffering=_BUFFER) as f:
        write_project_video_xml(project, sources, f)
    if save_images:
        save_project_images(sources, out_dir)


# A project in CVAT XML is one annotations.xml over all its tasks (CVAT's ProjectData), not
# a file per task: the pipeline calls these for a project export in these formats.
ProjectExporter = Callable[[ProjectInfo, Sequence[ExportSource], Path, bool], None]
PROJECT_EXPORTERS: dict[str, ProjectExporter] = {
    "CVAT for images 1.1": export_project_images,
    "CVAT for video 1.1": export_project_video,
}

register(
    FormatInfo(
        name="CVAT for images",
        ext="ZIP",
        version="1.1",
        dimension="2d",
        importer=import_cvat_xml,
        exporter=export_images,
        import_ext="XML, ZIP",
    )
)
register(
    FormatInfo(
        name="CVAT for video",
        ext="ZIP",
        version="1.1",
        dimension="2d",
        importer=import_cvat_xml,
        exporter=export_video,
        import_ext="XML, ZIP",
    )
)
register(
    FormatInfo(
        name="CVAT",
        ext="XML, ZIP",
        version="1.1",
        dimension="2d",
        importer=import_cvat_xml,
        exporter=None,
        import_ext="XML, ZIP",
    )
)
