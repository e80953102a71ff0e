"""The file side of imports and exports: archive names, safe unpacking of uploads
(extract_tree), which images of a dataset are frames, and the format registry's listing
and lookups."""

from __future__ import annotations

import datetime
import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from backend.formats import pipeline, registry
from backend.formats.model import FormatError
from backend.media import archive
from backend.media.archive import ArchiveLimits
from backend.media.images import MediaError

LIMITS = ArchiveLimits(max_members=100, max_unpacked_bytes=10_000)


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_archive_name_is_cvats_and_safe_for_content_disposition() -> None:
    when = datetime.datetime(2024, 5, 6, 7, 8, 9)
    name = pipeline.archive_name("task", "My Task/ä", "COCO 1.0", False, when)
    assert name == "task_my task__annotations_2024_05_06_07_08_09_coco 1.0.zip"
    assert pipeline.archive_name("job", 7, "YOLO 1.1", True, when).startswith("job_7_dataset_")
    assert pipeline.safe_file_name("..hidden") == "hidden.zip"
    assert pipeline.safe_file_name("x.zip") == "x.zip"
    assert pipeline.safe_file_name("") == "export.zip"
    assert pipeline.safe_object_key("/out/a b/ä.zip") == "out/a b/_.zip"
    for bad in ("a/../b.zip", "a//b.zip", ""):
        with pytest.raises(ValueError, match="not a usable object name"):
            pipeline.safe_object_key(bad)


def test_extract_tree_keeps_the_layout_and_leaves_junk_out(tmp_path: Path) -> None:
    upload = write_zip(tmp_path / "a.zip", {
        "annotations/instances_default.json": b"{}", "images/a/b.png": b"png",
        "__MACOSX/._b.png": b"junk", ".DS_Store": b"junk",
    })  # fmt: skip
    written = archive.extract_tree(upload, "a.zip", tmp_path / "out", LIMITS)
    assert written == 2
    files = sorted(
        p.relative_to(tmp_path / "out").as_posix()
        for p in (tmp_path / "out").rglob("*")
        if p.is_file()
    )
    assert files == ["annotations/instances_default.json", "images/a/b.png"]


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"../evil.json": b"{}"}, "outside the archive"),
        ({"/etc/passwd": b"x"}, "absolute path"),
        ({"a.json": b"x" * 20_000}, "unpacks to more than"),
    ],
)
def test_extract_tree_refuses_before_writing_anything(
    tmp_path: Path, members: dict[str, bytes], expected: str
) -> None:
    upload = write_zip(tmp_path / "bad.zip", {"ok.json": b"{}", **members})
    with pytest.raises(MediaError, match=expected) as info:
        archive.extract_tree(upload, "bad.zip", tmp_path / "out", LIMITS)
    assert "bad.zip" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_extract_tree_refuses_a_zip_bomb_by_its_ratio(tmp_path: Path) -> None:
    limits = ArchiveLimits(max_unpacked_bytes=10**9, max_ratio=50, ratio_slack_bytes=100_000)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("annotations.xml", b"\0" * 2_000_000)  # about 1000:1
    with pytest.raises(MediaError, match=r"bomb.zip: unpacks to 2000000 bytes .*zip bomb") as info:
        archive.extract_tree(bomb, "bomb.zip", tmp_path / "out", limits)
    assert "more than 50:1" in str(info.value)
    assert not (tmp_path / "out").exists()
    # the same ratio under the slack, and real text past it, unpack
    small = write_zip(tmp_path / "small.zip", {"a.xml": b"\0" * 90_000})
    assert archive.extract_tree(small, "small.zip", tmp_path / "small", limits) == 1
    text = b"".join(b"<box xtl='%d' ytl='%d'/>\n" % (i, i * 7 % 997) for i in range(20_000))
    real = tmp_path / "real.zip"
    with zipfile.ZipFile(real, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("annotations.xml", text)
    assert archive.extract_tree(real, "real.zip", tmp_path / "real", limits) == 1


def test_extract_tree_refuses_links_and_duplicates(tmp_path: Path) -> None:
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("evil")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(MediaError, match="symbolic link"):
        archive.extract_tree(link, "link.zip", tmp_path / "out", LIMITS)
    tar = tmp_path / "dup.tar"
    with tarfile.open(tar, "w") as tf:
        for _ in range(2):
            data = b"{}"
            entry = tarfile.TarInfo("a.json")
            entry.size = len(data)
            tf.addfile(entry, io.BytesIO(data))
    with pytest.raises(MediaError, match="same file name twice"):
        archive.extract_tree(tar, "dup.tar", tmp_path / "out", LIMITS)


def test_unpack_upload_passes_a_single_file_and_names_a_bad_archive(tmp_path: Path) -> None:
    single = tmp_path / "upload"
    single.write_bytes(b"<annotations/>")
    path = pipeline.unpack_upload(single, "ann.xml", tmp_path / "w1", LIMITS)
    assert path.name == "ann.xml" and path.read_bytes() == b"<annotations/>"
    bad = write_zip(tmp_path / "z", {"../../x": b"1"})
    with pytest.raises(FormatError, match=r"up\.zip"):
        pipeline.unpack_upload(bad, "up.zip", tmp_path / "w2", LIMITS)


def test_dataset_frames_are_images_outside_mask_directories(tmp_path: Path) -> None:
    names = (
        "JPEGImages/a.jpg", "JPEGImages/b.jpg", "SegmentationClass/a.png",
        "SegmentationObject/a.png", "camvid/trainannot/a.png", "labels/a.txt",
    )  # fmt: skip
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [n for n, _ in pipeline.dataset_frames(tmp_path)] == ["a.jpg", "b.jpg"]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.jpg").write_bytes(b"x")
    assert [n for n, _ in pipeline.dataset_frames(tmp_path)] == [
        "JPEGImages/a.jpg", "JPEGImages/b.jpg", "other/a.jpg",
    ]  # fmt: skip
    with pytest.raises(FormatError, match="no images"):
        pipeline.dataset_frames(tmp_path / "labels")


def test_listing_follows_the_registry_and_cvats_sides() -> None:
    def exporter(source: object, out: Path, save_images: bool) -> None:
        pass

    listing = registry.listing()
    importers = {e["name"] for e in listing["importers"]}
    exporters = {e["name"] for e in listing["exporters"]}
    assert "CVAT 1.1" in importers and "CVAT 1.1" not in exporters
    assert "CVAT for images 1.1" in exporters and "CVAT for images 1.1" not in importers
    registry.register(registry.FormatInfo("Test only", "ZIP", "0.1", "2d", None, exporter))  # type: ignore[arg-type]
    try:
        listing = registry.listing()
        (entry,) = [e for e in listing["exporters"] if e["name"] == "Test only 0.1"]
        assert entry["enabled"] is True
        assert not [e for e in listing["importers"] if e["name"] == "Test only 0.1"]
        assert registry.exporter_for("Test only 0.1").exporter is exporter
        with pytest.raises(registry.FormatNotFound, match=r"'Test only 0\.1' is not available"):
            registry.importer_for("Test only 0.1")
    finally:
        registry.unregister("Test only 0.1")
    with pytest.raises(registry.FormatNotFound, match="not a known format"):
        registry.exporter_for("Nothing 9.9")
