"""CVAT for images 1.1 / CVAT for video 1.1: golden files, round trips and bad files.

The golden files in tests/formats/ are the two examples of the seed's "XML annotation
format" section, verbatim. Round trips go through real files (export into a directory,
import from it); bad files each check that the FormatError names the problem and where.
"""

from __future__ import annotations

import dataclasses
import io
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec
import pytest

from backend.domain.interpolation import interpolate_keyframes
from backend.domain.labels import AttributeSpec, LabelSpec
from backend.domain.objects import (
    AttributeVal,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    SkeletonElementShape,
    SkeletonElementTrack,
    TrackedShape,
)
from backend.formats import registry
from backend.formats.cvat_xml import (
    PROJECT_EXPORTERS,
    ProjectInfo,
    export_images,
    export_video,
    import_cvat_xml,
)
from backend.formats.cvat_xml_export import write_images_xml, write_video_xml
from backend.formats.cvat_xml_project import (
    defaulted_subset,
    mangle_image_name,
    write_project_video_xml,
)
from backend.formats.model import CvatAnnotations, ExportSource, FormatError, FrameSpec

GOLDEN = Path(__file__).parent.parent / "formats"

CAR, PERSON, HEAD, FOOT, WEATHER = 1, 2, 3, 4, 5
MODEL, PARKED, SPEED, VISIBLE, KIND = 11, 12, 13, 14, 15

LABELS = [
    LabelSpec(
        id=CAR,
        name="car",
        color="#ff0000",
        attributes=[
            AttributeSpec(id=MODEL, name="model", input_type="text", default_value=""),
            AttributeSpec(
                id=PARKED, name="parked", input_type="checkbox", mutable=True,
                default_value="false",
            ),
            AttributeSpec(
                id=SPEED, name="speed", input_type="number", mutable=True,
                values=["0", "100", "1"], default_value="0",
            ),
        ],
    ),
    LabelSpec(
        id=PERSON,
        name="person",
        type="skeleton",
        svg='<circle data-label-id="3" cx="1" cy="1"></circle>',
        sublabels=[
            LabelSpec(
                id=HEAD, name="head", type="points", parent_id=PERSON,
                attributes=[
                    AttributeSpec(
                        id=VISIBLE, name="visible", input_type="checkbox", mutable=True,
                        default_value="true",
                    )
                ],
            ),
            LabelSpec(id=FOOT, name="foot", type="points", parent_id=PERSON),
        ],
    ),
    LabelSpec(
        id=WEATHER,
        name="weather",
        type="tag",
        attributes=[
            AttributeSpec(
                id=KIND, name="kind", input_type="select", values=["sun", "rain"],
                default_value="sun",
            )
        ],
    ),
]  # fmt: skip


def frames(count: int, video: bool = False) -> list[FrameSpec]:
    name = "frame_{:06d}" if video else "img_{:03d}.jpg"
    return [FrameSpec(i, name.format(i), 640, 480) for i in range(count)]


def source(
    annotations: CvatAnnotations,
    *,
    count: int = 10,
    labels: list[LabelSpec] | None = None,
    job_id: int | None = None,
    frame_list: list[FrameSpec] | None = None,
    meta: dict[str, Any] | None = None,
    mode: str = "annotation",
) -> ExportSource:
    return ExportSource(
        task_id=7,
        task_name="roads",
        job_id=job_id,
        mode=mode,
        dimension="2d",
        frames=frame_list if frame_list is not None else frames(count),
        labels=LABELS if labels is None else labels,
        annotations=annotations,
        meta=meta or {},
    )


def anns(
    shapes: list[LabeledShape] | None = None,
    tracks: list[LabeledTrack] | None = None,
    tags: list[LabeledImage] | None = None,
) -> CvatAnnotations:
    return CvatAnnotations(version=0, shapes=shapes or [], tracks=tracks or [], tags=tags or [])


def as_file(obj: Any) -> Any:
    """What an import gives back: source "file", no ids (the domain assigns them)."""
    if isinstance(obj, list):
        return [as_file(o) for o in obj]
    if isinstance(obj, msgspec.Struct):
        changes: dict[str, Any] = {}
        for name in obj.__struct_fields__:
            value = getattr(obj, name)
            if name == "source":
                changes[name] = "file"
            elif name == "id":
                changes[name] = None
            elif isinstance(value, list):
                changes[name] = as_file(value)
        return msgspec.structs.replace(obj, **changes)
    return obj


def roundtrip(exporter: Any, src: ExportSource, tmp_path: Path) -> CvatAnnotations:
    out = tmp_path / "out"
    out.mkdir()
    exporter(src, out, False)
    assert sorted(p.name for p in out.iterdir()) == ["annotations.xml"]
    ET.parse(out / "annotations.xml")  # well-formed
    return import_cvat_xml(out, src)


# ----------------------------------------------------------------------------------------
# annotations used by the round trips

ALL_SHAPES = [
    LabeledShape(
        type="rectangle", frame=0, label_id=CAR, points=[1.5, 2.25, 30.0, 40.75], rotation=30.5,
        z_order=2, group=1, occluded=True,
        attributes=[AttributeVal(MODEL, 'a<b & "c"'), AttributeVal(PARKED, "true"),
                    AttributeVal(SPEED, "42")],
    ),
    LabeledShape(
        type="polygon", frame=0, label_id=CAR, points=[1, 1, 10, 1, 10, 10, 1, 10], z_order=-1,
        group=1,
    ),
    LabeledShape(type="polyline", frame=1, label_id=CAR, points=[0, 0, 5.5, 5.5, 7, 3]),
    LabeledShape(type="points", frame=1, label_id=CAR, points=[3, 4]),
    LabeledShape(
        type="ellipse", frame=2, label_id=CAR, points=[50, 50, 70, 40], rotation=10,
    ),
    LabeledShape(
        type="cuboid", frame=2, label_id=CAR, points=[float(i) for i in range(16)], z_order=5,
    ),
    LabeledShape(
        type="mask", frame=3, label_id=CAR, points=[2, 3, 1, 4, 10, 20, 14, 21], occluded=True,
    ),
    LabeledShape(
        type="skeleton", frame=4, label_id=PERSON, z_order=1, group=3,
        elements=[
            SkeletonElementShape(
                type="points", frame=4, label_id=HEAD, points=[10, 10], occluded=True,
                attributes=[AttributeVal(VISIBLE, "false")],
            ),
            SkeletonElementShape(
                type="points", frame=4, label_id=FOOT, points=[12, 30], outside=True,
            ),
        ],
    ),
]  # fmt: skip

