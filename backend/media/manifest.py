"""CVAT's dataset manifest (`manifest.jsonl`, utils/dataset_manifest in CVAT): one JSON
object per line, read and written here as pure functions over bytes and paths.

Images manifest:
    {"version":"1.1"}
    {"type":"images"}
    {"name":"dir/image1","extension":".jpg","width":720,"height":405,
     "meta":{"related_images":[]},"checksum":"548918ec4b56132a5cff1d4acabe9947"}
Video manifest:
    {"version":"1.0"}
    {"type":"video"}
    {"properties":{"name":"video.mp4","resolution":[1280,720],"length":778}}
    {"number":0,"pts":0,"checksum":"17bb40d76887b56fe8213c6fded3d540"}   one per key frame

The reader is strict (a client-supplied manifest decides frame sizes and order): every
problem is a MediaError naming the file and the line. Unknown keys in an item are ignored,
as CVAT does, so manifests written by newer tools still load. Blank lines are skipped
(CVAT's index skips them too)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, TypeGuard

import msgspec

from backend.media.images import MediaError

FILE_NAME = "manifest.jsonl"
VERSIONS = ("1.0", "1.1")
IMAGES_VERSION = "1.1"
VIDEO_VERSION = "1.0"
MAX_MANIFEST_BYTES = 512 * 2**20  # a million images is about 150 MiB of manifest
_MD5 = re.compile(r"[0-9a-f]{32}")


class ImageItem(msgspec.Struct, frozen=True, kw_only=True):
    """One image line. `name` has no extension and may hold directories (`a/b/img`)."""

    name: str
    extension: str
    width: int | None = None  # absent in CVAT's 3D manifests
    height: int | None = None
    related_images: list[str] = msgspec.field(default_factory=list)
    checksum: str | None = None

    @property
    def file_name(self) -> str:
        """The image's path relative to the data set root: name + extension."""
        return self.name + self.extension


class ImagesManifest(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ImageItem]
    version: str = IMAGES_VERSION


class KeyFrame(msgspec.Struct, frozen=True, kw_only=True):
    """A frame a decoder can seek to: its number, its pts, md5 of its decoded pixels."""

    number: int
    pts: int
    checksum: str | None = None


