"""Where a task's media lives on disk and how the served data set is recorded.

    tasks/{id}/data/meta.json                    StoredData (written last when building)
    tasks/{id}/data/frames/original/NNNNNN.ext   the uploaded bytes, untouched
    tasks/{id}/data/frames/compressed/NNNNNN.jpeg
    tasks/{id}/data/chunks/{quality}/N.zip       task chunks (imageset zips)
    tasks/{id}/data/chunks/{quality}/N.mp4       video task chunks of type "video"
    tasks/{id}/data/preview.jpeg
    tasks/{id}/data/manifest.jsonl               CVAT's images manifest of the frames
    tasks/{id}/data/related/NNNNNN.zip           a frame's context images (JPEGs)
    tasks/{id}/data/video/source, probe.npz      a use_cache video task's file and its
                                                 probe (chunks are cut from it on request)

The event appended by `attach_task_data` is the truth about a task's data; this directory
holds the bytes and a copy of the spec to serve them without a database round trip.
`use_cache` data sets have no chunks/ and no frames/compressed/: those are made on
request into the server's one chunk cache, DATA_DIR/data/cache/chunks (chunk_cache.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Literal

import msgspec

from backend.media import chunk_cache
from backend.media.spec import TaskDataSpec

Quality = Literal["compressed", "original"]
QUALITIES: tuple[Quality, ...] = ("compressed", "original")


class StoredData(msgspec.Struct, frozen=True, kw_only=True):
    spec: TaskDataSpec
    original_files: list[str]  # per frame, relative to frames/original
    chunks_updated_date: str  # ISO-8601, UTC


def tasks_root(data_dir: str | Path) -> Path:
    """The directory that holds one directory per task."""
    return Path(data_dir) / "data" / "tasks"


class TaskStorage:
    def __init__(self, data_dir: str | Path, task_id: int) -> None:
        self.task_id = task_id
        self.data_root = Path(data_dir)
        self.root = tasks_root(data_dir) / str(task_id)

    # -- uploads ------------------------------------------------------------------------
    def session_dir(self, session: str) -> Path:
        return self.root / "uploads" / session

    def upload_files_dir(self, session: str) -> Path:
        return self.session_dir(session) / "files"

    def tus_dir(self, session: str) -> Path:
        return self.session_dir(session) / "tus"

    def drop_uploads(self, keep: str | None = None) -> None:
        uploads = self.root / "uploads"
        if not uploads.is_dir():
            return
        for child in uploads.iterdir():
            if child.name != keep:
                shutil.rmtree(child, ignore_errors=True)

    # -- building -----------------------------------------------------------------------
    def build_dir(self, rq_id: str) -> Path:
        return self.root / "build" / rq_id

    # -- served data --------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def meta_path(self, base: Path | None = None) -> Path:
        return (base or self.data_dir) / "meta.json"

    def original_frame(self, name: str, base: Path | None = None) -> Path:
        return (base or self.data_dir) / "frames" / "original" / name

    def compressed_frame(self, frame: int, base: Path | None = None) -> Path:
        return (base or self.data_dir) / "frames" / "compressed" / f"{frame:06d}.jpeg"

    def chunk(self, quality: Quality, number: int, base: Path | None = None) -> Path:
        return (base or self.data_dir) / "chunks" / quality / f"{number}.zip"

    def video_chunk(self, quality: Quality, number: int, base: Path | None = None) -> Path:
        """A video task chunk of chunk type "video" (an mp4; video_build.py)."""
        return (base or self.data_dir) / "chunks" / quality / f"{number}.mp4"

    def task_chunk(self, spec: TaskDataSpec, quality: Quality, number: int) -> Path:
        """Task chunk `number` as the spec's chunk type for `quality` stores it."""
        if spec.chunk_type(quality) == "video":
            return self.video_chunk(quality, number)
        return self.chunk(quality, number)

    def source_video(self, base: Path | None = None) -> Path:
        """The uploaded video, kept for every video task: use_cache chunks are cut from it
        and backups carry it (video_build.py)."""
        return (base or self.data_dir) / "video" / "source"

    def video_probe(self, base: Path | None = None) -> Path:
        """The source video's probe (video.save_probe), so no request probes it again."""
        return (base or self.data_dir) / "video" / "probe.npz"

    def preview(self, base: Path | None = None) -> Path:
        return (base or self.data_dir) / "preview.jpeg"

    def manifest(self, base: Path | None = None) -> Path:
        """manifest.jsonl of the served frames (manifest.py), one line per frame."""
        return (base or self.data_dir) / "manifest.jsonl"

    def context_images(self, frame: int, base: Path | None = None) -> Path:
        """A frame's context images: the zip `type=context_image` serves (related.py)."""
        return (base or self.data_dir) / "related" / f"{frame:06d}.zip"

    def has_data(self) -> bool:
        return self.meta_path().is_file()

    def load(self) -> StoredData | None:
        try:
            raw = self.meta_path().read_bytes()
        except FileNotFoundError:
            return None
        return msgspec.json.decode(raw, type=StoredData)

    def publish(self, build: Path) -> None:
        """Make a finished build the served data (one rename; the old one is removed)."""
        if self.data_dir.exists():
            old = self.root / "build" / f"old-{os.getpid()}-{id(build)}"
            self.data_dir.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        build.rename(self.data_dir)

    def unpublish(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def remove_all(self) -> None:
        """Everything of the task (for task deletion): uploads, builds, served data and
        what the chunk cache holds for it."""
        shutil.rmtree(self.root, ignore_errors=True)
        chunk_cache.forget_task(self.data_root, self.task_id)


def write_meta(path: Path, stored: StoredData) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(msgspec.json.encode(stored))
    tmp.replace(path)
