"""What a task's data is, as the task resource records it (the lead's `attach_task_data`
takes a `TaskDataSpec`), and the data parameters a client sends with Upload-Finish."""

from __future__ import annotations

from typing import Literal

import msgspec

INT_MAX = 2**31 - 1  # Postgres integer (and CVAT's PositiveIntegerField) upper bound
SortingMethod = Literal["lexicographical", "natural", "predefined", "random"]
StorageMethod = Literal["file_system", "cache"]
ChunkType = Literal["imageset", "video"]


class FrameInfo(msgspec.Struct, frozen=True):
    """One frame as DataMetaRead's FrameMeta shows it."""

    name: str
    width: int
    height: int
    related_files: int = 0


class VideoMeta(msgspec.Struct, frozen=True, kw_only=True):
    """A video task's source file (video.py probes it): DataMetaRead shows it as the one
    entry of `frames`, as CVAT does for video."""

    name: str
    width: int  # as shown (rotation applied)
    height: int
    fps: float
    frame_count: int  # in the file, before start/stop/frame_filter
    codec: str
    rotation: int = 0  # counter-clockwise degrees applied to show frames upright
    keyframes: int = 0
    remuxed_chunks: int = 0  # chunks copied from the file's packets (not re-encoded)
    # use_cache: chunks are cut from the kept source on request (video_serving.py)...
    on_the_fly: bool = False
    # ...unless its keyframes are too sparse: then why all chunks were made at creation.
    prebuilt_reason: str = ""


class TaskDataSpec(msgspec.Struct, frozen=True, kw_only=True):
    """The task's data once built: frames in their final order (frame number = index),
    already limited by start/stop/frame_filter, and how chunks were made."""

    frames: list[FrameInfo]
    image_quality: int
    chunk_size: int
    sorting_method: SortingMethod = "lexicographical"
    # Positions in the sorted list of uploaded images (CVAT keeps them as given).
    start_frame: int = 0
    stop_frame: int = 0
    frame_filter: str = ""
    storage_method: StorageMethod = "file_system"
    storage: Literal["local"] = "local"
    use_zip_chunks: bool = False
    use_cache: bool = False
    compressed_chunk_type: ChunkType = "imageset"
    original_chunk_type: ChunkType = "imageset"
    mode: Literal["annotation", "interpolation"] = "annotation"  # video: interpolation
    dimension: Literal["2d", "3d"] = "2d"  # point clouds: 3d
    video: VideoMeta | None = None  # video tasks

    @property
    def size(self) -> int:
        return len(self.frames)

    def chunk_type(self, quality: Literal["compressed", "original"]) -> ChunkType:
        return self.compressed_chunk_type if quality == "compressed" else self.original_chunk_type


class DataParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """The JSON body of Upload-Finish (CVAT's DataRequest, minus the file lists)."""

    image_quality: int = 70
    chunk_size: int | None = None
    start_frame: int = 0
    stop_frame: int | None = None
    frame_filter: str = ""
    sorting_method: SortingMethod = "lexicographical"
    upload_file_order: list[str] = msgspec.field(default_factory=list)
    use_zip_chunks: bool = False
    use_cache: bool = False
    copy_data: bool = False
    storage_method: StorageMethod | None = None
    storage: Literal["local", "share", "cloud_storage"] = "local"
    server_files: list[str] = msgspec.field(default_factory=list)
    server_files_exclude: list[str] = msgspec.field(default_factory=list)
    remote_files: list[str] = msgspec.field(default_factory=list)
    cloud_storage_id: int | None = None
    job_file_mapping: list[list[str]] | None = None
    filename_pattern: str | None = None

    def problems(self) -> dict[str, list[str]]:
        """Field -> messages, as a 400 body; empty when the parameters can be used."""
        errors: dict[str, list[str]] = {}
        # The read models keep these in Postgres integer columns: a larger value recorded in
        # TaskDataAttached would stop the projector (and every later write) for good.
        for name in ("chunk_size", "start_frame", "stop_frame", "cloud_storage_id"):
            value = getattr(self, name)
            if value is not None and value > INT_MAX:
                errors[name] = [f"Ensure this value is less than or equal to {INT_MAX}."]
        if not 0 <= self.image_quality <= 100:
            errors["image_quality"] = ["Ensure this value is between 0 and 100."]
        if self.chunk_size is not None and self.chunk_size < 1:
            errors["chunk_size"] = ["Ensure this value is greater than or equal to 1."]
        if self.start_frame < 0:
            errors["start_frame"] = ["Ensure this value is greater than or equal to 0."]
        if self.stop_frame is not None and self.stop_frame < self.start_frame:
            errors["stop_frame"] = ["The stop frame must not be less than the start frame."]
        try:
            frame_step(self.frame_filter)
        except ValueError as exc:
            errors["frame_filter"] = [str(exc)]
        if self.upload_file_order and self.sorting_method != "predefined":
            errors["upload_file_order"] = [
                "It is only allowed with the 'predefined' sorting method."
            ]
        if self.cloud_storage_id is not None and not self.server_files:
            errors["server_files"] = [
                "Name the files, prefixes (ending in '/') or manifest of the cloud storage."
            ]
        if self.cloud_storage_id is not None and self.remote_files:
            errors["remote_files"] = ["Remote files cannot be combined with a cloud storage."]
        if self.filename_pattern and self.server_files_exclude:
            errors["filename_pattern"] = [
                "The filename_pattern and server_files_exclude cannot be used together."
            ]
        if self.server_files_exclude and not self.server_files:
            errors["server_files_exclude"] = ["It is only allowed with server_files."]
        if self.job_file_mapping:
            errors["job_file_mapping"] = ["job_file_mapping is not supported yet."]
        return errors


def frame_step(frame_filter: str) -> int:
    """`step=N` -> N (CVAT's only filter syntax); empty -> 1."""
    text = frame_filter.strip()
    if not text:
        return 1
    key, sep, value = text.partition("=")
    if key.strip() != "step" or not sep or not value.strip().isdigit() or int(value) < 1:
        raise ValueError("The only supported syntax is 'step=N' with N >= 1.")
    return int(value)


def default_chunk_size(width: int, height: int) -> int:
    """CVAT's rule: about 36 full-HD frames per chunk, between 2 and 72."""
    area = max(1, width * height)
    return max(2, min(72, 36 * 1920 * 1080 // area))
