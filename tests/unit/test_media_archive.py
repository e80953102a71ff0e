"""Zip archives are opened defensively: traversal, links, encryption, bombs and non-images
are refused with a message naming the archive."""

from __future__ import annotations

import io
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