TAGS = [
    LabeledImage(frame=0, label_id=WEATHER, attributes=[AttributeVal(KIND, "rain")]),
    LabeledImage(frame=5, label_id=CAR, group=2, attributes=[AttributeVal(MODEL, "x")]),
]


def box_track() -> LabeledTrack:
    def kf(frame: int, x: float, speed: str, outside: bool = False) -> TrackedShape:
        return TrackedShape(
            type="rectangle", frame=frame, points=[x, 10, x + 20, 30], outside=outside,
            z_order=3, rotation=15, occluded=frame == 2,
            attributes=[AttributeVal(PARKED, "false"), AttributeVal(SPEED, speed)],
        )  # fmt: skip

    return LabeledTrack(
        frame=0,
        label_id=CAR,
        group=4,
        shapes=[kf(0, 10, "1"), kf(2, 30, "2"), kf(4, 30, "3", outside=True), kf(6, 50, "4")],
        attributes=[AttributeVal(MODEL, "sedan")],
    )


def skeleton_track() -> LabeledTrack:
    def point(frame: int, xy: list[float], outside: bool = False) -> TrackedShape:
        return TrackedShape(type="points", frame=frame, points=xy, outside=outside)

    return LabeledTrack(
        frame=1,
        label_id=PERSON,
        shapes=[
            TrackedShape(type="skeleton", frame=1, z_order=2),
            TrackedShape(type="skeleton", frame=3),
        ],
        elements=[
            SkeletonElementTrack(
                frame=1, label_id=HEAD, shapes=[point(1, [5, 5]), point(3, [9, 5])],
            ),
            SkeletonElementTrack(
                frame=1, label_id=FOOT, shapes=[point(1, [5, 20]), point(3, [9, 20], True)],
            ),
        ],
    )  # fmt: skip


# ----------------------------------------------------------------------------------------
# registry


def test_registered_under_cvat_names() -> None:
    images = registry.FORMATS["CVAT for images 1.1"]
    video = registry.FORMATS["CVAT for video 1.1"]
    cvat = registry.FORMATS["CVAT 1.1"]
    assert images.exporter is export_images and video.exporter is export_video
    assert images.importer is video.importer is cvat.importer is import_cvat_xml
    assert cvat.exporter is None and images.import_ext == "XML, ZIP" and images.ext == "ZIP"


# ----------------------------------------------------------------------------------------
# golden files: the seed's examples


def seed_labels(names: list[str]) -> list[LabelSpec]:
    return [LabelSpec(id=i + 1, name=name) for i, name in enumerate(names)]


IMAGES_LABELS = seed_labels(["car", "traffic_line", "wheel", "plate", "good_frame"])
IMAGES_META = {
    "created": "2018-09-25 11:34:24.617558+03:00",
    "updated": "2018-09-25 11:38:27.301183+03:00",
    "dumped": "2018-09-25 11:38:28.799808+03:00",
    "bugtracker": "",
    "overlap": 0,
    "segments": [{"id": 4, "start": 0, "stop": 26, "url": "http://localhost:8080/?id=4"}],
    "owner": {"username": "admin", "email": ""},
}


def images_target(annotations: CvatAnnotations | None = None) -> ExportSource:
    frame_list = [FrameSpec(0, "filename000.jpg", 1600, 1200)] + [
        FrameSpec(i, f"filename{i:03d}.jpg", 1600, 1200) for i in range(1, 27)
    ]
    return ExportSource(
        task_id=4,
        task_name="segmentation",
        job_id=None,
        mode="annotation",
        dimension="2d",
        frames=frame_list,
        labels=IMAGES_LABELS,
        annotations=annotations or anns(),
        meta=IMAGES_META,
    )


def test_golden_images_parse() -> None:
    got = import_cvat_xml(GOLDEN / "cvat_images_seed.xml", images_target())
    by_type = {s.type: s for s in got.shapes}
    assert [s.type for s in got.shapes] == [
        "rectangle", "polygon", "polyline", "polyline", "points",
    ]  # fmt: skip
    box = by_type["rectangle"]
    assert (box.label_id, box.points, box.z_order, box.occluded, box.frame) == (
        4, [797.33, 870.92, 965.52, 928.94], 4, False, 0,
    )  # fmt: skip
    assert len(by_type["polygon"].points) == 2 * 69 and by_type["polygon"].z_order == 1
    assert [s.points for s in got.shapes if s.type == "polyline"] == [
        [462.10, 0.0, 126.80, 1200.0], [1212.40, 0.0, 1568.66, 1200.0],
    ]  # fmt: skip
    assert by_type["points"].points == [574.90, 939.48, 1170.16, 907.90, 1130.69, 445.26,
                                        600.16, 459.48]  # fmt: skip
    assert got.tags == [LabeledImage(frame=0, label_id=5, source="file")]
    assert got.tracks == []
    assert {s.source for s in got.shapes} == {"file"}


def elements_of(path: Path | str, tag: str) -> list[ET.Element]:
    root = ET.parse(path).getroot() if isinstance(path, Path) else ET.fromstring(path)
    return root.findall(tag)


def same_tree(ours: ET.Element, seed: ET.Element, ignore: set[str]) -> None:
    """The seed's element, attributes and text are in ours (attributes CVAT added after
    the seed was written, like `source`, are allowed); children compared in order."""
    assert ours.tag == seed.tag
    ours_attrs = {k: v for k, v in ours.attrib.items() if k not in ignore}
    seed_attrs = {k: v for k, v in seed.attrib.items() if k not in ignore}
    assert ours_attrs == seed_attrs, (ours.tag, ours_attrs, seed_attrs)
    assert (ours.text or "").strip() == (seed.text or "").strip()
    assert len(ours) == len(seed), (ours.tag, [c.tag for c in ours], [c.tag for c in seed])
    for a, b in zip(ours, seed, strict=True):
        same_tree(a, b, ignore)


