"""Context (related) images: CVAT's directory layouts for 2D and 3D data, the names inside
the served zip, and how a frame's context images are stored."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from backend.media.images import MediaError
from backend.media.pointcloud import pcd_name
from backend.media.related import (
    context_dir_name,
    layout_2d,
    layout_3d,
    store_context,
    zip_member_names,
)
from backend.media.storage import TaskStorage


def test_context_dir_name_replaces_the_last_dot() -> None:
    assert context_dir_name("a.jpg") == "a_jpg"
    assert context_dir_name("scan.v2.png") == "scan.v2_png"
    assert context_dir_name("noext") == "noext"


def test_2d_layout_of_the_cvat_documentation() -> None:
    names = [
        "image_1_to_be_annotated.jpg",
        "image_2_to_be_annotated.jpg",
        "related_images/image_1_to_be_annotated_jpg/context_image_for_image_1.jpg",
        "related_images/image_2_to_be_annotated_jpg/context_b.png",
        "related_images/image_2_to_be_annotated_jpg/context_a.jpg",
        "subdirectory_example/image_3_to_be_annotated.jpg",
        "subdirectory_example/related_images/image_3_to_be_annotated_jpg/context_3.jpg",
    ]
    layout = layout_2d(names)
    assert layout.frames == [
        "image_1_to_be_annotated.jpg",
        "image_2_to_be_annotated.jpg",
        "subdirectory_example/image_3_to_be_annotated.jpg",
    ]
    assert layout.related == {
        "image_1_to_be_annotated.jpg": [
            "related_images/image_1_to_be_annotated_jpg/context_image_for_image_1.jpg"
        ],
        "image_2_to_be_annotated.jpg": [
            "related_images/image_2_to_be_annotated_jpg/context_a.jpg",
            "related_images/image_2_to_be_annotated_jpg/context_b.png",
        ],
        "subdirectory_example/image_3_to_be_annotated.jpg": [
            "subdirectory_example/related_images/image_3_to_be_annotated_jpg/context_3.jpg"
        ],
    }
    assert layout.plain == []


def test_2d_context_images_are_looked_up_beside_the_frame_only() -> None:
    names = [
        "a.png",
        "sub/a.png",
        # a folder below the context folder is not searched (CVAT lists one level)
        "related_images/a_png/deeper/x.png",
        # a root related_images folder does not serve frames of sub/
        "related_images/a_png/y.png",
        # a frame with no context folder
        "b.png",
        # a context folder that matches no frame: its images are still not frames
        "related_images/zzz_png/z.png",
    ]
    layout = layout_2d(names)
    assert layout.frames == ["a.png", "sub/a.png", "b.png"]
    assert layout.related == {"a.png": ["related_images/a_png/y.png"]}


def test_3d_point_cloud_layout() -> None:
    layout = layout_3d(
        ["pointcloud/00001.pcd", "pointcloud/00002.pcd"],
        [
            "related_images/00001_pcd/image_01.png",
            "related_images/00001_pcd/image_00.jpg",
            "related_images/00002_pcd/front.png",
        ],
    )
    assert layout.frames == ["pointcloud/00001.pcd", "pointcloud/00002.pcd"]
    assert layout.related == {
        "pointcloud/00001.pcd": [
            "related_images/00001_pcd/image_00.jpg",
            "related_images/00001_pcd/image_01.png",
        ],
        "pointcloud/00002.pcd": ["related_images/00002_pcd/front.png"],
    }
    assert layout.plain == []


def test_3d_default_layout_option_1_same_name_beside() -> None:
    layout = layout_3d(
        ["data/image.pcd", "data/other.pcd"],
        ["data/image.png", "data/image.jpg", "data/unrelated.png"],
    )
    assert layout.related == {"data/image.pcd": ["data/image.jpg", "data/image.png"]}
    assert layout.plain == ["data/unrelated.png"]


def test_3d_default_layout_option_2_own_folder() -> None:
    layout = layout_3d(
        ["data/image_1/image_1.pcd", "data/image_2/image_2.pcd"],
        [
            "data/image_1/context_2.jpg",
            "data/image_1/context_1.png",
            "data/image_2/x.png",
            "data/image_2/deeper/not_this.png",
        ],
    )
    assert layout.related == {
        "data/image_1/image_1.pcd": ["data/image_1/context_1.png", "data/image_1/context_2.jpg"],
        "data/image_2/image_2.pcd": ["data/image_2/x.png"],
    }
    assert layout.plain == ["data/image_2/deeper/not_this.png"]


def test_3d_kitti_velodyne_layout_with_bin_names() -> None:
    frames = [pcd_name(f"drive/velodyne_points/data/000000000{i}.bin") for i in range(2)]
    assert frames[0] == "drive/velodyne_points/data/0000000000.pcd"
    images = [
        "drive/image_00/data/0000000000.png",
        "drive/IMAGE_01/data/0000000000.png",
        "drive/image_02/data/0000000001.png",
        "drive/image_00/timestamps/0000000000.png",  # not a `data` folder
        "drive/camera/data/0000000001.png",  # not an image_<digit> folder
    ]
    layout = layout_3d(frames, images)
    assert layout.related == {
        "drive/velodyne_points/data/0000000000.pcd": [
            "drive/IMAGE_01/data/0000000000.png",
            "drive/image_00/data/0000000000.png",
        ],
        "drive/velodyne_points/data/0000000001.pcd": ["drive/image_02/data/0000000001.png"],
    }
    assert layout.plain == [
        "drive/image_00/timestamps/0000000000.png",
        "drive/camera/data/0000000001.png",
    ]


def test_3d_top_level_point_cloud_has_no_related_images_folder() -> None:
    # CVAT looks in `<folder of the point cloud>/../related_images`: outside the inputs for a
    # point cloud at the top; its images are context images by place, so not plain either.
    layout = layout_3d(["a.pcd"], ["related_images/a_pcd/x.png", "a.png"])
    assert layout.related == {"a.pcd": ["a.png"]}
    assert layout.plain == []


def test_zip_member_names_are_relative_to_the_common_folder_plus_jpg() -> None:
    assert zip_member_names(["r/a_jpg/c1.png", "r/a_jpg/c2.jpg"]) == ["c1.png.jpg", "c2.jpg.jpg"]
    assert zip_member_names(["d/image_00/data/0.png", "d/image_01/data/0.png"]) == [
        "image_00/data/0.png.jpg",
        "image_01/data/0.png.jpg",
    ]
    assert zip_member_names(["r/a_jpg/only.png"]) == ["only.png.jpg"]
    assert zip_member_names(["top.png", "sub/x.png"]) == ["top.png.jpg", "sub/x.png.jpg"]
    assert zip_member_names([]) == []


def _png(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> Path:
    Image.new("RGB", size, color).save(path, format="PNG")
    return path


def test_store_context_writes_a_zip_of_jpegs(tmp_path: Path) -> None:
    storage = TaskStorage(tmp_path / "data", 7)
    out = tmp_path / "build"
    a = _png(tmp_path / "1", (20, 10), (250, 0, 0))
    b = _png(tmp_path / "2", (8, 6), (0, 0, 250))
    count = store_context(storage, out, 3, [("r/x_png/left.png", a), ("r/x_png/right.png", b)])
    assert count == 2
    target = storage.context_images(3, out)
    assert target.name == "000003.zip"
    with zipfile.ZipFile(target) as zf:
        assert zf.namelist() == ["left.png.jpg", "right.png.jpg"]
        with Image.open(io.BytesIO(zf.read("left.png.jpg"))) as image:
            assert image.format == "JPEG" and image.size == (20, 10)
            assert image.convert("RGB").getpixel((10, 5))[0] > 200
    assert store_context(storage, out, 4, []) == 0
    assert not storage.context_images(4, out).exists()


def test_store_context_refuses_a_broken_image_naming_it(tmp_path: Path) -> None:
    storage = TaskStorage(tmp_path / "data", 7)
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(MediaError, match=r"related_images/x_png/bad\.png"):
        store_context(storage, tmp_path / "build", 0, [("related_images/x_png/bad.png", bad)])