class VideoManifest(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    width: int
    height: int
    length: int  # frames in the video
    keyframes: list[KeyFrame]
    version: str = VIDEO_VERSION


Manifest = ImagesManifest | VideoManifest


# --- writing ---------------------------------------------------------------------------


def image_item(
    file_name: str, width: int | None, height: int | None, *,
    related_images: Sequence[str] = (), checksum: str | None = None,
) -> ImageItem:  # fmt: skip
    """The item for an image file path (`dir/a.jpg` -> name `dir/a`, extension `.jpg`)."""
    path = PurePosixPath(file_name.replace("\\", "/"))
    stem, suffix = (str(path)[: -len(path.suffix)], path.suffix) if path.suffix else (str(path), "")
    return ImageItem(
        name=stem, extension=suffix, width=width, height=height,
        related_images=list(related_images), checksum=checksum,
    )  # fmt: skip


def pixels_checksum(pixels: bytes) -> str:
    """CVAT's checksum: md5 of the decoded pixel bytes (`Image.tobytes()`), hex."""
    return hashlib.md5(pixels, usedforsecurity=False).hexdigest()


def images_bytes(items: Iterable[ImageItem]) -> bytes:
    lines = [_line({"version": IMAGES_VERSION}), _line({"type": "images"})]
    for item in items:
        entry: dict[str, Any] = {"name": item.name, "extension": item.extension}
        if item.width is not None and item.height is not None:
            entry["width"], entry["height"] = item.width, item.height
        entry["meta"] = {"related_images": list(item.related_images)}
        if item.checksum is not None:
            entry["checksum"] = item.checksum
        lines.append(_line(entry))
    return b"".join(lines)


def video_bytes(
    name: str, width: int, height: int, length: int, keyframes: Iterable[KeyFrame]
) -> bytes:
    lines = [
        _line({"version": VIDEO_VERSION}),
        _line({"type": "video"}),
        _line({"properties": {"name": name, "resolution": [width, height], "length": length}}),
    ]
    for key in keyframes:
        entry: dict[str, Any] = {"number": key.number, "pts": key.pts}
        if key.checksum is not None:
            entry["checksum"] = key.checksum
        lines.append(_line(entry))
    return b"".join(lines)


def write_images(path: Path, items: Iterable[ImageItem]) -> None:
    _write(path, images_bytes(items))


def write_video(
    path: Path, name: str, width: int, height: int, length: int, keyframes: Iterable[KeyFrame]
) -> None:
    """The video manifest (the video builder calls this with the key frames it found)."""
    _write(path, video_bytes(name, width, height, length, keyframes))


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


# --- reading ---------------------------------------------------------------------------


def read(path: Path, source: str | None = None) -> Manifest:
    """Parse the manifest at `path`; `source` names it in errors (default: the file name)."""
    label = source or path.name
    try:
        size = path.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise MediaError(f"{label}: the manifest is larger than {MAX_MANIFEST_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"{label}: cannot read the manifest ({exc.strerror})") from None
    return parse(data, label)


def read_images(path: Path, source: str | None = None) -> ImagesManifest:
    manifest = read(path, source)
    if not isinstance(manifest, ImagesManifest):
        raise MediaError(f"{source or path.name}: a video manifest, not a manifest of images")
    return manifest


def read_video(path: Path, source: str | None = None) -> VideoManifest:
    manifest = read(path, source)
    if not isinstance(manifest, VideoManifest):
        raise MediaError(f"{source or path.name}: a manifest of images, not a video manifest")
    return manifest


def looks_like_manifest(head: bytes) -> bool:
    """Whether the first bytes of a file start a manifest (`{"version":...}` line), for
    sniffing uploads; `parse` decides whether it is a valid one."""
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    try:
        obj = json.loads(first)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(obj, dict) and set(obj) == {"version"}


def parse(data: bytes, source: str = FILE_NAME) -> Manifest:
    """Validate and decode a whole manifest. MediaError: `source: line N: problem`."""
    lines = _json_lines(data, source)
    if not lines:
        raise MediaError(f"{source}: the manifest is empty")
    number, version_line = lines[0]
    version = _single(version_line, "version", source, number)
    if version not in VERSIONS:
        raise MediaError(
            f"{source}: line {number}: unsupported manifest version {version!r} "
            f"(supported: {', '.join(VERSIONS)})"
        )
    if len(lines) < 2:
        raise MediaError(f'{source}: line {number + 1}: the {{"type": ...}} line is missing')
    number, type_line = lines[1]
    kind = _single(type_line, "type", source, number)
    if kind == "images":
        return ImagesManifest(version=str(version), items=_images(lines[2:], source))
    if kind == "video":
        return _video(str(version), lines[2:], source, number)
    raise MediaError(f"{source}: line {number}: type must be 'images' or 'video', not {kind!r}")


def _json_lines(data: bytes, source: str) -> list[tuple[int, dict[str, Any]]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except UnicodeDecodeError:
            raise MediaError(f"{source}: line {number}: not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise MediaError(f"{source}: line {number}: not valid JSON ({exc.msg})") from None
        except ValueError as exc:  # e.g. a number too long to convert
            raise MediaError(f"{source}: line {number}: not valid JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise MediaError(f"{source}: line {number}: must be a JSON object")
        out.append((number, obj))
    return out


def _single(obj: dict[str, Any], key: str, source: str, number: int) -> Any:
    if set(obj) != {key}:
        raise MediaError(f'{source}: line {number}: expected {{"{key}": ...}}, got {_show(obj)}')
    return obj[key]


def _images(lines: list[tuple[int, dict[str, Any]]], source: str) -> list[ImageItem]:
    items: list[ImageItem] = []
    seen: dict[str, int] = {}
    for number, obj in lines:
        where = f"{source}: line {number}"
        name = _string(obj, "name", where)
        extension = _string(obj, "extension", where, allow_empty=True)
        _check_name(name, where)
        if extension and (not extension.startswith(".") or "/" in extension):
            raise MediaError(f"{where}: extension must start with '.', not {extension!r}")
        width, height = obj.get("width"), obj.get("height")
        if (width is None) != (height is None):
            raise MediaError(f"{where}: width and height go together")
        if width is not None:
            width, height = _positive(obj, "width", where), _positive(obj, "height", where)
        related = _related(obj.get("meta"), where)
        checksum = _checksum(obj, where)
        item = ImageItem(
            name=name, extension=extension, width=width, height=height,
            related_images=related, checksum=checksum,
        )  # fmt: skip
        if item.file_name in seen:
            raise MediaError(
                f"{where}: {item.file_name} is listed twice (first on line {seen[item.file_name]})"
            )
        seen[item.file_name] = number
        items.append(item)
    return items


def _video(
    version: str, lines: list[tuple[int, dict[str, Any]]], source: str, type_line: int
) -> VideoManifest:
    if not lines:
        raise MediaError(
            f'{source}: line {type_line + 1}: the {{"properties": ...}} line is missing'
        )
    number, obj = lines[0]
    where = f"{source}: line {number}"
    props = _single(obj, "properties", source, number)
    if not isinstance(props, dict):
        raise MediaError(f"{where}: properties must be an object")
    name = _string(props, "name", where)
    resolution = props.get("resolution")
    if (
        not isinstance(resolution, list)
        or len(resolution) != 2
        or not all(_is_int(v) and v > 0 for v in resolution)
    ):
        raise MediaError(f"{where}: resolution must be [width, height] with positive integers")
    length = _positive(props, "length", where)
    keyframes: list[KeyFrame] = []
    for number, obj in lines[1:]:
        where = f"{source}: line {number}"
        frame = obj.get("number")
        if not _is_int(frame) or frame < 0:
            raise MediaError(f"{where}: number must be a non-negative integer")
        if frame >= length:
            raise MediaError(f"{where}: frame {frame} is beyond the video length {length}")
        if keyframes and frame <= keyframes[-1].number:
            raise MediaError(f"{where}: key frame numbers must increase ({frame} after "
                             f"{keyframes[-1].number})")  # fmt: skip
        pts = obj.get("pts")
        if not _is_int(pts):
            raise MediaError(f"{where}: pts must be an integer")
        if keyframes and pts <= keyframes[-1].pts:
            raise MediaError(f"{where}: pts must increase ({pts} after {keyframes[-1].pts})")
        keyframes.append(KeyFrame(number=frame, pts=pts, checksum=_checksum(obj, where)))
    return VideoManifest(
        version=version, name=name, width=resolution[0], height=resolution[1],
        length=length, keyframes=keyframes,
    )  # fmt: skip


def _string(obj: dict[str, Any], key: str, where: str, *, allow_empty: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        raise MediaError(f"{where}: '{key}' is required")
    if not isinstance(value, str) or (not value and not allow_empty):
        raise MediaError(f"{where}: '{key}' must be a non-empty string")
    return value


def _positive(obj: dict[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    if not _is_int(value) or value <= 0:
        raise MediaError(f"{where}: '{key}' must be a positive integer, not {_show(value)}")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_name(name: str, where: str) -> None:
    """A relative path inside the data set: no absolute path, no `..`, no backslashes."""
    parts = name.split("/")
    if (
        name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise MediaError(f"{where}: {name!r} is not a relative path inside the data set")


def _related(meta: Any, where: str) -> list[str]:
    if meta is None:
        return []
    if not isinstance(meta, dict):
        raise MediaError(f"{where}: 'meta' must be an object")
    related = meta.get("related_images", [])
    if not isinstance(related, list) or not all(isinstance(r, str) and r for r in related):
        raise MediaError(f"{where}: 'meta.related_images' must be a list of file names")
    return list(related)


def _checksum(obj: dict[str, Any], where: str) -> str | None:
    value = obj.get("checksum")
    if value is None:
        return None
    if not isinstance(value, str) or not _MD5.fullmatch(value):
        raise MediaError(f"{where}: 'checksum' must be an md5 hex digest")
    return value


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def check_describes(manifest: ImagesManifest, file_names: Iterable[str], source: str) -> None:
    """A manifest given with images must list exactly those images (CVAT refuses a task
    whose manifest and files disagree). MediaError naming up to five of each kind."""
    listed = {item.file_name for item in manifest.items}
    given = set(file_names)
    missing = sorted(given - listed)
    extra = sorted(listed - given)
    problems = []
    if missing:
        problems.append(f"it does not list {_names(missing)}")
    if extra:
        problems.append(f"it lists {_names(extra)}, which {'is' if len(extra) == 1 else 'are'} "
                        "not among the task's files")  # fmt: skip
    if problems:
        raise MediaError(f"{source}: the manifest does not match the files: " + "; ".join(problems))


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown if len(names) <= 5 else f"{shown} and {len(names) - 5} more"


def given_images(
    manifests: Sequence[tuple[str, Path]], file_names: Sequence[str]
) -> ImagesManifest | None:
    """The manifest uploaded beside a task's images (None without one), checked to list
    exactly `file_names` with their sizes. More than one manifest is refused."""
    if not manifests:
        return None
    if len(manifests) > 1:
        names = ", ".join(name for name, _ in manifests)
        raise MediaError(f"{names}: more than one manifest; a task takes one manifest.jsonl")
    source, path = manifests[0]
    given = read_images(path, source)
    check_describes(given, file_names, source)
    for item in given.items:
        if item.width is None:
            raise MediaError(f"{source}: {item.file_name} has no width and height")
    return given


def check_size(item: ImageItem, source: str, width: int, height: int) -> None:
    """The image's real size must be the manifest's (it decides how frames are shown)."""
    if (item.width, item.height) != (width, height):
        raise MediaError(
            f"{source}: {item.file_name} is {item.width}x{item.height} in the manifest but "
            f"the image is {width}x{height}"
        )