def meta_paths(element: ET.Element, prefix: str = "") -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for child in element:
        path = f"{prefix}/{child.tag}"
        if len(child):
            out |= meta_paths(child, path)
        else:
            out.add((path, (child.text or "").strip()))
    return out


def test_golden_images_export_back() -> None:
    parsed = import_cvat_xml(GOLDEN / "cvat_images_seed.xml", images_target())
    buffer = io.StringIO()
    write_images_xml(images_target(parsed), buffer)
    text = buffer.getvalue()
    seed = ET.parse(GOLDEN / "cvat_images_seed.xml").getroot()
    ours = ET.fromstring(text)
    assert ours.find("version").text == "1.1"  # type: ignore[union-attr]
    # every leaf of the seed's meta is ours too (the labels: names, in the seed's order)
    seed_meta = meta_paths(seed.find("meta"))  # type: ignore[arg-type]
    our_meta = meta_paths(ours.find("meta"))  # type: ignore[arg-type]
    assert seed_meta - our_meta == set()
    names = [e.text for e in ours.findall("meta/task/labels/label/name")]
    assert names == ["car", "traffic_line", "wheel", "plate", "good_frame"]
    # CVAT orders a frame's shapes by z_order; the seed example lists them as drawn
    images = ours.findall("image")
    assert len(images) == 27 and images[1].attrib["name"] == "filename001.jpg"
    seed_image = seed.find("image")
    assert seed_image is not None
    seed_sorted = ET.Element("image", seed_image.attrib)
    shapes = [c for c in seed_image if c.tag != "tag"]
    seed_sorted.extend(sorted(shapes, key=lambda c: int(c.attrib["z_order"])))
    seed_sorted.extend(c for c in seed_image if c.tag == "tag")
    same_tree(images[0], seed_sorted, ignore={"source"})
    # the layout is CVAT's: empty shapes still close on their own line
    assert '\n    <box label="plate" source="file" occluded="0" xtl="797.33"' in text
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>')


VIDEO_META = {
    "created": "2018-09-25 12:32:09.868194+03:00",
    "updated": "2018-09-25 16:05:05.619841+03:00",
    "dumped": "2018-09-25 16:05:07.134046+03:00",
    "overlap": 5,
    "segments": [{"id": 5, "start": 0, "stop": 4619, "url": "http://localhost:8080/?id=5"}],
    "owner": {"username": "admin", "email": ""},
    "source": "video.mp4",
    "original_size": {"width": 640, "height": 480},  # as backend/formats/sources.py gives it
}


def video_target(annotations: CvatAnnotations | None = None) -> ExportSource:
    return ExportSource(
        task_id=5,
        task_name="interpolation",
        job_id=None,
        mode="interpolation",
        dimension="2d",
        frames=frames(4620, video=True),
        labels=seed_labels(["person", "car"]),
        annotations=annotations or anns(),
        meta=VIDEO_META,
    )


def test_golden_video_parse_and_export_back() -> None:
    parsed = import_cvat_xml(GOLDEN / "cvat_video_seed.xml", video_target())
    assert parsed.shapes == [] and parsed.tags == []
    (track,) = parsed.tracks
    assert (track.label_id, track.frame, track.source) == (2, 0, "file")
    assert [(s.frame, s.outside) for s in track.shapes] == [
        (0, False), (1, True), (6, False), (7, True), (13, False), (14, True),
    ]  # fmt: skip
    assert track.shapes[2].points == [305.32, 237.90, 312.16, 207.90, 352.69, 206.32,
                                      355.32, 233.16, 331.11, 254.74]  # fmt: skip
    buffer = io.StringIO()
    write_video_xml(video_target(parsed), buffer)
    ours = ET.fromstring(buffer.getvalue())
    seed = ET.parse(GOLDEN / "cvat_video_seed.xml").getroot()
    (our_track,) = ours.findall("track")
    (seed_track,) = seed.findall("track")
    same_tree(our_track, seed_track, ignore={"source", "z_order"})
    assert seed_track.attrib.items() <= our_track.attrib.items()
    assert meta_paths(seed.find("meta")) - meta_paths(ours.find("meta")) == set()  # type: ignore[arg-type]
    assert ours.find("meta/task/original_size/width").text == "640"  # type: ignore[union-attr]
    assert ours.find("meta/task/source").text == "video.mp4"  # type: ignore[union-attr]


# ----------------------------------------------------------------------------------------
# round trips


def test_images_roundtrip_every_shape_and_tag(tmp_path: Path) -> None:
    src = source(anns(shapes=ALL_SHAPES, tags=TAGS))
    got = roundtrip(export_images, src, tmp_path)

    # the file lists a frame's shapes by z_order; sort both sides the same way
    def key(s: LabeledShape) -> tuple[int, int, str]:
        return (s.frame, s.z_order, s.type)

    assert sorted(got.shapes, key=key) == sorted(as_file(ALL_SHAPES), key=key)
    assert got.tags == as_file(TAGS)
    assert got.tracks == []


