"""Zip and tar archives are opened defensively: traversal, links, encryption, bombs and non-images
are refused with a message naming the archive."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from backend.media.archive import ArchiveLimits, extract, list_members
from backend.media.images import MediaError, sniff

LIMITS = ArchiveLimits()


def png(size: tuple[int, int] = (4, 3)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(out, format="PNG")
    return out.getvalue()


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_extract_keeps_archive_paths_as_names_and_generates_disk_names(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"dir/x.png": png(), "y.png": png((5, 5))})
    out = extract(archive, "a.zip", tmp_path / "out", LIMITS)
    assert [name for name, _ in out] == ["dir/x.png", "y.png"]
    assert all(path.parent == tmp_path / "out" for _, path in out)
    assert out[1][1].read_bytes() == png((5, 5))


def test_junk_and_sidecar_files_are_skipped(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "a.zip",
        {"x.png": png(), "__MACOSX/._x.png": b"junk", ".DS_Store": b"", "labels.txt": b"car"},
    )
    assert [m.name for m in list_members(archive, "a.zip", LIMITS)] == ["x.png"]


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        ("../evil.png", "outside"),
        ("a/../../evil.png", "outside"),
        ("/etc/evil.png", "absolute"),
        ("C:\\\\evil.png", "absolute"),
    ],
)
def test_traversal_is_refused(tmp_path: Path, member: str, problem: str) -> None:
    archive = make_zip(tmp_path / "t.zip", {member: png()})
    with pytest.raises(MediaError, match=problem) as info:
        list_members(archive, "t.zip", LIMITS)
    assert "t.zip" in str(info.value)


def test_symlinks_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("x.png")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(MediaError, match="symbolic link"):
        list_members(path, "l.zip", LIMITS)


def test_member_count_and_unpacked_size_are_bounded(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "many.zip", {f"{i}.png": png() for i in range(5)})
    with pytest.raises(MediaError, match="more than 4 files"):
        list_members(archive, "many.zip", ArchiveLimits(max_members=4))
    with pytest.raises(MediaError, match="unpacks to more than"):
        list_members(archive, "many.zip", ArchiveLimits(max_unpacked_bytes=len(png()) * 2))


def test_non_image_members_and_broken_archives_are_named(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "m.zip", {"ok.png": png(), "bad.png": b"not an image"})
    with pytest.raises(MediaError, match=r"'bad\.png' is not an image"):
        list_members(archive, "m.zip", LIMITS)
    broken = tmp_path / "b.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(MediaError, match=r"b\.zip"):
        list_members(broken, "b.zip", LIMITS)
    empty = make_zip(tmp_path / "e.zip", {"notes.txt": b"x"})
    with pytest.raises(MediaError, match="no images"):
        list_members(empty, "e.zip", LIMITS)


def test_sniff_goes_by_content_not_name(tmp_path: Path) -> None:
    disguised = tmp_path / "photo.jpg"
    disguised.write_bytes(b"#!/bin/sh\necho hi\n")
    with pytest.raises(MediaError, match=r"photo\.jpg"):
        sniff(disguised, "photo.jpg")
    real = tmp_path / "noext"
    real.write_bytes(png())
    assert sniff(real, "noext") == "image"
    assert sniff(make_zip(tmp_path / "z.bin", {"a.png": png()}), "z.bin") == "archive"


# --- tar archives ----------------------------------------------------------------------

TAR_MODES = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}


def make_tar(path: Path, members: dict[str, bytes], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def tar_with(path: Path, info: tarfile.TarInfo) -> Path:
    with tarfile.open(path, "w") as tf:
        data = png()
        ok = tarfile.TarInfo("ok.png")
        ok.size = len(data)
        tf.addfile(ok, io.BytesIO(data))
        tf.addfile(info)
    return path


@pytest.mark.parametrize("kind", TAR_MODES)
def test_tar_archives_of_every_compression_are_sniffed_and_extracted(
    tmp_path: Path, kind: str
) -> None:
    # The name says nothing: the content decides.
    path = make_tar(
        tmp_path / "data.bin",
        {"dir/x.png": png(), "notes.txt": b"sidecar", "y.png": png((5, 5))},
        TAR_MODES[kind],
    )
    assert sniff(path, "data.bin") == "archive"
    assert [m.name for m in list_members(path, "data.bin", LIMITS)] == ["dir/x.png", "y.png"]
    out = extract(path, "data.bin", tmp_path / "out", LIMITS)
    assert [name for name, _ in out] == ["dir/x.png", "y.png"]
    assert all(p.parent == tmp_path / "out" for _, p in out)
    assert out[0][1].read_bytes() == png() and out[1][1].read_bytes() == png((5, 5))


@pytest.mark.parametrize(
    ("member", "problem"),
    [("../evil.png", "outside"), ("a/../../evil.png", "outside"), ("/etc/evil.png", "absolute")],
)
def test_tar_traversal_is_refused_before_anything_is_written(
    tmp_path: Path, member: str, problem: str
) -> None:
    path = make_tar(tmp_path / "t.tar.gz", {"first.png": png(), member: png()}, "w:gz")
    with pytest.raises(MediaError, match=problem) as info:
        extract(path, "t.tar.gz", tmp_path / "out", LIMITS)
    assert "t.tar.gz" in str(info.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("entry_type", "problem"),
    [
        (tarfile.SYMTYPE, "symbolic link"),
        (tarfile.LNKTYPE, "hard link"),
        (tarfile.CHRTYPE, "not a regular file"),
        (tarfile.BLKTYPE, "not a regular file"),
        (tarfile.FIFOTYPE, "not a regular file"),
    ],
)
def test_tar_links_and_devices_are_refused(tmp_path: Path, entry_type: bytes, problem: str) -> None:
    info = tarfile.TarInfo("x.png")
    info.type = entry_type
    info.linkname = "/etc/passwd"
    path = tar_with(tmp_path / "l.tar", info)
    with pytest.raises(MediaError, match=rf"l\.tar: member 'x\.png' is a? ?{problem}"):
        list_members(path, "l.tar", LIMITS)


def test_tar_member_count_unpacked_size_and_duplicates_are_bounded(tmp_path: Path) -> None:
    path = make_tar(tmp_path / "many.tgz", {f"{i}.png": png() for i in range(5)}, "w:gz")
    with pytest.raises(MediaError, match="more than 4 files"):
        list_members(path, "many.tgz", ArchiveLimits(max_members=4))
    with pytest.raises(MediaError, match="unpacks to more than"):
        list_members(path, "many.tgz", ArchiveLimits(max_unpacked_bytes=len(png()) * 2))
    # Skipped sidecar members count too: skipping a tar member still unpacks it.
    padded = make_tar(tmp_path / "pad.tar", {"a.png": png(), "big.txt": b"x" * 10_000})
    with pytest.raises(MediaError, match="unpacks to more than"):
        list_members(padded, "pad.tar", ArchiveLimits(max_unpacked_bytes=5_000))
    twice = tmp_path / "twice.tar"
    with tarfile.open(twice, "w") as tf:
        for _ in range(2):
            info = tarfile.TarInfo("a.png")
            info.size = len(png())
            tf.addfile(info, io.BytesIO(png()))
    with pytest.raises(MediaError, match="same file name twice"):
        list_members(twice, "twice.tar", LIMITS)


def test_broken_and_non_image_tars_are_named(tmp_path: Path) -> None:
    good = make_tar(tmp_path / "g.tar.gz", {f"{i}.png": png() for i in range(20)}, "w:gz")
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(MediaError, match=r"cut\.tar\.gz: cannot read the archive"):
        list_members(truncated, "cut.tar.gz", LIMITS)
    bad = make_tar(tmp_path / "m.tar", {"ok.png": png(), "bad.png": b"not an image"})
    with pytest.raises(MediaError, match=r"m\.tar: member 'bad\.png' is not an image"):
        list_members(bad, "m.tar", LIMITS)
    empty = make_tar(tmp_path / "e.tar.xz", {"notes.txt": b"x"}, "w:xz")
    with pytest.raises(MediaError, match="no images"):
        list_members(empty, "e.tar.xz", LIMITS)
    # gzip of something that is not a tar is no archive
    import gzip

    plain = tmp_path / "p.gz"
    plain.write_bytes(gzip.compress(b"hello" * 100))
    with pytest.raises(MediaError, match=r"p\.gz"):
        sniff(plain, "p.gz")


def test_an_image_whose_header_is_past_the_first_bytes_is_still_kept(tmp_path: Path) -> None:
    # A JPEG with a large ICC profile: its frame header comes after ~200 KB of metadata.
    out = io.BytesIO()
    Image.new("RGB", (6, 4), (9, 9, 9)).save(out, "JPEG", icc_profile=bytes(200_000))
    jpeg = out.getvalue()
    from backend.media.archive import FIRST_HEAD_BYTES, _is_image

    assert not _is_image(jpeg[:FIRST_HEAD_BYTES])  # the first look is not enough
    for path in (
        make_zip(tmp_path / "p.zip", {"p.jpg": jpeg}),
        make_tar(tmp_path / "p.tgz", {"p.jpg": jpeg}, "w:gz"),
    ):
        out_dir = tmp_path / f"out-{path.name}"
        extracted = extract(path, path.name, out_dir, LIMITS)
        assert [name for name, _ in extracted] == ["p.jpg"]
        assert extracted[0][1].read_bytes() == jpeg
