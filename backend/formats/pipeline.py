"""The file side of export and import requests, run in a worker thread: call an exporter
into a scratch directory and zip it (streamed to disk), or unpack an upload safely and call
an importer. No database here (workers/formats_jobs.py does the requests and events)."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

from backend.formats.cancel import checkpoint
from backend.formats.model import Exporter, ExportSource, FormatError
from backend.media import archive
from backend.media.images import MediaError

# Already-compressed members are stored, the rest deflated.
_STORED_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".zip", ".gz", ".mp4", ".tfrecord"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. ]+")


# An export's archive stays downloadable (and reusable) this long (CVAT keeps exports about
# a day too); every new export removes the ones past it.
EXPORT_TTL_S = 24 * 3600


def exports_dir(data_dir: str | Path, rq_id: str) -> Path:
    """Where an export request's archive lives until it is removed."""
    return Path(data_dir) / "data" / "exports" / rq_id


def sweep_older(folder: Path, ttl_s: float) -> int:
    """Remove the entries of `folder` last modified more than `ttl_s` ago; how many."""
    if not folder.is_dir():
        return 0
    deadline = time.time() - ttl_s
    removed = 0
    for entry in folder.iterdir():
        try:
            if entry.stat().st_mtime >= deadline:
                continue
        except FileNotFoundError:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def remove_expired_exports(data_dir: str | Path) -> int:
    return sweep_older(exports_dir(data_dir, "x").parent, EXPORT_TTL_S)


def archive_name(
    kind: str, identifier: str | int, format_name: str, save_images: bool,
    when: datetime.datetime,
) -> str:  # fmt: skip
    """CVAT's name: <project|task|job>_<name|id>_<annotations|dataset>_<timestamp>_<format>.zip,
    lower case, with only the characters cvat-sdk accepts from Content-Disposition."""
    stamp = when.strftime("%Y_%m_%d_%H_%M_%S")
    what = "dataset" if save_images else "annotations"
    return safe_file_name(f"{kind}_{identifier}_{what}_{stamp}_{format_name}".lower() + ".zip")


def safe_object_key(name: str) -> str:
    """A bucket key from a client's path: folders kept, each part limited to safe
    characters; ValueError for parts that would climb ('..') or are empty."""
    parts = name.replace("\\", "/").lstrip("/").split("/")
    if any(part in ("", ".", "..") or "\x00" in part for part in parts):
        raise ValueError(f"{name!r} is not a usable object name")
    clean = [_UNSAFE.sub("_", part) for part in parts]
    clean[-1] = safe_file_name(clean[-1])
    return "/".join(clean)


def safe_file_name(name: str) -> str:
    """Only the characters cvat-sdk accepts from Content-Disposition ([A-Za-z0-9_-. ]),
    not starting with a dot, with an extension."""
    clean = _UNSAFE.sub("_", name).lstrip(".")[:200] or "export"
    return clean if "." in clean.strip(".") else clean + ".zip"


def run_exporter(exporter: Exporter, source: ExportSource, out: Path, save_images: bool) -> None:
    """Export one source (a job or a task) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    exporter(source, out, save_images)


def link_export(source: Path, target: Path) -> bool:
    """An earlier export's archive under a new request's name (a hard link, else a copy);
    False when the earlier archive is gone."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    except FileNotFoundError:
        shutil.rmtree(target.parent, ignore_errors=True)
        return False
    return True


def zip_directory(directory: Path, target: Path) -> None:
    """Zip a directory tree file by file (never the whole archive in memory)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for path in sorted(directory.rglob("*")):
            if not path.is_file():
                continue
            checkpoint()
            stored = path.suffix.lower() in _STORED_SUFFIXES
            zf.write(
                path,
                path.relative_to(directory).as_posix(),
                compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
            )
    partial.replace(target)


def unpack_upload(upload: Path, filename: str, dest: Path, limits: archive.ArchiveLimits) -> Path:
    """What an importer reads: the directory an uploaded zip (or tar) unpacks to, or the
    uploaded file itself (an .xml, a .json) under its own name. Archives are unpacked with
    the media pipeline's checks (no traversal, links or bombs): FormatError naming the
    archive and member otherwise."""
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(upload) or archive.is_tar(upload):
        try:
            archive.extract_tree(upload, filename, dest / "unpacked", limits)
        except MediaError as exc:
            raise FormatError(str(exc)) from None
        return dest / "unpacked"
    single = dest / "file" / filename
    single.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(upload, single)
    return single


# Directories whose images are annotations (masks, instance maps), not frames: VOC,
# Segmentation mask, Cityscapes, CamVid (<subset>annot), MOTS, KITTI and friends.
_MASK_DIRS = {
    "segmentationclass", "segmentationobject", "segmentationclassaug", "masks", "mask",
    "instances", "gtfine", "label_2", "semantic", "instance", "semantic_rgb",
}  # fmt: skip
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"}


def _is_mask_dir(part: str) -> bool:
    lower = part.lower()
    return lower in _MASK_DIRS or lower.endswith("annot")


def dataset_frames(root: Path) -> list[tuple[str, Path]]:
    """The frame images of an unpacked dataset, as (frame name, file) in name order: every
    image outside mask directories, named by its file name when those are unique, else by
    its path inside the dataset (importers match items by path suffix or base name)."""
    found = [
        path
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and path.suffix.lower() in _IMAGE_SUFFIXES
        and not any(_is_mask_dir(p) for p in path.relative_to(root).parts[:-1])
    ]
    if not found:
        raise FormatError("the dataset holds no images (a dataset import needs them)")
    bases = [p.name for p in found]
    unique = len(set(bases)) == len(bases)
    return sorted((p.name if unique else p.relative_to(root).as_posix(), p) for p in found)
