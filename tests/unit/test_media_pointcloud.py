"""Point clouds: recognising and checking PCD files and KITTI .bin scans, the .bin -> PCD
conversion CVAT does, and building a 3D data set (frames, chunks, context images)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.media import pointcloud
from backend.media.archive import ArchiveLimits
from backend.media.build import Received, build, classify
from backend.media.images import MediaError, sniff
from backend.media.spec import DataParams
from backend.media.storage import StoredData, TaskStorage

CVAT_BIN_HEADER = (
    b"VERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\n"
    b"WIDTH 3\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 3\nDATA binary\n"
)


def ascii_pcd(points: list[tuple[float, float, float]], *, width: int | None = None) -> bytes:
    n = len(points)
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\n"
        f"SIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH {width or n}\nHEIGHT 1\n"
        f"VIEWPOINT 0 0 0 1 0 0 0\nPOINTS {width or n}\nDATA ascii\n"
    )
    body = "".join(f"{x} {y} {z}\n" for x, y, z in points)
    return (header + body).encode()


def binary_pcd(points: np.ndarray, *, width: int, height: int) -> bytes:
    header = (
        "VERSION .7\nFIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F U\nCOUNT 1 1 1 1\n"
        f"WIDTH {width}\nHEIGHT {height}\nPOINTS {width * height}\nDATA binary\n"
    )
    return header.encode() + points.astype("<f4").tobytes()


def kitti_bin(points: np.ndarray) -> bytes:
    return points.astype("<f4").tobytes()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def png(
    path: Path, size: tuple[int, int] = (12, 8), color: tuple[int, int, int] = (9, 9, 9)
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format="PNG")
    return path


# --- recognising and checking -------------------------------------------------------------


def test_kind_of_pcd_by_content_and_bin_by_name(tmp_path: Path) -> None:
    pcd = write(tmp_path / "1", ascii_pcd([(1, 2, 3)]))
    assert pointcloud.kind_of(pcd, "scan.anything") == "pcd"
    raw = write(tmp_path / "2", kitti_bin(np.zeros((2, 4))))
    assert pointcloud.kind_of(raw, "0000.bin") == "bin"
    assert pointcloud.kind_of(raw, "0000.dat") is None
    image = png(tmp_path / "3.png")
    assert pointcloud.kind_of(image, "x.pcd") is None


def test_sniff_says_pointcloud_and_refuses_broken_ones_naming_them(tmp_path: Path) -> None:
    assert sniff(write(tmp_path / "1", ascii_pcd([(0, 0, 0)])), "a.pcd") == "pointcloud"
    assert sniff(write(tmp_path / "2", kitti_bin(np.ones((4, 4)))), "b.bin") == "pointcloud"
    with pytest.raises(MediaError, match=r"^c\.bin: not a KITTI point cloud .* 17 bytes"):
        sniff(write(tmp_path / "3", b"x" * 17), "c.bin")
    with pytest.raises(MediaError, match=r"^d\.pcd: not a valid PCD point cloud"):
        sniff(write(tmp_path / "4", b"VERSION 0.7\nFIELDS x\n"), "d.pcd")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b"VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 1\nHEIGHT 1\n", "no DATA"),
        (b"VERSION 0.9\nFIELDS x\nSIZE 4\nTYPE F\nWIDTH 1\nHEIGHT 1\nDATA ascii\n1\n", "VERSION"),
        (
            b"VERSION 0.7\nFIELDS x y\nSIZE 4\nTYPE F F\nWIDTH 1\nHEIGHT 1\nDATA ascii\n1 2\n",
            "length",
        ),
        (b"VERSION 0.7\nFIELDS x\nSIZE 3\nTYPE F\nWIDTH 1\nHEIGHT 1\nDATA ascii\n1\n", "SIZE/TYPE"),
        (
            b"VERSION 0.7\nFIELDS x\nSIZE 4\nTYPE F\nWIDTH 2\nHEIGHT 1\nPOINTS 3\nDATA ascii\n",
            "POINTS",
        ),
        (b"VERSION 0.7\nFIELDS x\nSIZE 4\nTYPE F\nWIDTH 0\nHEIGHT 1\nDATA ascii\n", "at least 1"),
        (b"VERSION 0.7\nFIELDS x\nSIZE 4\nTYPE F\nWIDTH two\nHEIGHT 1\nDATA ascii\n", "WIDTH"),
        (b"VERSION 0.7\nFIELDS x\nSIZE 4\nTYPE F\nWIDTH 1\nHEIGHT 1\nDATA zip\n", "DATA kind"),
        (
            b"VERSION 0.7\nFIELDS x\nSIZE 4\nTYPE F\nWIDTH 3\nHEIGHT 1\nDATA ascii\n1\n2\n",
            "2 data lines",
        ),
        (
            b"VERSION 0.7\nFIELDS x\nSIZE 4\nTYPE F\nWIDTH 3\nHEIGHT 1\nDATA binary\n" + b"\0" * 11,
            "shorter",
        ),
        (b"VERSION 0.7\nFIELDS \xff\nSIZE 4\nTYPE F\nWIDTH 1\nHEIGHT 1\nDATA ascii\n1\n", "ASCII"),
        (b"VERSION 0.7\nSIZE 4\nTYPE F\nWIDTH 1\nHEIGHT 1\nDATA ascii\n1\n", "no FIELDS"),
    ],
)
def test_broken_pcd_headers_are_refused_naming_the_file(
    tmp_path: Path, text: bytes, why: str
) -> None:
    path = write(tmp_path / "f", text)
    with pytest.raises(
        MediaError, match=r"^scans/broken\.pcd: not a valid PCD point cloud"
    ) as info:
        pointcloud.validate(path, "scans/broken.pcd")
    assert why in str(info.value)


def test_valid_pcds_report_width_and_height(tmp_path: Path) -> None:
    ascii_path = write(tmp_path / "a", ascii_pcd([(1, 2, 3), (4, 5, 6)]))
    assert pointcloud.validate(ascii_path, "a.pcd") == "pcd"
    header = pointcloud.header_of(ascii_path, "a.pcd")
    assert (header.width, header.height, header.points, header.data) == (2, 1, 2, "ascii")
    organised = binary_pcd(np.arange(24).reshape(6, 4), width=3, height=2)
    binary_path = write(tmp_path / "b", organised)
    assert pointcloud.validate(binary_path, "b.pcd") == "pcd"
    header = pointcloud.header_of(binary_path, "b.pcd")
    assert (header.width, header.height, header.row_bytes, header.fields) == (
        3, 2, 16, ["x", "y", "z", "rgb"],
    )  # fmt: skip
    # an ASCII body without a final newline still counts its last line
    last = write(tmp_path / "c", ascii_pcd([(1, 1, 1), (2, 2, 2)]).rstrip(b"\n"))
    assert pointcloud.validate(last, "c.pcd") == "pcd"


# --- .bin -> .pcd ---------------------------------------------------------------------------


def test_bin_to_pcd_writes_cvats_header_and_keeps_the_points(tmp_path: Path) -> None:
    points = np.array(
        [[1.5, -2.25, 3.0, 0.5], [0.0, 0.0, 0.0, 0.0], [-7.125, 8.0, 1e-3, 1.0]], dtype="<f4"
    )
    src = write(tmp_path / "0000.bin", kitti_bin(points))
    dst = tmp_path / "0000.pcd"
    pointcloud.bin_to_pcd(src, dst, "0000.bin")
    data = dst.read_bytes()
    assert data.startswith(CVAT_BIN_HEADER)
    back = np.frombuffer(data[len(CVAT_BIN_HEADER) :], dtype="<f4").reshape(-1, 4)
    np.testing.assert_array_equal(back, points)
    header = pointcloud.header_of(dst, "0000.pcd")
    assert (header.width, header.height, header.fields) == (3, 1, ["x", "y", "z", "intensity"])
    assert pointcloud.validate(dst, "0000.pcd") == "pcd"


def test_bin_names_become_pcd_names() -> None:
    assert pointcloud.pcd_name("velodyne_points/data/0001.bin") == "velodyne_points/data/0001.pcd"
    assert pointcloud.pcd_name("A.BIN") == "A.pcd"
    assert pointcloud.pcd_name("a.pcd") == "a.pcd"


def test_archive_member_check(tmp_path: Path) -> None:
    assert pointcloud.is_archive_member("x.pcd", ascii_pcd([(1, 2, 3)]))
    assert pointcloud.is_archive_member("v/0.bin", b"\0" * 32)
    assert not pointcloud.is_archive_member("x.png", b"\x89PNG....")
    with pytest.raises(MediaError, match=r"^x\.pcd: not a valid PCD point cloud"):
        pointcloud.is_archive_member("x.pcd", b"VERSION 0.7\nFIELDS x\n" + b"\0" * 10)


# --- classify and build ---------------------------------------------------------------------


def run(tmp_path: Path, files: list[Received], params: DataParams | None = None) -> StoredData:
    storage = TaskStorage(tmp_path / "data", 1)
    return build(
        storage, storage.build_dir("rq"), files, params or DataParams(),
        limits=ArchiveLimits(), progress=lambda p: None, check=lambda: None,
    )  # fmt: skip


def test_classify_sorts_point_clouds_context_images_and_refuses_plain_images(
    tmp_path: Path,
) -> None:
    pcd = write(tmp_path / "p", ascii_pcd([(0, 0, 0)]))
    raw = write(tmp_path / "b", kitti_bin(np.zeros((1, 4))))
    image = png(tmp_path / "i.png")
    media = classify([("a.pcd", pcd), ("a.png", image), ("v/velodyne_points/data/1.bin", raw)])
    assert media.pointclouds == [("a.pcd", pcd), ("v/velodyne_points/data/1.pcd", raw)]
    assert media.images == [] and media.related == {"a.pcd": [("a.png", image)]}
    with pytest.raises(MediaError, match=r"^b\.png, c\.png: images that are not context images"):
        classify([("a.pcd", pcd), ("b.png", image), ("c.png", image)])
    with pytest.raises(MediaError, match=r"^x\.pcd: two point clouds have this name"):
        classify([("x.pcd", pcd), ("x.bin", raw)])
    bad_bin = write(tmp_path / "bad", b"\0" * 15)
    with pytest.raises(MediaError, match=r"^y\.bin: not a KITTI point cloud"):
        classify([("y.bin", bad_bin)])


def test_build_a_3d_data_set_with_context_images(tmp_path: Path) -> None:
    src = tmp_path / "src"
    clouds = [ascii_pcd([(i, i, i)] * (i + 2)) for i in range(3)]
    files = [
        Received(f"pointcloud/0000{i}.pcd", write(src / f"p{i}", clouds[i]), "pointcloud")
        for i in range(3)
    ]
    cam = png(src / "c0.png", (30, 20), (250, 0, 0))
    files.append(Received("related_images/00000_pcd/cam.png", cam, "image"))
    files.append(Received("related_images/00002_pcd/a.png", png(src / "c2a.png"), "image"))
    files.append(Received("related_images/00002_pcd/b.png", png(src / "c2b.png"), "image"))
    stored = run(tmp_path, files, DataParams(chunk_size=2))
    spec = stored.spec
    assert spec.dimension == "3d" and spec.mode == "annotation" and spec.chunk_size == 2
    assert [(f.name, f.width, f.height, f.related_files) for f in spec.frames] == [
        ("pointcloud/00000.pcd", 2, 1, 1),
        ("pointcloud/00001.pcd", 3, 1, 0),
        ("pointcloud/00002.pcd", 4, 1, 2),
    ]
    storage = TaskStorage(tmp_path / "data", 1)
    out = storage.build_dir("rq")
    assert storage.original_frame(stored.original_files[1], out).read_bytes() == clouds[1]
    for quality in ("compressed", "original"):
        with zipfile.ZipFile(storage.chunk(quality, 0, out)) as zf:
            assert zf.namelist() == ["000000.pcd", "000001.pcd"]
            assert zf.read("000001.pcd") == clouds[1]
        with zipfile.ZipFile(storage.chunk(quality, 1, out)) as zf:
            assert [zf.read(n) for n in zf.namelist()] == [clouds[2]]
    with zipfile.ZipFile(storage.context_images(2, out)) as zf:
        assert zf.namelist() == ["a.png.jpg", "b.png.jpg"]
    with zipfile.ZipFile(storage.context_images(0, out)) as zf:
        with Image.open(io.BytesIO(zf.read("cam.png.jpg"))) as image:
            assert image.size == (30, 20) and image.format == "JPEG"
    assert not storage.context_images(1, out).exists()
    lines = [json.loads(line) for line in storage.manifest(out).read_text().splitlines()]
    assert lines[:2] == [{"version": "1.1"}, {"type": "images"}]
    assert lines[2:] == [
        {"name": "pointcloud/00000", "extension": ".pcd",
         "meta": {"related_images": ["related_images/00000_pcd/cam.png"]}},
        {"name": "pointcloud/00001", "extension": ".pcd", "meta": {"related_images": []}},
        {"name": "pointcloud/00002", "extension": ".pcd",
         "meta": {"related_images": ["related_images/00002_pcd/a.png",
                                     "related_images/00002_pcd/b.png"]}},
    ]  # fmt: skip
    with Image.open(storage.preview(out)) as preview:
        assert preview.format == "JPEG" and max(preview.size) <= 256


def test_build_kitti_bins_converts_them_and_default_chunk_size_follows_cvat(tmp_path: Path) -> None:
    src = tmp_path / "src"
    rng = np.random.default_rng(5)
    scans = [rng.normal(size=(50 + i, 4)).astype("<f4") for i in range(2)]
    files = [
        Received(
            f"k/velodyne_points/data/000{i}.bin",
            write(src / f"b{i}", kitti_bin(scan)),
            "pointcloud",
        )
        for i, scan in enumerate(scans)
    ]
    files.append(Received("k/image_00/data/0001.png", png(src / "i1.png"), "image"))
    stored = run(tmp_path, files)
    assert [(f.name, f.width, f.height, f.related_files) for f in stored.spec.frames] == [
        ("k/velodyne_points/data/0000.pcd", 50, 1, 0),
        ("k/velodyne_points/data/0001.pcd", 51, 1, 1),
    ]
    # CVAT: chunk size from the first frame's WIDTH x HEIGHT, capped at 72
    assert stored.spec.chunk_size == 72
    storage = TaskStorage(tmp_path / "data", 1)
    data = storage.original_frame(stored.original_files[1], storage.build_dir("rq")).read_bytes()
    body = data[data.index(b"DATA binary\n") + len(b"DATA binary\n") :]
    np.testing.assert_array_equal(np.frombuffer(body, dtype="<f4").reshape(-1, 4), scans[1])


def test_a_broken_pcd_fails_the_build_naming_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = [
        Received("a.pcd", write(src / "a", ascii_pcd([(1, 2, 3)])), "pointcloud"),
        # a truncated body: the header is fine, the points are missing
        Received("b.pcd", write(src / "b", ascii_pcd([(1, 2, 3)], width=5)), "pointcloud"),
    ]
    with pytest.raises(MediaError, match=r"^b\.pcd: not a valid PCD point cloud \(1 data lines"):
        run(tmp_path, files)


def test_2d_build_counts_and_stores_context_images(tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = [
        Received("images/a.jpg", png(src / "a"), "image"),
        Received("images/b.jpg", png(src / "b"), "image"),
        Received("images/related_images/a_jpg/ctx1.png", png(src / "c1"), "image"),
        Received("images/related_images/a_jpg/ctx2.png", png(src / "c2"), "image"),
    ]
    stored = run(tmp_path, files)
    assert stored.spec.dimension == "2d"
    assert [(f.name, f.related_files) for f in stored.spec.frames] == [
        ("images/a.jpg", 2),
        ("images/b.jpg", 0),
    ]
    storage = TaskStorage(tmp_path / "data", 1)
    with zipfile.ZipFile(storage.context_images(0, storage.build_dir("rq"))) as zf:
        assert zf.namelist() == ["ctx1.png.jpg", "ctx2.png.jpg"]
    only_context = [Received("related_images/a_jpg/x.png", png(src / "x"), "image")]
    with pytest.raises(MediaError, match="every image is a context image"):
        run(tmp_path / "again", only_context)


def test_archives_keep_point_clouds_and_context_images(tmp_path: Path) -> None:
    from backend.media import archive

    path = tmp_path / "scans.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pointcloud/00001.pcd", ascii_pcd([(1, 2, 3)]))
        zf.writestr("velodyne_points/data/0000.bin", kitti_bin(np.ones((3, 4))))
        buf = io.BytesIO()
        Image.new("RGB", (4, 4)).save(buf, format="PNG")
        zf.writestr("related_images/00001_pcd/cam.png", buf.getvalue())
        zf.writestr("velodyne_points/timestamps.txt", b"2011-09-26 13:02:25\n")
    names = [m.name for m in archive.list_members(path, "scans.zip", ArchiveLimits())]
    assert names == [
        "pointcloud/00001.pcd",
        "velodyne_points/data/0000.bin",
        "related_images/00001_pcd/cam.png",
    ]
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("a/bad.pcd", b"VERSION 0.7\nFIELDS x y\nSIZE 4\nTYPE F\nWIDTH 1\nHEIGHT 1\n")
    with pytest.raises(MediaError, match=r"^broken\.zip: a/bad\.pcd: not a valid PCD point cloud"):
        archive.list_members(broken, "broken.zip", ArchiveLimits())