def test_images_layout_of_mask_ellipse_rotation_and_skeleton(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    export_images(source(anns(shapes=ALL_SHAPES, tags=TAGS)), out, False)
    text = (out / "annotations.xml").read_text()
    assert ('<mask label="car" source="manual" occluded="1" rle="2, 3, 1, 4" left="10" top="20" '
            'width="5" height="2" z_order="0">') in text  # fmt: skip
    assert ('<ellipse label="car" source="manual" occluded="0" cx="50.00" cy="50.00" '
            'rx="20.00" ry="10.00" rotation="10.00" z_order="0">') in text  # fmt: skip
    assert ('<box label="car" source="manual" occluded="1" xtl="1.50" ytl="2.25" xbr="30.00" '
            'ybr="40.75" rotation="30.50" z_order="2" group_id="1">') in text  # fmt: skip
    assert '<attribute name="model">a&lt;b &amp; "c"</attribute>' in text
    assert '<cuboid label="car" source="manual" occluded="0" xtl1="0.00" ytl1="1.00"' in text
    root = ET.fromstring(text)
    skeleton = root.find("image[@id='4']/skeleton")
    assert skeleton is not None and skeleton.attrib == {
        "label": "person", "source": "manual", "z_order": "1", "group_id": "3",
    }  # fmt: skip
    head, foot = skeleton
    assert head.attrib == {"label": "head", "source": "manual", "outside": "0", "occluded": "1",
                           "points": "10.00,10.00"}  # fmt: skip
    assert foot.attrib["outside"] == "1"
    # frames 0..9 all listed, empty ones too; tags after the shapes
    assert [i.attrib["id"] for i in root.findall("image")] == [str(i) for i in range(10)]
    assert [c.tag for c in root.find("image[@id='0']")] == ["polygon", "box", "tag"]  # type: ignore[union-attr]
    labels = root.findall("meta/task/labels/label")
    assert [label.find("name").text for label in labels] == [  # type: ignore[union-attr]
        "car", "person", "head", "foot", "weather",
    ]  # fmt: skip
    assert labels[2].find("parent").text == "person"  # type: ignore[union-attr]
    assert labels[1].find("svg").text == '<circle data-label-name="head" cx="1" cy="1"></circle>'  # type: ignore[union-attr]
    speed = labels[0].find("attributes/attribute[name='speed']")
    assert speed is not None and [e.text or "" for e in speed] == [
        "speed", "True", "number", "0", "0\n100\n1",
    ]  # fmt: skip


def test_images_tracks_become_per_frame_shapes(tmp_path: Path) -> None:
    track = box_track()
    got = roundtrip(export_images, source(anns(tracks=[track, skeleton_track()])), tmp_path)
    boxes = [s for s in got.shapes if s.type == "rectangle"]
    # visible frames: 0..3 (4 is an outside keyframe, 5 stays hidden), then 6..9
    assert [s.frame for s in boxes] == [0, 1, 2, 3, 6, 7, 8, 9]
    expected = [s for s in interpolate_keyframes(track.shapes, 0, 0, 9) if not s.outside]
    assert [s.points for s in boxes] == [[round(v, 2) for v in s.points] for s in expected]
    assert all(s.group == 4 and s.z_order == 3 and s.rotation == 15 for s in boxes)
    assert [s.occluded for s in boxes][:4] == [False, False, True, True]
    # mutable attributes of the frame, then the track's immutable ones
    assert boxes[1].attributes == [
        AttributeVal(PARKED, "false"), AttributeVal(SPEED, "1"), AttributeVal(MODEL, "sedan"),
    ]  # fmt: skip
    skeletons = [s for s in got.shapes if s.type == "skeleton"]
    # the foot goes outside on 3, the head stays: the skeleton stays with an outside foot
    assert [s.frame for s in skeletons] == list(range(1, 10))
    assert [e.outside for e in skeletons[4].elements] == [False, True]
    assert [(e.label_id, e.points, e.outside) for e in skeletons[1].elements] == [
        (HEAD, [7.0, 5.0], False), (FOOT, [7.0, 20.0], False),
    ]  # fmt: skip


def test_video_roundtrip_tracks(tmp_path: Path) -> None:
    tracks = [box_track(), skeleton_track()]
    got = roundtrip(export_video, source(anns(tracks=tracks), mode="interpolation"), tmp_path)
    assert got.tracks == as_file(tracks)
    assert got.shapes == [] and got.tags == []


def test_video_writes_interpolated_frames_and_keyframe_flags(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    export_video(source(anns(tracks=[box_track()]), mode="interpolation"), out, False)
    root = ET.parse(out / "annotations.xml").getroot()
    (track,) = root.findall("track")
    assert track.attrib == {"id": "0", "label": "car", "source": "manual", "group_id": "4"}
    rows = [(b.attrib["frame"], b.attrib["keyframe"], b.attrib["outside"]) for b in track]
    assert rows == [
        ("0", "1", "0"), ("1", "0", "0"), ("2", "1", "0"), ("3", "0", "0"), ("4", "1", "1"),
        ("6", "1", "0"), ("7", "0", "0"), ("8", "0", "0"), ("9", "0", "0"),
    ]  # fmt: skip
    first = track[0]
    assert list(first.attrib) == [
        "frame", "keyframe", "outside", "occluded", "xtl", "ytl", "xbr", "ybr", "rotation",
        "z_order",
    ]  # fmt: skip
    assert [(a.attrib["name"], a.text) for a in first] == [
        ("parked", "false"), ("speed", "1"), ("model", "sedan"),
    ]  # fmt: skip


def test_video_skeleton_track_layout(tmp_path: Path) -> None:
    buffer = io.StringIO()
    write_video_xml(source(anns(tracks=[skeleton_track()]), mode="interpolation"), buffer)
    (track,) = ET.fromstring(buffer.getvalue()).findall("track")
    skeletons = list(track)
    assert [s.attrib["frame"] for s in skeletons] == [str(f) for f in range(1, 10)]
    assert skeletons[0].attrib == {"frame": "1", "keyframe": "1", "z_order": "2"}
    head, foot = skeletons[1]
    assert head.attrib == {"label": "head", "keyframe": "0", "outside": "0", "occluded": "0",
                           "points": "7.00,5.00"}  # fmt: skip
    assert [p.attrib["outside"] for p in skeletons[2]] == ["0", "1"]
    # past its outside keyframe the foot is not written at all (CVAT's dump_shape)
    assert [p.attrib["label"] for p in skeletons[3]] == ["head"]


def test_video_shapes_become_one_frame_tracks(tmp_path: Path) -> None:
    shapes = [s for s in ALL_SHAPES if s.type != "skeleton"] + [
        msgspec.structs.replace(ALL_SHAPES[-1], frame=9, elements=[
            msgspec.structs.replace(e, frame=9) for e in ALL_SHAPES[-1].elements
        ]),
    ]  # fmt: skip
    src = source(anns(shapes=shapes, tags=TAGS), mode="interpolation")
    got = roundtrip(export_video, src, tmp_path)
    # tags are not part of the video layout; a mask comes back as a mask shape (CVAT has
    # no mask tracks), everything else as a track with an outside keyframe on the next
    # frame, except on the last frames where there is none
    assert got.tags == []
    (mask,) = got.shapes
    assert mask == as_file(msgspec.structs.replace(ALL_SHAPES[6]))
    tracks = got.tracks
    assert len(tracks) == len(shapes) - 1
    box = tracks[0]
    assert box.group == 1 and box.attributes == [AttributeVal(MODEL, 'a<b & "c"')]
    assert [(s.frame, s.outside, s.points) for s in box.shapes] == [
        (0, False, [1.5, 2.25, 30.0, 40.75]), (1, True, [1.5, 2.25, 30.0, 40.75]),
    ]  # fmt: skip
    assert box.shapes[0].attributes == [AttributeVal(PARKED, "true"), AttributeVal(SPEED, "42")]
    assert box.shapes[0].rotation == 30.5 and box.shapes[0].occluded
    skeleton = tracks[-1]
    assert [s.frame for s in skeleton.shapes] == [9]  # frame 9 is the last one
    assert [(e.label_id, [s.outside for s in e.shapes]) for e in skeleton.elements] == [
        (HEAD, [False]), (FOOT, [True]),
    ]  # fmt: skip


def test_job_export_meta_and_frames(tmp_path: Path) -> None:
    job_frames = frames(10)[5:8]
    shapes = [s for s in ALL_SHAPES if s.frame in (5, 6, 7)] + [
        LabeledShape(type="points", frame=6, label_id=CAR, points=[1, 2])
    ]
    src = source(
        anns(shapes=shapes),
        job_id=31,
        frame_list=job_frames,
        meta={"segments": [{"id": 31, "start": 5, "stop": 7}], "source": "a.mp4"},
    )  # fmt: skip
    buffer = io.StringIO()
    write_images_xml(src, buffer)
    root = ET.fromstring(buffer.getvalue())
    job = root.find("meta/job")
    assert job is not None and root.find("meta/task") is None
    wanted = ("id", "size", "start_frame", "stop_frame")
    assert [(e.tag, e.text) for e in job if e.tag in wanted] == [
        ("id", "31"), ("size", "3"), ("start_frame", "5"), ("stop_frame", "7"),
    ]  # fmt: skip
    assert root.find("meta/original_size/width").text == "640"  # type: ignore[union-attr]
    assert root.find("meta/job/segments/segment/url").text == "/api/jobs/31"  # type: ignore[union-attr]
    assert [i.attrib["id"] for i in root.findall("image")] == ["5", "6", "7"]
    (point,) = root.findall("image[@id='6']/points")
    assert point.attrib["points"] == "1.00,2.00"
    # an import into the job maps image names onto its frames; frame 2 is not the job's
    bad = tmp_path / "bad.xml"
    bad.write_text(buffer.getvalue().replace('name="img_006.jpg"', 'name="img_002.jpg"')
                   .replace('id="6"', 'id="2"'))  # fmt: skip
    with pytest.raises(FormatError, match=r"name='img_002.jpg' id='2' matches no frame of job 31"):
        import_cvat_xml(bad, src)


def test_frame_step_numbers_in_tracks(tmp_path: Path) -> None:
    meta = {"start_frame": 100, "frame_filter": "step=5"}
    src = source(anns(tracks=[box_track()]), meta=meta, mode="interpolation")
    buffer = io.StringIO()
    write_video_xml(src, buffer)
    (track,) = ET.fromstring(buffer.getvalue()).findall("track")
    assert [b.attrib["frame"] for b in track][:3] == ["100", "105", "110"]
    path = tmp_path / "a.xml"
    path.write_text(buffer.getvalue())
    assert import_cvat_xml(path, src).tracks == as_file([box_track()])
    src_ = source(anns(), meta=meta)
    path.write_text(
        buffer.getvalue().replace('frame="110" keyframe="1"', 'frame="111" keyframe="1"')
    )
    with pytest.raises(FormatError, match=r"line \d+: <box> frame 111 is not a frame of the task"):
        import_cvat_xml(path, src_)


def test_zip_layout_with_images(tmp_path: Path) -> None:
    originals = tmp_path / "media"
    originals.mkdir()
    for i in range(3):
        (originals / f"{i}.png").write_bytes(b"png%d" % i)
    images = source(anns(shapes=ALL_SHAPES[:1]), count=3)
    video = source(
        anns(shapes=ALL_SHAPES[:1]), frame_list=frames(3, video=True), mode="interpolation"
    )
    for exporter, base in ((export_images, images), (export_video, video)):
        with_images = dataclasses.replace(base, image_path=lambda n: originals / f"{n}.png")
        out = tmp_path / exporter.__name__
        out.mkdir()
        exporter(with_images, out, True)
        names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        if exporter is export_images:
            assert names == ["annotations.xml", "images/img_000.jpg", "images/img_001.jpg",
                             "images/img_002.jpg"]  # fmt: skip
        else:  # video frame names get the extension of the file that holds the frame
            assert names == ["annotations.xml", "images/frame_000000.png",
                             "images/frame_000001.png", "images/frame_000002.png"]  # fmt: skip
        assert (out / names[2]).read_bytes() == b"png1"
        back = import_cvat_xml(out, with_images)
        assert len(back.shapes) + len(back.tracks) == 1


def test_directory_reads_every_xml(tmp_path: Path) -> None:
    for i, shape in enumerate(ALL_SHAPES[:2]):
        d = tmp_path / f"part{i}"
        d.mkdir()
        export_images(source(anns(shapes=[shape])), d, False)
    got = import_cvat_xml(tmp_path, source(anns()))
    assert got.shapes == as_file(ALL_SHAPES[:2])


# ----------------------------------------------------------------------------------------
# bad files: each names the problem and where


HEADER = '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n<version>1.1</version>\n'


def bad(tmp_path: Path, body: str, *, header: str = HEADER, end: str = "</annotations>") -> str:
    path = tmp_path / "annotations.xml"
    path.write_text(header + body + end)
    with pytest.raises(FormatError) as info:
        import_cvat_xml(path, source(anns()))
    return str(info.value)


IMG = '<image id="0" name="img_000.jpg" width="640" height="480">\n'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (IMG + '<box label="truck" xtl="1" ytl="1" xbr="2" ybr="2"></box></image>',
         r"annotations.xml: line 5: <box> label 'truck' is not a label of the task "
         r"\(labels: 'car', 'person', 'weather'\)"),
        (IMG + '<box label="car" xtl="1" ytl="x" xbr="2" ybr="2"></box></image>',
         r"line 5: <box> ytl='x' is not a number"),
        (IMG + '<box label="car" xtl="1" ytl="nan" xbr="2" ybr="2"></box></image>',
         r"line 5: <box> ytl='nan' is not a finite number"),
        (IMG + '<box label="car" xtl="1" ytl="1" xbr="2"></box></image>',
         r"line 5: <box> no ybr attribute"),
        (IMG + '<polygon label="car" points="1,1;2,2"></polygon></image>',
         r"line 5: <polygon> points: a polygon needs an even number \(>= 6\) of coordinates, "
         r"got 4"),
        (IMG + '<polyline label="car" points="1,1;2"></polyline></image>',
         r"line 5: <polyline> points: '2' is not an x,y pair"),
        (IMG + '<box label="car" xtl="1" ytl="1" xbr="2" ybr="2">\n'
               '<attribute name="colour">red</attribute></box></image>',
         r"line 6: attribute 'colour' is not an attribute of label 'car' "
         r"\(its attributes: 'model', 'parked', 'speed'\)"),
        (IMG + '<box label="car" xtl="1" ytl="1" xbr="2" ybr="2">\n'
               '<attribute name="speed">500</attribute></box></image>',
         r"line 6: attribute 'speed': '500' is outside \[0, 100\]"),
        (IMG + '<box label="car" xtl="1" ytl="1" xbr="2" ybr="2">\n'
               '<attribute name="parked">maybe</attribute></box></image>',
         r"line 6: attribute 'parked': 'maybe' is not 'true' or 'false'"),
        (IMG + '<box label="car" xtl="1" ytl="1" xbr="2" ybr="2" occluded="yes"></box></image>',
         r"line 5: <box> occluded='yes' is not 0 or 1"),
        (IMG + '<box label="car" xtl="1" ytl="1" xbr="2" ybr="2" rotation="400"></box></image>',
         r"line 5: <box> rotation: rotation must lie in \[0, 360\], got 400"),
        (IMG + '<box label="car" xtl="1" ytl="1" xbr="2000" ybr="2"></box></image>',
         r"line 5: <box> point \(2000, 2\) is far outside frame 0 \(640x480\)"),
        ('<track id="0" label="car"><box frame="3" keyframe="1" xtl="-900" ytl="1" xbr="2" '
         'ybr="2"></box></track>',
         r"line 4: <box> point \(-900, 1\) is far outside frame 3 \(640x480\)"),
        (IMG + '<circle label="car"></circle></image>',
         r"line 5: <circle> is not a CVAT shape or tag"),
        (IMG + '<box label="weather" xtl="1" ytl="1" xbr="2" ybr="2"></box></image>',
         r"line 5: <box> label 'weather': label 5 is for tag objects, not rectangle"),
        (IMG + '<mask label="car" rle="1, 2" left="0" top="0" width="2" height="2"></mask></image>',
         r"line 5: <mask> points: mask runs cover 3 pixels, its box has 4"),
        (IMG + '<skeleton label="person"><points label="hand" points="1,1"></points>'
               '</skeleton></image>',
         r"line 5: <points> label 'hand' is not a point of skeleton 'person' \('head', 'foot'\)"),
        ('<image id="12" name="other.jpg"></image>',
         r"line 4: <image> name='other.jpg' id='12' matches no frame of the task"),
        ('<track id="0" label="car"><box frame="99" keyframe="1" xtl="1" ytl="1" xbr="2" '
         'ybr="2"></box></track>',
         r"line 4: <box> frame 99 is not a frame of the task"),
        ('<track id="0" label="car"><box frame="1" xtl="1" ytl="1" xbr="2" ybr="2"></box></track>',
         r"line 4: <box> no keyframe attribute"),
        ('<track id="0" label="car"><box frame="1" keyframe="0" xtl="1" ytl="1" xbr="2" '
         'ybr="2"></box></track>',
         r"line 4: <track> a track without keyframes"),
        ('<track id="0" label="car">\n<box frame="1" keyframe="1" xtl="1" ytl="1" xbr="2" '
         'ybr="2"></box>\n<polygon frame="2" keyframe="1" points="1,1;2,2;3,1"></polygon></track>',
         r"line 6: <polygon> a polygon in a track of rectangles"),
        ('<track id="0" label="car">\n<box frame="1" keyframe="1" xtl="1" ytl="1" xbr="2" '
         'ybr="2"></box>\n<box frame="1" keyframe="1" xtl="1" ytl="1" xbr="2" ybr="2"></box>'
         '</track>',
         r"line 4: <track> two keyframes on frame 1"),
        (IMG + '<box label="car" xtl="1" ytl="1" xbr="2" ybr="2"><attribute name="model">'
               '<b>x</b></attribute></box></image>',
         r"line 5: <b> inside <attribute>: an attribute holds text only"),
        (IMG + '<box label="car" xtl="1" ytl="1" xbr="2" ybr="2">\n'
               '<attribute name="model">a</attribute>\n<attribute name="model">b</attribute>'
               '</box></image>',
         r"line 7: attribute 'model' is given twice"),
    ],
)  # fmt: skip
def test_bad_file_names_the_problem(tmp_path: Path, body: str, expected: str) -> None:
    message = bad(tmp_path, body)
    assert re.search(expected, message), message


