"""Context (related) images: which input images belong to which frame, by the directory
layouts CVAT recognises (utils/dataset_manifest/utils.py, detect_related_images), and
how a frame's context images are stored and served (a zip of JPEGs, as CVAT's
`type=context_image` answers).

Names are the inputs' relative paths ('/'-separated, as in an archive or on the share).

2D: `d/x.jpg` has the images directly in `d/related_images/x_jpg/` (the file name with its
last '.' made '_'). Anything under a `related_images/` directory is never a frame.

3D (`p` = a point cloud `d/x.pcd`; a `.bin` counts under its `.pcd` name):
  - `d` is named `x` (default layout, option 2): every other image directly in `d`;
  - otherwise (option 1): the images directly in `d` named `x.<ext>`;
  - `d/../related_images/x_pcd/*` (the point cloud layout);
  - `d` is `.../velodyne_points/data` (KITTI): `.../image_NN*/data/x.<ext>` for every
    sibling directory of `velodyne_points` whose name has `image_<digit>`.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from backend.media import images
from backend.media.storage import TaskStorage

RELATED_DIR = "related_images"
_IN_RELATED_DIR = re.compile(rf"(^|/){RELATED_DIR}/")
_KITTI_IMAGE_DIR = re.compile(r"image_\d", re.IGNORECASE)
CONTEXT_JPEG_QUALITY = 95  # OpenCV's default, which CVAT's cv2.imencode uses


@dataclass(frozen=True)
class Layout:
    """Frames in input order, each frame's context images (sorted, only frames that
    have some), and the images that are neither (3D only: plain images in a 3D task)."""

    frames: list[str]
    related: dict[str, list[str]] = field(default_factory=dict)
    plain: list[str] = field(default_factory=list)


def in_related_dir(name: str) -> bool:
    return _IN_RELATED_DIR.search(name) is not None


def context_dir_name(basename: str) -> str:
    """`a.b.jpg` -> `a.b_jpg` (CVAT: "_".join(name.rsplit(".", 1)))."""
    return "_".join(basename.rsplit(".", 1))


def _stem(name: str) -> str:
    return posixpath.splitext(posixpath.basename(name))[0]


def _dir(name: str) -> str:
    return posixpath.dirname(name)


def _norm(path: str) -> str:
    normal = posixpath.normpath(path)
    return "" if normal == "." else normal


def _by_dir(names: Iterable[str]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = defaultdict(list)
    for name in names:
        index[_dir(name)].append(name)
    return index


def layout_2d(image_names: Sequence[str]) -> Layout:
    """Image frames and their context images (never frames themselves)."""
    by_dir = _by_dir(image_names)
    frames = [n for n in image_names if not in_related_dir(n)]
    related: dict[str, list[str]] = {}
    for frame in frames:
        folder = posixpath.join(
            _dir(frame), RELATED_DIR, context_dir_name(posixpath.basename(frame))
        )
        found = sorted(by_dir.get(folder, []))
        if found:
            related[frame] = found
    return Layout(frames=frames, related=related)


def layout_3d(pointcloud_names: Sequence[str], image_names: Sequence[str]) -> Layout:
    """Point cloud frames (by their .pcd names), their context images, and the images
    that belong to none of them."""
    by_dir = _by_dir(image_names)
    related: dict[str, list[str]] = {}
    for frame in pointcloud_names:
        folder, stem = _dir(frame), _stem(frame)
        found: set[str] = set()
        beside = by_dir.get(folder, [])
        if posixpath.basename(folder) == stem and beside:
            found.update(beside)  # option 2: the folder is the frame's own
        else:
            found.update(n for n in beside if _stem(n) == stem)  # option 1
        if folder:  # `d/../related_images` is outside the inputs for a top-level file
            ctx = posixpath.join(
                _dir(folder), RELATED_DIR, context_dir_name(posixpath.basename(frame))
            )
            found.update(by_dir.get(_norm(ctx), []))
        if folder == "velodyne_points/data" or folder.endswith("/velodyne_points/data"):
            root = _dir(_dir(folder))
            for images_dir, names in by_dir.items():
                camera = _dir(images_dir)
                if (
                    posixpath.basename(images_dir) == "data"
                    and _dir(camera) == root
                    and _KITTI_IMAGE_DIR.search(posixpath.basename(camera))
                ):
                    found.update(n for n in names if _stem(n) == stem)
        if found:
            related[frame] = sorted(found)
    attached = {n for names in related.values() for n in names}
    plain = [n for n in image_names if n not in attached and not in_related_dir(n)]
    return Layout(frames=list(pointcloud_names), related=related, plain=plain)


def mixed_message(plain: Sequence[str]) -> str:
    """The refusal of plain images beside point clouds (CVAT cannot mix 2D and 3D data)."""
    shown = ", ".join(plain[:5]) + (", ..." if len(plain) > 5 else "")
    return (
        f"{shown}: images that are not context images of a point cloud cannot be mixed "
        "with point clouds (2D and 3D data in one task)"
    )


# --- storing and serving ----------------------------------------------------------------------


def zip_member_names(names: Sequence[str]) -> list[str]:
    """CVAT names each member by its path relative to the images' common directory, plus
    '.jpg' (the content is re-encoded as JPEG): `ctx/a.png` -> `a.png.jpg`. (For a single
    image CVAT's commonpath is the file itself and the member is '..jpg'; we keep the
    file name instead.)"""
    if not names:
        return []
    base = posixpath.commonpath([_dir(n) for n in names]) if all(_dir(n) for n in names) else ""
    return [posixpath.relpath(n, base or ".") + ".jpg" for n in names]


def store_context(
    storage: TaskStorage, out: Path, frame: int, context: Sequence[tuple[str, Path]]
) -> int:
    """Write frame `frame`'s context images (name, file) as the zip that
    `type=context_image` serves; returns how many there are. A context image that is not
    a decodable image is a MediaError naming it."""
    if not context:
        return 0
    target = storage.context_images(frame, out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    members = zip_member_names([name for name, _ in context])
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member, (name, path) in zip(members, context, strict=True):
            decoded = images.decode(path, name)
            zf.writestr(member, images.to_jpeg(decoded.image, CONTEXT_JPEG_QUALITY))
            decoded.image.close()
    tmp.replace(target)
    return len(context)
