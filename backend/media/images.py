"""Image sniffing and decoding with Pillow: what a file IS comes from its content, never
from its name."""

from __future__ import annotations

import io
import mimetypes
import warnings
import zipfile
from pathlib import Path
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

# Formats a browser can show and Pillow decodes reliably; others are refused.
IMAGE_FORMATS = {"JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF", "MPO"}
PREVIEW_SIZE = (256, 256)
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")

# What an input file is, from its content (video, pointcloud and manifest are sniffed by
# their own modules).
FileKind = Literal["image", "archive", "video", "pointcloud", "manifest"]


class MediaError(ValueError):
    """A file that cannot be used; the message names it."""


def sniff(path: Path, name: str) -> FileKind:
    """'image' or 'archive' from the first bytes and Pillow's header parse, 'manifest' for
    a valid manifest.jsonl; MediaError (naming `name`) for anything else."""
    with path.open("rb") as f:
        head = f.read(256)
    from backend.media import manifest  # manifest.py imports this module (MediaError)

    if manifest.looks_like_manifest(head):  # never a frame; a broken one names its line
        manifest.read(path, name)
        return "manifest"
    if head.startswith(ZIP_MAGIC):
        return "archive"
    from backend.media.archive import is_tar  # archive imports this module

    if is_tar(path):  # tar, tar.gz/tgz, tar.bz2, tar.xz
        return "archive"
    # pointcloud.py imports this module (MediaError): imported here, not at the top
    from backend.media import pointcloud

    if pointcloud.kind_of(path, name) is not None:
        pointcloud.validate(path, name)  # a broken PCD or .bin is refused naming it
        return "pointcloud"
    if image_format(path) is None:
        from backend.media import video  # video.py imports this module (MediaError)

        if video.is_video(path):  # a video stream in mp4/mov, mkv/webm or avi
            return "video"
        raise MediaError(f"{name}: not an image, a video or a zip/tar archive of images")
    return "image"


def image_format(path: Path) -> str | None:
    """Pillow's format name when the header is a supported image, else None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                fmt = image.format
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombWarning):
        return None
    except Image.DecompressionBombError:
        return None
    return fmt if fmt in IMAGE_FORMATS else None


def mime_of(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class Decoded:
    """A fully decoded image (orientation applied) and its size."""

    __slots__ = ("height", "image", "width")

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.width, self.height = image.size


def decode(path: Path, name: str) -> Decoded:
    """Decode the whole image (a truncated file fails here, not when served)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                if opened.format not in IMAGE_FORMATS:
                    raise MediaError(f"{name}: unsupported image format {opened.format}")
                opened.load()
                image = ImageOps.exif_transpose(opened)
                if image is opened:
                    image = opened.copy()
    except MediaError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise MediaError(f"{name}: the image is too large") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"{name}: cannot decode the image ({exc})") from None
    return Decoded(image)


def zip_member(name: str) -> zipfile.ZipInfo:
    """A chunk zip member with a fixed date: a chunk made again (use_cache, after the cache
    evicted it) then has the same bytes under the same strong ETag."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o600 << 16  # what writestr gives a member named by a string
    return info


def to_jpeg(image: Image.Image, quality: int) -> bytes:
    """The compressed frame: RGB JPEG at the task's image quality (CVAT's compressed
    imageset chunks)."""
    if image.mode != "RGB":
        image = _flatten(image)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=max(1, min(quality, 100)))
    return out.getvalue()


def preview_jpeg(image: Image.Image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail(PREVIEW_SIZE)
    return to_jpeg(thumb, 80)


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit / float greyscale: stretch into 8 bits instead of clipping to white.
        grey = image.convert("F")
        low, high = (float(v) for v in grey.getextrema()[:2])  # type: ignore[arg-type]
        scale = 255.0 / (high - low) if high > low else 0.0
        return grey.point(lambda v: (v - low) * scale).convert("L").convert("RGB")
    return image.convert("RGB")