def test_broken_xml(tmp_path: Path) -> None:
    message = bad(tmp_path, IMG + '<box label="car"', end="")
    assert "annotations.xml: line 5, column" in message and "not well-formed XML" in message
    message = bad(tmp_path, IMG + "</track>", end="")
    assert "line 5" in message and "mismatched tag" in message
    message = bad(tmp_path, "", header="", end="")
    assert message == "annotations.xml: line 1, column 1: not well-formed XML (no element found)"


def test_wrong_root(tmp_path: Path) -> None:
    message = bad(tmp_path, "", header='<?xml version="1.0"?>\n<dataset>', end="</dataset>")
    assert message == "annotations.xml: line 2: the root element is <dataset>, not <annotations>"


def test_entities_and_dtds_refused(tmp_path: Path) -> None:
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n<annotations>&lol2;'
    )
    assert "DTDs (<!DOCTYPE>) are not allowed" in bad(tmp_path, "", header=laughs)
    external = '<?xml version="1.0"?>\n<!DOCTYPE a SYSTEM "file:///etc/passwd">\n<annotations>'
    assert "DTDs (<!DOCTYPE>) are not allowed" in bad(tmp_path, "", header=external)
    undefined = bad(tmp_path, IMG + "&xxe;</image>")
    assert "line 5" in undefined and "undefined entity" in undefined


