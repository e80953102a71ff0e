"""The contracts every format module codes against.

Change from the plan (/tmp/h/formats.md): `AttributeSpec` and `LabelSpec` are the domain's
own (backend.domain.labels), re-exported here, instead of a second pair of dataclasses: they
have exactly the planned fields (keyword-only; msgspec structs, so copy with
`msgspec.structs.replace`, not `dataclasses.replace`). One type means no conversion between
the label read model and the formats.

Frame numbers are always task frame numbers; label ids are ours (the task's or its
project's). An importer maps names in a file to these ids and raises `FormatError` for
anything it cannot place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.domain.annotations import CvatAnnotations
from backend.domain.labels import AttributeSpec, LabelSpec

if TYPE_CHECKING:
    from backend.formats.import_context import ImportContext

__all__ = [
    "AttributeSpec",
    "CvatAnnotations",
    "ExportSource",
    "Exporter",
    "FormatError",
    "FrameSpec",
    "Importer",
    "LabelSpec",
]


@dataclass(frozen=True)
class FrameSpec:
    """One frame of the task: its task frame number, file name (as CVAT names it in
    exports: the uploaded path for images, `frame_000123` style for video) and size. A
    project export numbers the frames of all its tasks one after the other."""

    number: int
    name: str
    width: int
    height: int
    # the dataset subset of the frame's item: set in a project export (its task's subset,
    # CVAT's ProjectData), None for a task or job (datumaro's "default")
    subset: str | None = None


@dataclass(frozen=True)
class ExportSource:
    """What an exporter reads, and what an importer maps onto: one task, or one job of it
    (`job_id` set; `frames` and `annotations` then limited to the job's frames)."""

    task_id: int
    task_name: str
    job_id: int | None
    mode: str  # "annotation" (images) or "interpolation" (video)
    dimension: str  # "2d" or "3d"
    frames: list[FrameSpec]
    labels: list[LabelSpec]
    annotations: CvatAnnotations  # task frame numbers, our label ids
    # what CVAT XML <meta> needs: created/updated dates, owner, segments, ...
    meta: dict[str, Any] = field(default_factory=dict)
    # the original image file of a task frame (for save_images); None when not available
    image_path: Callable[[int], Path] | None = None
    # an import's label map, problem report and subset sink (import_context.py); an
    # importer called without one refuses a file with any problem
    importing: ImportContext | None = None
    # "project" for a project dataset import (frames: the dataset's images, labels: the
    # project's), so that messages name the project
    scope: str = "task"

    @property
    def whole(self) -> str:
        """What messages call the target: "job", "task" or "project"."""
        return "job" if self.job_id is not None else self.scope


class FormatError(ValueError):
    """A bad file: the message says what and where (file, line or element)."""


# (source, out_dir, save_images): writes the dataset's files into out_dir; the pipeline zips it.
Exporter = Callable[[ExportSource, Path, bool], None]

# (unpacked upload directory, or the uploaded file itself when it is not an archive; the
# target's labels and frames) -> annotations with our label ids and task frame numbers.
# Raises FormatError for bad input (unknown label names, frames out of range, broken XML/JSON).
Importer = Callable[[Path, ExportSource], CvatAnnotations]
