"""manifest.jsonl in CVAT's format: what we write reads back the same, CVAT's own examples
read, and every kind of bad line is refused with the line named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.media import manifest as mf
from backend.media.images import MediaError

# The documentation's examples (CVAT dataset manifest page), byte for byte.
DOC_IMAGES = b"""{"version":"1.0"}
{"type":"images"}
{"name":"image1","extension":".jpg","width":720,"height":405,"meta":{"related_images":[]},"checksum":"548918ec4b56132a5cff1d4acabe9947"}
{"name":"image2","extension":".jpg","width":183,"height":275,"meta":{"related_images":[]},"checksum":"4b4eefd03cc6a45c1c068b98477fb639"}
"""
DOC_VIDEO = b"""{"version":"1.0"}
{"type":"video"}
{"properties":{"name":"video.mp4","resolution":[1280,720],"length":778}}
{"number":0,"pts":0,"checksum":"17bb40d76887b56fe8213c6fded3d540"}
{"number":135,"pts":486000,"checksum":"9da9b4d42c1206d71bf17a7070a05847"}
"""


def test_documentation_examples_read() -> None:
    images = mf.parse(DOC_IMAGES)
    assert isinstance(images, mf.ImagesManifest) and images.version == "1.0"
    assert [(i.file_name, i.width, i.height) for i in images.items] == [
        ("image1.jpg", 720, 405),
        ("image2.jpg", 183, 275),
    ]
    video = mf.parse(DOC_VIDEO)
    assert isinstance(video, mf.VideoManifest)
    assert (video.name, video.width, video.height, video.length) == ("video.mp4", 1280, 720, 778)
    assert [(k.number, k.pts) for k in video.keyframes] == [(0, 0), (135, 486000)]


def test_images_round_trip_through_a_file(tmp_path: Path) -> None:
    items = [
        mf.image_item("dir/sub/a.PNG", 10, 20, checksum=mf.pixels_checksum(b"\x00" * 600)),
        mf.image_item("b.jpeg", 3, 4, related_images=["related_images/b_jpeg/1.png"]),
        mf.image_item("scan.pcd", None, None),  # 3D manifests carry no size
        mf.image_item("no_extension", 1, 1),
    ]
    path = tmp_path / mf.FILE_NAME
    mf.write_images(path, items)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[:2] == [{"version": "1.1"}, {"type": "images"}]
    assert lines[2] == {
        "name": "dir/sub/a", "extension": ".PNG", "width": 10, "height": 20,
        "meta": {"related_images": []}, "checksum": items[0].checksum,
    }  # fmt: skip
    back = mf.read_images(path)
    assert back.items == items and back.version == "1.1"
    assert [i.file_name for i in back.items] == [
        "dir/sub/a.PNG",
        "b.jpeg",
        "scan.pcd",
        "no_extension",
    ]
    assert not list(tmp_path.glob("*.part"))


def test_video_round_trip_through_a_file(tmp_path: Path) -> None:
    keys = [mf.KeyFrame(number=0, pts=0, checksum="a" * 32), mf.KeyFrame(number=30, pts=15360)]
    path = tmp_path / mf.FILE_NAME
    mf.write_video(path, "clip.mp4", 1920, 1080, 90, keys)
    assert path.read_bytes().splitlines()[:3] == [
        b'{"version":"1.0"}',
        b'{"type":"video"}',
        b'{"properties":{"name":"clip.mp4","resolution":[1920,1080],"length":90}}',
    ]
    back = mf.read_video(path)
    assert (back.name, back.width, back.height, back.length, back.keyframes) == (
        "clip.mp4", 1920, 1080, 90, keys,
    )  # fmt: skip


def test_reading_the_wrong_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(DOC_VIDEO)
    with pytest.raises(MediaError, match=r"m\.jsonl: a video manifest"):
        mf.read_images(path)
    path.write_bytes(DOC_IMAGES)
    with pytest.raises(MediaError, match=r"m\.jsonl: a manifest of images"):
        mf.read_video(path)


def test_blank_lines_and_unknown_item_keys_are_accepted() -> None:
    data = b'\n{"version":"1.1"}\n\n{"type":"images"}\n{"name":"a","extension":".png","x":1}\n\n'
    manifest = mf.parse(data)
    assert isinstance(manifest, mf.ImagesManifest)
    assert [i.file_name for i in manifest.items] == ["a.png"]


HEAD = '{"version":"1.1"}\n{"type":"images"}\n'
VHEAD = '{"version":"1.0"}\n{"type":"video"}\n'
PROPS = '{"properties":{"name":"v.mp4","resolution":[4,2],"length":10}}\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the manifest is empty"),
        ("[1]\n", "line 1: must be a JSON object"),
        ('{"version":"1.1"\n', "line 1: not valid JSON"),
        ('{"type":"images"}\n', 'line 1: expected {"version": ...}'),
        ('{"version":"2.0"}\n{"type":"images"}\n', "line 1: unsupported manifest version '2.0'"),
        ('{"version":"1.1"}\n', 'line 2: the {"type": ...} line is missing'),
        ('{"version":"1.1"}\n{"type":"audio"}\n', "line 2: type must be 'images' or 'video'"),
        ('{"version":"1.1"}\n{"type":"images","x":1}\n', 'line 2: expected {"type": ...}'),
        (HEAD + '{"extension":".jpg"}\n', "line 3: 'name' is required"),
        (HEAD + '{"name":"a"}\n', "line 3: 'extension' is required"),
        (HEAD + '{"name":"","extension":".jpg"}\n', "line 3: 'name' must be a non-empty string"),
        (HEAD + '{"name":7,"extension":".jpg"}\n', "line 3: 'name' must be a non-empty string"),
        (HEAD + '{"name":"a","extension":"jpg"}\n', "line 3: extension must start with '.'"),
        (HEAD + '{"name":"../a","extension":".jpg"}\n', "line 3: '../a' is not a relative path"),
        (HEAD + '{"name":"/etc/a","extension":".jpg"}\n', "line 3: '/etc/a' is not a relative"),
        (HEAD + '{"name":"a\\\\b","extension":".jpg"}\n', "line 3: 'a\\\\\\\\b' is not a relative"),
        (HEAD + '{"name":"a","extension":".jpg","width":5}\n', "line 3: width and height go"),
        (
            HEAD + '{"name":"a","extension":".jpg","width":0,"height":5}\n',
            "line 3: 'width' must be a positive integer, not 0",
        ),
        (
            HEAD + '{"name":"a","extension":".jpg","width":5,"height":"5"}\n',
            "line 3: 'height' must be a positive integer",
        ),
        (
            HEAD + '{"name":"a","extension":".jpg","width":true,"height":5}\n',
            "line 3: 'width' must be a positive integer, not true",
        ),
        (HEAD + '{"name":"a","extension":".jpg","meta":[]}\n', "line 3: 'meta' must be an object"),
        (
            HEAD + '{"name":"a","extension":".jpg","meta":{"related_images":[1]}}\n',
            "line 3: 'meta.related_images' must be a list",
        ),
        (
            HEAD + '{"name":"a","extension":".jpg","checksum":"xyz"}\n',
            "line 3: 'checksum' must be an md5",
        ),
        (
            HEAD + '{"name":"a","extension":".jpg"}\n\n{"name":"a","extension":".jpg"}\n',
            r"line 5: a.jpg is listed twice \(first on line 3\)",
        ),
        (VHEAD, 'line 3: the {"properties": ...} line is missing'),
        (VHEAD + '{"properties":[]}\n', "line 3: properties must be an object"),
        (VHEAD + '{"properties":{"resolution":[4,2],"length":1}}\n', "line 3: 'name' is required"),
        (
            VHEAD + '{"properties":{"name":"v","resolution":[4],"length":1}}\n',
            "line 3: resolution must be",
        ),
        (
            VHEAD + '{"properties":{"name":"v","resolution":[4,2],"length":0}}\n',
            "line 3: 'length' must be a positive integer",
        ),
        (VHEAD + PROPS + '{"number":-1,"pts":0}\n', "line 4: number must be a non-negative"),
        (VHEAD + PROPS + '{"number":10,"pts":0}\n', "line 4: frame 10 is beyond the video length"),
        (VHEAD + PROPS + '{"number":1,"pts":"0"}\n', "line 4: pts must be an integer"),
        (
            VHEAD + PROPS + '{"number":5,"pts":9}\n{"number":5,"pts":10}\n',
            r"line 5: key frame numbers must increase \(5 after 5\)",
        ),
        (
            VHEAD + PROPS + '{"number":0,"pts":9}\n{"number":5,"pts":9}\n',
            r"line 5: pts must increase \(9 after 9\)",
        ),
        (
            VHEAD + PROPS + '{"number":0,"pts":0,"checksum":5}\n',
            "line 4: 'checksum' must be an md5",
        ),
    ],
)
def test_bad_manifests_name_the_line(text: str, message: str) -> None:
    with pytest.raises(MediaError, match=message) as caught:
        mf.parse(text.encode(), "data/manifest.jsonl")
    assert str(caught.value).startswith("data/manifest.jsonl: ")


def test_non_utf8_line_is_named() -> None:
    with pytest.raises(MediaError, match="m: line 3: not UTF-8"):
        mf.parse(HEAD.encode() + b'{"name":"\xff","extension":".jpg"}\n', "m")


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"up/manifest\.jsonl: cannot read the manifest"):
        mf.read(tmp_path / "absent.jsonl", "up/manifest.jsonl")


def test_check_describes_names_missing_and_extra_files() -> None:
    manifest = mf.parse(DOC_IMAGES)
    assert isinstance(manifest, mf.ImagesManifest)
    mf.check_describes(manifest, ["image2.jpg", "image1.jpg"], "manifest.jsonl")
    with pytest.raises(MediaError) as caught:
        mf.check_describes(manifest, ["image1.jpg", "other.png"], "manifest.jsonl")
    assert str(caught.value) == (
        "manifest.jsonl: the manifest does not match the files: it does not list other.png; "
        "it lists image2.jpg, which is not among the task's files"
    )


def test_looks_like_manifest() -> None:
    assert mf.looks_like_manifest(DOC_IMAGES[:64])
    assert mf.looks_like_manifest(b'\xef\xbb\xbf{"version": "1.1"}\r\n')
    assert not mf.looks_like_manifest(b'{"type":"images"}\n')
    assert not mf.looks_like_manifest(b"\x89PNG\r\n\x1a\n")