def test_too_deep(tmp_path: Path) -> None:
    message = bad(tmp_path, "<meta>" + "<a>" * 20 + "</a>" * 20 + "</meta>")
    assert "is nested deeper than 12 levels" in message


def test_archive_without_xml(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"x")
    with pytest.raises(FormatError, match=r"the archive holds no \.xml annotation file"):
        import_cvat_xml(tmp_path, source(anns()))


def test_nested_file_named_in_errors(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.xml").write_text(HEADER + '<image id="77"></image></annotations>')
    with pytest.raises(FormatError, match=r"^sub/x.xml: line 4: <image> id='77' matches no"):
        import_cvat_xml(tmp_path, source(anns()))


def test_shapes_may_overhang_the_frame(tmp_path: Path) -> None:
    path = tmp_path / "a.xml"
    path.write_text(HEADER + IMG + '<box label="car" xtl="-20" ytl="1" xbr="700" ybr="500">'
                    "</box></image></annotations>")  # fmt: skip
    (box,) = import_cvat_xml(path, source(anns())).shapes
    assert box.points == [-20, 1, 700, 500]


def test_datumaro_reads_our_images_export(tmp_path: Path) -> None:
    """A second CVAT reader (datumaro's, which CVAT uses for project imports) accepts the
    file: shapes per item, label names from our <meta>."""
    import cv2
    import datumaro as dm
    import numpy as np
    from datumaro.components.annotation import AnnotationType
    from datumaro.plugins.data_formats.cvat.base import CvatImporter  # noqa: F401 - registers

    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), np.zeros((480, 640, 3), np.uint8))
    shapes = [s for s in ALL_SHAPES if s.type in ("rectangle", "polygon", "polyline", "points")]
    src = dataclasses.replace(
        source(anns(shapes=shapes, tags=TAGS, tracks=[box_track()])), image_path=lambda n: image
    )
    out = tmp_path / "out"
    out.mkdir()
    export_images(src, out, True)
    dataset = dm.Dataset.import_from(str(out), "cvat")
    labels = dataset.categories()[AnnotationType.label]
    assert [label.name for label in labels] == ["car", "person", "head", "foot", "weather"]
    counts = {item.id: len(item.annotations) for item in dataset}
    # frame 0: box + polygon + track box + weather tag; frame 1: polyline + points + track
    assert counts["img_000"] == 4 and counts["img_001"] == 3 and counts["img_005"] == 1


def test_characters_xml_cannot_hold_are_dropped(tmp_path: Path) -> None:
    shape = msgspec.structs.replace(
        ALL_SHAPES[1], attributes=[AttributeVal(MODEL, "tab\tbell\x07 nl\n end")]
    )
    frame_list = [FrameSpec(0, "odd\x01 &name'\".jpg", 640, 480)]
    got = roundtrip(export_images, source(anns(shapes=[shape]), frame_list=frame_list), tmp_path)
    assert got.shapes[0].attributes == [AttributeVal(MODEL, "tab\tbell nl\n end")]


# ----------------------------------------------------------------------------------------
# a project: one file over its tasks (CVAT's ProjectData layout)


def project_sources(tmp_path: Path, mode: str = "annotation") -> list[ExportSource]:
    image = tmp_path / "frame.png"
    image.write_bytes(b"png")
    video = mode == "interpolation"

    def task(task_id: int, subset: str, shapes: list[LabeledShape]) -> ExportSource:
        return dataclasses.replace(
            source(anns(shapes=shapes), count=3, mode=mode),
            task_id=task_id,
            task_name=f"task {task_id}",
            frames=frames(3, video=video),
            meta={"subset": subset, "size": 3, "segments": [{"id": task_id, "start": 0,
                                                             "stop": 2}]},
            image_path=lambda n: image,
        )  # fmt: skip

    box = ALL_SHAPES[0]
    return [
        task(12, "", [msgspec.structs.replace(box, frame=1)]),
        task(11, "train", [msgspec.structs.replace(box, frame=2)]),
        task(10, "", [box]),
    ]


PROJECT = ProjectInfo(
    id=3,
    name="city",
    labels=LABELS,
    meta={"created": "c", "updated": "u", "owner": {"username": "ann", "email": "a@x"}},
)


def test_project_images_export_is_one_file_in_cvat_project_layout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    export = PROJECT_EXPORTERS["CVAT for images 1.1"]
    export(PROJECT, project_sources(tmp_path), out, True)
    root = ET.parse(out / "annotations.xml").getroot()
    project = root.find("meta/project")
    assert project is not None
    assert [(e.tag, e.text) for e in project if not len(e)][:4] == [
        ("id", "3"), ("name", "city"), ("bugtracker", None), ("created", "c"),
    ]  # fmt: skip
    # tasks by subset, then id; no labels in them, the project lists them once
    assert [t.findtext("id") for t in project.findall("tasks/task")] == ["10", "12", "11"]
    assert project.find("tasks/task/labels") is None
    assert project.findtext("subsets") == "default\ntrain"
    assert [n.text for n in project.findall("labels/label/name")][:2] == ["car", "person"]
    images = [
        (i.get("id"), i.get("name"), i.get("subset"), i.get("task_id"))
        for i in root.findall("image")
    ]
    # by task id; frame numbers run on within a subset; a repeated name gets _1
    assert images == [
        ("0", "img_000.jpg", "default", "10"), ("1", "img_001.jpg", "default", "10"),
        ("2", "img_002.jpg", "default", "10"),
        ("0", "img_000.jpg", "train", "11"), ("1", "img_001.jpg", "train", "11"),
        ("2", "img_002.jpg", "train", "11"),
        ("3", "img_000_1.jpg", "default", "12"), ("4", "img_001_1.jpg", "default", "12"),
        ("5", "img_002_1.jpg", "default", "12"),
    ]  # fmt: skip
    assert list(root.findall("image")[0].attrib) == [
        "id", "name", "subset", "task_id", "width", "height",
    ]  # fmt: skip
    assert [i.get("id") for i in root.findall("image") if len(i)] == ["0", "2", "4"]
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    assert files == sorted(
        [f"images/default/img_00{i}.jpg" for i in range(3)]
        + [f"images/default/img_00{i}_1.jpg" for i in range(3)]
        + [f"images/train/img_00{i}.jpg" for i in range(3)]
    )


def test_project_video_export_numbers_tracks_across_tasks(tmp_path: Path) -> None:
    buffer = io.StringIO()
    write_project_video_xml(PROJECT, project_sources(tmp_path, "interpolation"), buffer)
    tracks = ET.fromstring(buffer.getvalue()).findall("track")
    assert [(t.get("id"), t.get("task_id"), t.get("subset")) for t in tracks] == [
        ("0", "10", "default"), ("1", "12", "default"), ("2", "11", "train"),
    ]  # fmt: skip
    assert list(tracks[0].attrib) == ["id", "label", "source", "task_id", "subset", "group_id"]
    # task 12 follows task 10 in its subset: its frame 1 is project frame 4
    assert [b.get("frame") for b in tracks[1]] == ["4"]  # frame 2 is its last: no closing
    assert [(b.get("frame"), b.get("outside")) for b in tracks[0]] == [("0", "0"), ("1", "1")]


def test_cvat_mangles_names_as_cvat_does() -> None:
    seen: defaultdict[tuple[str, str], int] = defaultdict(int)
    names = ["a.jpg", "a.jpg", "a_1.jpg", "a.jpg", "b.png", "a.jpg"]
    assert [mangle_image_name(n, "s", seen) for n in names] == [
        "a.jpg", "a_1.jpg", "a_1.jpg", "a_2.jpg", "b.png", "a_3.jpg",
    ]  # fmt: skip
    assert defaulted_subset("", ["", "default"]) == "default_1"
    assert defaulted_subset("", [""]) == "default"


ALL_KINDS_META = {
    "created": "2026-01-02 03:04:05.000006+00:00",
    "updated": "2026-01-02 03:04:05.000006+00:00",
    "dumped": "2026-01-02 03:04:05.000006+00:00",
    "owner": {"username": "ann", "email": "ann@example.com"},
    "segments": [{"id": 1, "start": 0, "stop": 5}],
    "subset": "train",
}


@pytest.mark.parametrize(
    ("writer", "golden"),
    [
        (write_images_xml, "cvat_images_all_kinds.xml"),
        (write_video_xml, "cvat_video_all_kinds.xml"),
    ],
)
def test_byte_exact_layout_of_every_kind(writer: Any, golden: str) -> None:
    """Our full layout, byte for byte: every shape type, tags, a box track and a skeleton
    track. The files were checked by eye against CVAT's dumper (attribute order, number
    formats, indentation); a change of layout must show up here as a diff. To accept an
    intended change, write the new output over the file and review the diff."""
    everything = anns(shapes=ALL_SHAPES, tags=TAGS, tracks=[box_track(), skeleton_track()])
    buffer = io.StringIO()
    writer(source(everything, count=6, meta=ALL_KINDS_META), buffer)
    assert buffer.getvalue() == (GOLDEN / golden).read_text(encoding="utf-8")


def test_every_problem_is_reported_and_with_skip_the_rest_imports(tmp_path: Path) -> None:
    from backend.formats.import_context import ImportContext

    path = tmp_path / "a.xml"
    path.write_text(
        HEADER + IMG + '<box label="car" xtl="1" ytl="1" xbr="9" ybr="9"></box>\n'
        '<box label="truck" xtl="1" ytl="1" xbr="9" ybr="9"></box>\n'
        '<box label="car" xtl="1" ytl="1" xbr="9" ybr="9000"></box></image>\n'
        '<image id="70" name="elsewhere.jpg"><box label="truck" xtl="1" ytl="1" xbr="9" '
        'ybr="9"></box></image>\n'
        '<track id="0" label="car"><box frame="0" keyframe="1" outside="0" xtl="1" ytl="1" '
        'xbr="2" ybr="2"><attribute name="speed">fast</attribute></box></track>\n'
        '<track id="1" label="lorry"><box frame="0" keyframe="1" outside="0" xtl="1" ytl="1" '
        'xbr="2" ybr="2"></box></track>\n</annotations>'
    )  # fmt: skip
    with pytest.raises(FormatError) as info:
        import_cvat_xml(path, source(anns()))
    lines = str(info.value).splitlines()
    assert lines[0] == "5 annotations or items could not be imported, so nothing was:"
    expected = [
        "a.xml: line 6: <box> label 'truck' is not a label of the task (labels: 'car',",
        "a.xml: line 7: <box> point (9, 9000) is far outside frame 0 (640x480)",
        "a.xml: line 8: <image> name='elsewhere.jpg' id='70' matches no frame of the task",
        "a.xml: line 9: attribute 'speed': 'fast' is not a number",
        "a.xml: line 10: <track> label 'lorry' is not a label of the task",
    ]
    assert len(lines) == 6 and all(map(str.startswith, lines[1:], expected)), lines
    context = ImportContext(skip_invalid=True, label_map={"lorry": "car"})
    found = import_cvat_xml(path, dataclasses.replace(source(anns()), importing=context))
    assert [s.points for s in found.shapes] == [[1, 1, 9, 9]]
    assert [t.label_id for t in found.tracks] == [CAR]  # the lorry, mapped onto car
    assert context.problem_count == 4
    context = ImportContext(skip_invalid=True, label_map={"truck": None, "lorry": None})
    found = import_cvat_xml(path, dataclasses.replace(source(anns()), importing=context))
    assert (len(found.shapes), context.dropped, context.problem_count) == (1, 2, 3)
