"""Round trips through every datumaro-backed format: build annotations of every kind the
format holds, export into a directory, import back against the same task, and compare
what the format keeps. Bad uploads are FormatErrors that name the file and the problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.domain.annotations import CvatAnnotations
from backend.domain.objects import LabeledShape, LabeledTrack, TrackedShape
from backend.formats import dm_bridge
from backend.formats.model import ExportSource, FormatError
from backend.formats.registry import FORMATS
from tests.unit import format_sources as fs

Summary = list[tuple[Any, ...]]
TRACK_ONLY = {"MOTS PNG 1.0"}


def _points(values: list[float]) -> tuple[float, ...]:
    return tuple(round(v, 1) for v in values)


def shapes_of(
    annotations: CvatAnnotations,
    *,
    attributes: bool = True,
    occluded: bool = True,
    z_order: bool = True,
) -> Summary:
    rows = []
    for s in annotations.shapes:
        rows.append(
            (
                s.frame,
                s.label_id,
                s.type,
                _points(s.points),
                round(s.rotation, 1),
                s.occluded if occluded else None,
                s.z_order if z_order else None,
                tuple(sorted((a.spec_id, a.value) for a in s.attributes)) if attributes else (),
                tuple((e.label_id, _points(e.points), e.outside, e.occluded) for e in s.elements),
            )
        )
    return sorted(rows)


def tracks_of(annotations: CvatAnnotations) -> Summary:
    rows = []
    for t in annotations.tracks:
        rows.append(
            (
                t.label_id,
                tuple(sorted((a.spec_id, a.value) for a in t.attributes)),
                tuple(
                    (
                        k.frame,
                        _points(k.points),
                        k.outside,
                        tuple(sorted((a.spec_id, a.value) for a in k.attributes)),
                    )
                    for k in sorted(t.shapes, key=lambda k: k.frame)
                ),
                tuple(
                    (e.label_id, tuple((k.frame, _points(k.points), k.outside) for k in e.shapes))
                    for e in t.elements
                ),
            )
        )
    return sorted(rows)


def tags_of(annotations: CvatAnnotations) -> Summary:
    return sorted((t.frame, t.label_id) for t in annotations.tags)


def roundtrip(
    name: str, source: ExportSource, tmp_path: Path, save_images: bool = False
) -> CvatAnnotations:
    info = FORMATS[name]
    assert info.exporter is not None and info.importer is not None
    out = tmp_path / "export"
    out.mkdir()
    info.exporter(source, out, save_images)
    _drop_empty_dirs(out)  # as a zip of the export would
    return info.importer(out, source)


def _drop_empty_dirs(root: Path) -> None:
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def with_defaults(shape: LabeledShape) -> LabeledShape:
    """Formats write every attribute of the label (the default where unset), as CVAT."""
    import msgspec

    label = next(lab for lab in fs.LABELS if lab.id == shape.label_id)
    given = {a.spec_id for a in shape.attributes}
    extra = [
        fs.AttributeVal(spec.id, spec.default_value)
        for spec in label.attributes
        if spec.id not in given
    ]
    return msgspec.structs.replace(shape, attributes=list(shape.attributes) + extra)


def expected(shapes: list[LabeledShape], **kw: bool) -> Summary:
    return shapes_of(
        CvatAnnotations(version=0, tags=[], shapes=[with_defaults(s) for s in shapes], tracks=[]),
        **kw,
    )


def mask_pixels(shape: LabeledShape) -> int:
    return int(dm_bridge.cvat_rle_to_mask(shape.points, fs.W, fs.H).sum())


# --- lossless-ish formats --------------------------------------------------------------------


def test_datumaro_keeps_every_kind(tmp_path: Path) -> None:
    shapes = [
        fs.box(0, attributes=fs.car_attributes(), z_order=2, occluded=True, group=1),
        fs.box(1, label=2, rotation=30.0),
        fs.polygon(0, group=1),
        fs.polyline(1),
        fs.points(1),
        fs.ellipse(2),
        fs.mask(2),
        fs.skeleton(3, outside_foot=True),
    ]
    source = fs.source(
        fs.frames(6),
        shapes=shapes,
        tracks=[fs.box_track(1, 4), fs.skeleton_track(2, 5)],
        tags=[fs.tag(0), fs.tag(5, label=1)],
    )
    back = roundtrip("Datumaro 1.0", source, tmp_path)
    assert shapes_of(back) == expected(shapes)
    assert tracks_of(back) == tracks_of(source.annotations)
    assert tags_of(back) == tags_of(source.annotations)
    assert {s.group for s in back.shapes if s.frame == 0} == {1}
    assert all(s.source == "file" for s in back.shapes)


def test_datumaro_saves_images(tmp_path: Path) -> None:
    source = fs.source(fs.frames(2), shapes=[fs.box(1)], image_dir=tmp_path / "media")
    out = tmp_path / "out"
    out.mkdir()
    FORMATS["Datumaro 1.0"].exporter(source, out, True)  # type: ignore[misc]
    images = sorted(p.name for p in (out / "images").rglob("*.jpg"))
    assert images == ["img000.jpg", "img001.jpg"]
    back = FORMATS["Datumaro 1.0"].importer(out, source)  # type: ignore[misc]
    assert shapes_of(back) == expected([fs.box(1)])


def test_coco_keeps_boxes_polygons_masks_attributes_and_tracks(tmp_path: Path) -> None:
    shapes = [
        fs.box(0, attributes=fs.car_attributes(), occluded=True, rotation=45.0),
        fs.polygon(1),
        fs.mask(2),
    ]
    source = fs.source(fs.frames(5), shapes=shapes, tracks=[fs.box_track(1, 4)])
    back = roundtrip("COCO 1.0", source, tmp_path)
    # COCO has no z-order
    assert shapes_of(back, z_order=False) == expected(shapes, z_order=False)
    assert tracks_of(back) == tracks_of(source.annotations)
    coco = json.loads((tmp_path / "export/annotations/instances_default.json").read_text())
    assert [c["name"] for c in coco["categories"]][:3] == ["car", "person", "pose"]
    assert {a["iscrowd"] for a in coco["annotations"]} == {0, 1}  # mask as RLE


def test_coco_writes_ellipses_as_polygons_and_groups_as_one_object(tmp_path: Path) -> None:
    source = fs.source(fs.frames(1), shapes=[fs.ellipse(0)])
    back = roundtrip("COCO 1.0", source, tmp_path)
    assert [s.type for s in back.shapes] == ["polygon"]
    xs = back.shapes[0].points[0::2]
    ys = back.shapes[0].points[1::2]
    assert (min(xs), max(xs)) == pytest.approx((20, 40), abs=0.5)
    assert (min(ys), max(ys)) == pytest.approx((14, 26), abs=0.5)


def test_coco_single_json_upload(tmp_path: Path) -> None:
    source = fs.source(fs.frames(2), shapes=[fs.box(1)])
    out = tmp_path / "export"
    out.mkdir()
    FORMATS["COCO 1.0"].exporter(source, out, False)  # type: ignore[misc]
    json_file = tmp_path / "instances_default.json"
    json_file.write_bytes((out / "annotations/instances_default.json").read_bytes())
    back = FORMATS["COCO 1.0"].importer(json_file, source)  # type: ignore[misc]
    assert shapes_of(back, z_order=False) == expected([fs.box(1)], z_order=False)


def test_coco_keypoints_keeps_skeletons_and_points(tmp_path: Path) -> None:
    shapes = [fs.skeleton(0), fs.skeleton(1, outside_foot=True)]
    source = fs.source(fs.frames(4), shapes=shapes, tracks=[fs.skeleton_track(1, 3)])
    back = roundtrip("COCO Keypoints 1.0", source, tmp_path)
    assert shapes_of(back, z_order=False) == expected(shapes, z_order=False)
    assert tracks_of(back) == tracks_of(source.annotations)
    coco = json.loads((tmp_path / "export/annotations/person_keypoints_default.json").read_text())
    pose = next(c for c in coco["categories"] if c["name"] == "pose")
    assert pose["keypoints"] == ["head", "hand", "foot"]
    assert sorted(map(tuple, pose["skeleton"])) == [(1, 2), (2, 3)]


def test_voc_keeps_boxes_tags_tracks_and_paints_segments(tmp_path: Path) -> None:
    shapes = [
        fs.box(0, attributes=fs.car_attributes(), occluded=True),
        fs.polygon(1),
        fs.mask(2),
        fs.polyline(2),  # VOC has no polylines: left out
    ]
    source = fs.source(fs.frames(5), shapes=shapes, tracks=[fs.box_track(1, 4)], tags=[fs.tag(3)])
    back = roundtrip("PASCAL VOC 1.1", source, tmp_path)
    boxes = [s for s in back.shapes if s.type == "rectangle"]
    assert shapes_of(
        CvatAnnotations(version=0, tags=[], shapes=boxes, tracks=[]), z_order=False
    ) == expected([shapes[0]], z_order=False)
    masks = sorted((s.frame, s.label_id, mask_pixels(s)) for s in back.shapes if s.type == "mask")
    assert masks == [(1, 2, masks[0][2]), (2, 1, mask_pixels(fs.mask(2)))]
    assert 400 < masks[0][2] < 480  # the painted polygon (area 428 by the shoelace formula)
    assert tracks_of(back) == tracks_of(source.annotations)
    assert tags_of(back) == [(3, 2)]


def test_voc_writes_what_datumaros_own_voc_writer_writes(tmp_path: Path) -> None:
    """Our VOC exporter writes an image's XML once instead of once per box: same files."""
    from datumaro.plugins.data_formats.voc.exporter import VocExporter

    from backend.formats import voc

    shapes = [fs.box(0, attributes=fs.car_attributes()), fs.box(0, label=2), fs.box(1)]
    source = fs.source(fs.frames(2), shapes=shapes, tags=[fs.tag(1)])
    ours = _export("PASCAL VOC 1.1", source, tmp_path)
    theirs = tmp_path / "theirs"
    dataset = dm_bridge.to_dataset(source, False, dm_bridge.ExportOptions(ellipse_as="mask"))
    VocExporter.convert(dataset, save_dir=str(theirs), save_media=False,
                        label_map=voc.label_colors(source.labels))  # fmt: skip
    files = sorted(p.relative_to(ours) for p in ours.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(theirs) for p in theirs.rglob("*") if p.is_file())
    for name in files:
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    assert len((ours / "Annotations/img000.xml").read_text().split("<object>")) == 3


def test_voc_takes_annotation_files_without_lists_or_directories(tmp_path: Path) -> None:
    source = fs.source(fs.frames(2), shapes=[fs.box(1, attributes=fs.car_attributes())])
    out = _export("PASCAL VOC 1.1", source, tmp_path)
    flat = tmp_path / "flat"
    flat.mkdir()
    for xml in (out / "Annotations").glob("*.xml"):
        (flat / xml.name).write_bytes(xml.read_bytes())
    back = FORMATS["PASCAL VOC 1.1"].importer(flat, source)  # type: ignore[misc]
    assert shapes_of(back, z_order=False) == expected(source.annotations.shapes, z_order=False)


def test_segmentation_mask_paints_every_region_shape(tmp_path: Path) -> None:
    shapes = [fs.box(0), fs.polygon(1), fs.mask(2), fs.points(2)]
    source = fs.source(fs.frames(3), shapes=shapes)
    back = roundtrip("Segmentation mask 1.1", source, tmp_path)
    got = sorted((s.frame, s.label_id, s.type, mask_pixels(s)) for s in back.shapes)
    assert [row[:3] for row in got] == [(0, 1, "mask"), (1, 2, "mask"), (2, 1, "mask")]
    assert got[0][3] == 18 * 27  # the box, painted
    assert got[2][3] == mask_pixels(fs.mask(2))
    class_png = tmp_path / "export/SegmentationClass/img000.png"
    from PIL import Image

    colors = {c for _, c in Image.open(class_png).convert("RGB").getcolors()}
    assert colors == {(0, 0, 0), (255, 0, 0)}  # car's colour from the label


def test_yolo_keeps_boxes_normalised(tmp_path: Path) -> None:
    shapes = [fs.box(0), fs.box(1, label=2, points=(0, 0, 64, 48)), fs.polygon(1)]
    source = fs.source(fs.frames(3), shapes=shapes, tracks=[fs.box_track(1, 3)])
    back = roundtrip("YOLO 1.1", source, tmp_path)
    got = sorted((s.frame, s.label_id, _points(s.points)) for s in back.shapes)
    assert got == [
        (0, 1, (2.0, 3.0, 20.0, 30.0)),
        (1, 1, (1.0, 1.0, 10.0, 10.0)),  # track shapes become shapes
        (1, 2, (0.0, 0.0, 64.0, 48.0)),
        (2, 1, (3.0, 1.0, 12.0, 10.0)),
    ]
    line = (tmp_path / "export/obj_train_data/img001.txt").read_text().split("\n")
    assert "1 0.500000 0.500000 1.000000 1.000000" in line


def test_mot_keeps_box_tracks_and_boxes(tmp_path: Path) -> None:
    shapes = [fs.box(0, occluded=True), fs.polygon(1)]
    tracks = [fs.box_track(1, 4), fs.box_track(2, 6, label=2)]
    source = fs.source(fs.frames(6), shapes=shapes, tracks=tracks)
    back = roundtrip("MOT 1.1", source, tmp_path)
    assert [(s.frame, s.label_id, _points(s.points), s.occluded) for s in back.shapes] == [
        (0, 1, (2.0, 3.0, 20.0, 30.0), True)
    ]
    # every box of a track is a keyframe in MOT; the track ends outside where it ended
    got = {t.label_id: [(k.frame, _points(k.points), k.outside) for k in t.shapes]
           for t in back.tracks}  # fmt: skip
    assert got[1] == [
        (1, (1.0, 1.0, 10.0, 10.0), False),
        (2, (3.0, 1.0, 12.0, 10.0), False),
        (3, (5.0, 1.0, 14.0, 10.0), False),
        (4, (5.0, 1.0, 14.0, 10.0), True),
    ]
    assert [k[0] for k in got[2]] == [2, 3, 4, 5]  # visible to the last frame
    gt = (tmp_path / "export/gt/gt.txt").read_text().splitlines()
    assert gt[0].startswith("1,-1,2.0,3.0,18.0,27.0")  # frame 1-based, no track
    assert (tmp_path / "export/gt/labels.txt").read_text().split("\n")[:2] == ["car", "person"]


def test_mot_job_frames_are_counted_from_the_job_start(tmp_path: Path) -> None:
    import dataclasses

    all_frames = fs.frames(6)
    job = dataclasses.replace(fs.source(all_frames[3:], shapes=[fs.box(4)]), job_id=7)
    back = roundtrip("MOT 1.1", job, tmp_path)
    assert [s.frame for s in back.shapes] == [4]
    assert (tmp_path / "export/gt/gt.txt").read_text().startswith("2,")


def test_mots_keeps_mask_tracks(tmp_path: Path) -> None:
    source = fs.source(
        fs.frames(6), shapes=[fs.box(0)], tracks=[fs.box_track(1, 4), fs.box_track(4, 6, label=2)]
    )
    back = roundtrip("MOTS PNG 1.0", source, tmp_path)
    assert back.shapes == []  # MOTS holds tracks only
    got = sorted(
        (t.label_id, [(k.frame, k.type, k.outside, mask_pixels(k)) for k in t.shapes])
        for t in back.tracks
    )
    assert got[0] == (1, [(1, "mask", False, 81), (2, "mask", False, 81), (3, "mask", False, 81),
                          (4, "mask", True, 81)])  # fmt: skip
    assert [k[0] for k in got[1][1]] == [4, 5]
    assert not got[1][1][-1][2]  # visible to the last frame


@pytest.mark.parametrize("name", ["CamVid 1.0", "Cityscapes 1.0"])
def test_semantic_formats_paint_each_class(name: str, tmp_path: Path) -> None:
    shapes = [fs.box(0), fs.polygon(1), fs.mask(2), fs.ellipse(2), fs.polyline(2)]
    source = fs.source(fs.frames(3), shapes=shapes)
    back = roundtrip(name, source, tmp_path)
    got = sorted((s.frame, s.label_id, s.type, mask_pixels(s)) for s in back.shapes)
    assert [row[:3] for row in got] == [
        (0, 1, "mask"), (1, 2, "mask"), (2, 1, "mask"), (2, 2, "mask"),
    ]  # fmt: skip
    assert got[0][3] == 18 * 27
    assert got[2][3] == mask_pixels(fs.mask(2))
    assert 170 < got[3][3] < 260  # the ellipse, 10 x 6 half-axes (188 inside the curve)


def test_kitti_with_boxes_only_and_frames_in_directories(tmp_path: Path) -> None:
    frames = [fs.FrameSpec(number=i, name=f"cam/{i:03d}.png", width=fs.W, height=fs.H)
              for i in range(2)]  # fmt: skip
    back = roundtrip("KITTI 1.0", fs.source(frames, shapes=[fs.box(1, label=2)]), tmp_path)
    assert [(s.frame, s.label_id, s.type) for s in back.shapes] == [(1, 2, "rectangle")]


def test_kitti_keeps_boxes_and_paints_segments(tmp_path: Path) -> None:
    shapes = [fs.box(0, occluded=True), fs.polygon(1), fs.mask(2)]
    back = roundtrip("KITTI 1.0", fs.source(fs.frames(3), shapes=shapes), tmp_path)
    boxes = [(s.frame, s.label_id, _points(s.points), s.occluded)
             for s in back.shapes if s.type == "rectangle"]  # fmt: skip
    assert boxes == [(0, 1, (2.0, 3.0, 20.0, 30.0), True)]
    masks = sorted((s.frame, s.label_id, mask_pixels(s)) for s in back.shapes if s.type == "mask")
    assert [m[:2] for m in masks] == [(1, 2), (2, 1)]
    assert masks[1][2] == mask_pixels(fs.mask(2))


def test_widerface_keeps_boxes_and_image_labels(tmp_path: Path) -> None:
    shapes = [fs.box(0, label=2), fs.box(0, label=2, points=(30, 10, 40, 20)), fs.box(1)]
    source = fs.source(fs.frames(2), shapes=shapes, tags=[fs.tag(0)])
    back = roundtrip("WiderFace 1.0", source, tmp_path)
    got = sorted((s.frame, s.label_id, _points(s.points)) for s in back.shapes)
    assert got == sorted((s.frame, s.label_id, _points(s.points)) for s in shapes)
    assert tags_of(back) == [(0, 2)]


def test_vggface2_keeps_a_box_and_landmarks_per_image(tmp_path: Path) -> None:
    five = fs.LabeledShape(type="points", frame=1, label_id=1, points=[float(v) for v in range(10)])
    shapes = [fs.box(0, label=2), fs.box(1), five]
    back = roundtrip("VGGFace2 1.0", fs.source(fs.frames(2), shapes=shapes), tmp_path)
    got = sorted((s.frame, s.label_id, s.type, _points(s.points)) for s in back.shapes)
    assert got == sorted((s.frame, s.label_id, s.type, _points(s.points)) for s in shapes)


def test_vggface2_refuses_two_boxes_on_an_image(tmp_path: Path) -> None:
    source = fs.source(fs.frames(1), shapes=[fs.box(0), fs.box(0, points=(1, 1, 5, 5))])
    (tmp_path / "out").mkdir()
    with pytest.raises(FormatError, match="only one bbox"):
        FORMATS["VGGFace2 1.0"].exporter(source, tmp_path / "out", False)  # type: ignore[misc]


def test_lfw_keeps_people_and_their_landmarks(tmp_path: Path) -> None:
    shapes = [fs.points(0), fs.points(1, label=1)]
    source = fs.source(fs.frames(2), shapes=shapes, tags=[fs.tag(0), fs.tag(1, label=1)])
    back = roundtrip("LFW 1.0", source, tmp_path)
    assert sorted((s.frame, s.label_id, _points(s.points)) for s in back.shapes) == [
        (0, 2, (3.0, 4.0, 11.0, 12.0)), (1, 1, (3.0, 4.0, 11.0, 12.0)),
    ]  # fmt: skip
    assert tags_of(back) == [(0, 2), (1, 1)]


def test_lfw_landmarks_need_a_person(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(FormatError, match="no tag naming its person"):
        FORMATS["LFW 1.0"].exporter(  # type: ignore[misc]
            fs.source(fs.frames(1), shapes=[fs.points(0)]), tmp_path / "out", False
        )


def test_labelme_keeps_polygons_boxes_masks_and_attributes(tmp_path: Path) -> None:
    shapes = [
        fs.box(0, attributes=fs.car_attributes(), occluded=True),
        fs.polygon(1),
        fs.mask(2),
    ]
    back = roundtrip("LabelMe 3.0", fs.source(fs.frames(3), shapes=shapes), tmp_path)
    assert shapes_of(back, z_order=False) == expected(shapes, z_order=False)


@pytest.mark.parametrize("save_images", [False, True])
def test_imagenet_keeps_tags(save_images: bool, tmp_path: Path) -> None:
    source = fs.source(
        fs.frames(3), shapes=[fs.box(0)], tags=[fs.tag(0), fs.tag(2, label=1)],
        image_dir=tmp_path / "media" if save_images else None,
    )  # fmt: skip
    back = roundtrip("ImageNet 1.0", source, tmp_path, save_images=save_images)
    assert tags_of(back) == [(0, 2), (2, 1)]
    assert back.shapes == []
    if save_images:  # a directory of images per label
        assert (tmp_path / "export/person/img000.jpg").is_file()


def test_open_images_keeps_labels_boxes_and_masks(tmp_path: Path) -> None:
    shapes = [fs.box(0, label=2, occluded=True), fs.polygon(1), fs.mask(2)]
    source = fs.source(fs.frames(3), shapes=shapes, tags=[fs.tag(1, label=1)])
    back = roundtrip("Open Images V6 1.0", source, tmp_path)
    boxes = [(s.frame, s.label_id, _points(s.points), s.occluded)
             for s in back.shapes if s.type == "rectangle"]  # fmt: skip
    assert boxes == [(0, 2, (2.0, 3.0, 20.0, 30.0), True)]
    masks = sorted((s.frame, s.label_id, mask_pixels(s)) for s in back.shapes if s.type == "mask")
    assert [m[:2] for m in masks] == [(1, 2), (2, 1)]
    assert masks[1][2] == mask_pixels(fs.mask(2))
    assert tags_of(back) == [(1, 1)]


ICDAR = fs.LabelSpec(
    id=7,
    name="icdar",
    attributes=[fs.AttributeSpec(id=701, name="text", input_type="text")],
)


def _icdar(frame: int, kind: str, text: str) -> LabeledShape:
    points = {"rectangle": [2.0, 3.0, 20.0, 30.0],
              "polygon": [5.0, 5.0, 30.0, 6.0, 28.0, 30.0, 6.0, 28.0]}[kind]  # fmt: skip
    return LabeledShape(type=kind, frame=frame, label_id=7, points=points,  # type: ignore[arg-type]
                        attributes=[fs.AttributeVal(701, text)])  # fmt: skip


def test_icdar_recognition_keeps_transcriptions(tmp_path: Path) -> None:
    tags = [fs.LabeledImage(frame=0, label_id=7, attributes=[fs.AttributeVal(701, "hello")])]
    back = roundtrip("ICDAR Recognition 1.0", fs.source(fs.frames(2), labels=[ICDAR], tags=tags),
                     tmp_path)  # fmt: skip
    assert [(t.frame, t.label_id, t.attributes) for t in back.tags] == [
        (0, 7, [fs.AttributeVal(701, "hello")])
    ]


def test_icdar_localization_keeps_boxes_quads_and_text(tmp_path: Path) -> None:
    shapes = [_icdar(0, "rectangle", "hello"), _icdar(1, "polygon", "world")]
    back = roundtrip("ICDAR Localization 1.0", fs.source(fs.frames(2), labels=[ICDAR],
                     shapes=shapes), tmp_path)  # fmt: skip
    assert shapes_of(back, occluded=False, z_order=False) == shapes_of(
        CvatAnnotations(version=0, tags=[], shapes=shapes, tracks=[]), occluded=False,
        z_order=False,
    )  # fmt: skip


def test_icdar_segmentation_paints_text_regions(tmp_path: Path) -> None:
    shapes = [_icdar(0, "rectangle", "hello"), _icdar(1, "polygon", "world")]
    back = roundtrip("ICDAR Segmentation 1.0", fs.source(fs.frames(2), labels=[ICDAR],
                     shapes=shapes), tmp_path)  # fmt: skip
    got = sorted((s.frame, s.type, mask_pixels(s), s.attributes) for s in back.shapes)
    assert got[0] == (0, "mask", 18 * 27, [fs.AttributeVal(701, "hello")])
    assert got[1][1] == "mask" and got[1][3] == [fs.AttributeVal(701, "world")]


def test_icdar_needs_the_icdar_label(tmp_path: Path) -> None:
    tags = [fs.LabeledImage(frame=0, label_id=7, attributes=[fs.AttributeVal(701, "x")])]
    out = _export("ICDAR Recognition 1.0", fs.source(fs.frames(1), labels=[ICDAR], tags=tags),
                  tmp_path)  # fmt: skip
    with pytest.raises(FormatError, match="label 'icdar', which the task does not have"):
        FORMATS["ICDAR Recognition 1.0"].importer(out, fs.source(fs.frames(1)))  # type: ignore[misc]


MARKET = fs.LabelSpec(
    id=8,
    name="market-1501",
    attributes=[
        fs.AttributeSpec(id=801, name="person_id", input_type="text"),
        fs.AttributeSpec(id=802, name="camera_id", input_type="number", values=["0", "10", "1"],
                         default_value="0"),
        fs.AttributeSpec(id=803, name="query", input_type="checkbox", default_value="false"),
    ],
)  # fmt: skip


def test_market1501_keeps_person_camera_and_query(tmp_path: Path) -> None:
    frames = [fs.FrameSpec(number=i, name=f"000{i + 1}_c{i + 1}s1_00000{i}_00.jpg", width=fs.W,
                           height=fs.H) for i in range(3)]  # fmt: skip
    tags = [
        fs.LabeledImage(frame=i, label_id=8, attributes=[
            fs.AttributeVal(801, f"000{i + 1}"), fs.AttributeVal(802, str(i)),
            fs.AttributeVal(803, "true" if i == 2 else "false"),
        ])
        for i in range(3)
    ]  # fmt: skip
    back = roundtrip("Market-1501 1.0", fs.source(frames, labels=[MARKET], tags=tags), tmp_path)
    assert sorted((t.frame, t.label_id, sorted((a.spec_id, a.value) for a in t.attributes))
                  for t in back.tags) == sorted(
        (t.frame, t.label_id, sorted((a.spec_id, a.value) for a in t.attributes)) for t in tags
    )  # fmt: skip
    assert (tmp_path / "export/images_default.txt").read_text().splitlines()[2] == (
        "query/0003_c3s1_000002_00.jpg"
    )


# --- bad input ---------------------------------------------------------------------------------


def _export(name: str, source: ExportSource, tmp_path: Path) -> Path:
    out = tmp_path / "bad"
    out.mkdir()
    FORMATS[name].exporter(source, out, False)  # type: ignore[misc]
    return out


ROUND_TRIP_FORMATS = [
    "COCO 1.0", "COCO Keypoints 1.0", "Datumaro 1.0", "PASCAL VOC 1.1", "YOLO 1.1",
    "Segmentation mask 1.1", "MOT 1.1", "CamVid 1.0", "Cityscapes 1.0", "KITTI 1.0",
    "WiderFace 1.0", "VGGFace2 1.0", "LFW 1.0", "LabelMe 3.0", "ImageNet 1.0",
    "Open Images V6 1.0",
]  # fmt: skip
ICDAR_FORMATS = ["ICDAR Recognition 1.0", "ICDAR Localization 1.0", "ICDAR Segmentation 1.0"]


def _one_shape(name: str, frame: int) -> dict[str, Any]:
    if name == "COCO Keypoints 1.0":
        return {"shapes": [fs.skeleton(frame)]}
    if name in TRACK_ONLY:
        return {"tracks": [fs.box_track(frame, frame + 1)]}
    if name == "ImageNet 1.0":
        return {"tags": [fs.tag(frame)]}
    if name == "LFW 1.0":
        return {"tags": [fs.tag(frame)], "shapes": [fs.points(frame)]}
    if name in ICDAR_FORMATS:
        return {
            "labels": [ICDAR],
            "shapes": [fs.box(frame, label=7, attributes=[fs.AttributeVal(701, "hi")])],
            "tags": [fs.LabeledImage(frame=frame, label_id=7,
                                     attributes=[fs.AttributeVal(701, "hi")])],
        }  # fmt: skip
    return {"shapes": [fs.box(frame, label=2)]}


@pytest.mark.parametrize("name", ROUND_TRIP_FORMATS + sorted(TRACK_ONLY) + ICDAR_FORMATS)
def test_unknown_label_names_the_label(name: str, tmp_path: Path) -> None:
    out = _export(name, fs.source(fs.frames(1), **_one_shape(name, 0)), tmp_path)
    other = fs.source(
        fs.frames(1),
        labels=[fs.LabelSpec(id=9, name="tree", type="any")],
    )
    with pytest.raises(FormatError, match=r"'(car|person|pose|icdar)'.*(is not a label|not have)"):
        FORMATS[name].importer(out, other)  # type: ignore[misc]


@pytest.mark.parametrize("name", ROUND_TRIP_FORMATS + sorted(TRACK_ONLY) + ICDAR_FORMATS)
def test_frames_in_directories_come_back_to_their_frames(name: str, tmp_path: Path) -> None:
    frames = [fs.FrameSpec(number=i, name=f"set/cam{i % 2}/img{i:03d}.jpg", width=fs.W,
                           height=fs.H) for i in range(3)]  # fmt: skip
    spec = _one_shape(name, 1)
    back = roundtrip(name, fs.source(frames, **spec), tmp_path)
    found = {s.frame for s in back.shapes} | {t.frame for t in back.tags}
    found |= {k.frame for t in back.tracks for k in t.shapes if not k.outside}
    assert found == {1}


@pytest.mark.parametrize("name", ROUND_TRIP_FORMATS + sorted(TRACK_ONLY) + ICDAR_FORMATS)
def test_wrong_format_is_refused(name: str, tmp_path: Path) -> None:
    other = "YOLO 1.1" if name != "YOLO 1.1" else "COCO 1.0"
    out = _export(other, fs.source(fs.frames(1), shapes=[fs.box(0)]), tmp_path)
    with pytest.raises(FormatError) as error:
        FORMATS[name].importer(out, fs.source(fs.frames(1)))  # type: ignore[misc]
    assert "bad" in str(error.value)  # names the upload


@pytest.mark.parametrize("name", ROUND_TRIP_FORMATS + sorted(TRACK_ONLY) + ICDAR_FORMATS)
def test_frame_not_in_task(name: str, tmp_path: Path) -> None:
    spec = _one_shape(name, 3)
    out = _export(name, fs.source(fs.frames(4), **spec), tmp_path)
    target = fs.source(fs.frames(2), labels=spec.get("labels", fs.LABELS))
    with pytest.raises(FormatError, match=r"item '\S*(img00[23]|[34])' does not match any frame"):
        FORMATS[name].importer(out, target)  # type: ignore[misc]


def test_coco_broken_json(tmp_path: Path) -> None:
    out = _export("COCO 1.0", fs.source(fs.frames(1), shapes=[fs.box(0)]), tmp_path)
    path = out / "annotations/instances_default.json"
    path.write_text(path.read_text()[:-20])
    with pytest.raises(FormatError, match=r"instances_default\.json"):
        FORMATS["COCO 1.0"].importer(out, fs.source(fs.frames(1)))  # type: ignore[misc]


def test_coco_box_outside_the_frame(tmp_path: Path) -> None:
    out = _export("COCO 1.0", fs.source(fs.frames(1), shapes=[fs.box(0)]), tmp_path)
    path = out / "annotations/instances_default.json"
    data = json.loads(path.read_text())
    data["annotations"][0]["bbox"] = [10, 10, 500, 20]
    path.write_text(json.dumps(data))
    with pytest.raises(FormatError, match=r"x=510 is outside the 64x48 frame"):
        FORMATS["COCO 1.0"].importer(out, fs.source(fs.frames(1)))  # type: ignore[misc]


def test_coco_not_json(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(FormatError, match=r"notes.txt: not a COCO file"):
        FORMATS["COCO 1.0"].importer(path, fs.source(fs.frames(1)))  # type: ignore[misc]


def test_yolo_coordinates_out_of_range(tmp_path: Path) -> None:
    out = _export("YOLO 1.1", fs.source(fs.frames(1), shapes=[fs.box(0)]), tmp_path)
    (out / "obj_train_data/img000.txt").write_text("0 1.5 0.5 0.2 0.2\n")
    with pytest.raises(FormatError, match=r"outside the 64x48 frame"):
        FORMATS["YOLO 1.1"].importer(out, fs.source(fs.frames(1)))  # type: ignore[misc]


def test_yolo_garbage_line(tmp_path: Path) -> None:
    out = _export("YOLO 1.1", fs.source(fs.frames(1), shapes=[fs.box(0)]), tmp_path)
    (out / "obj_train_data/img000.txt").write_text("zero one two\n")
    with pytest.raises(FormatError, match="img000"):
        FORMATS["YOLO 1.1"].importer(out, fs.source(fs.frames(1)))  # type: ignore[misc]


def test_voc_broken_xml(tmp_path: Path) -> None:
    out = _export("PASCAL VOC 1.1", fs.source(fs.frames(1), shapes=[fs.box(0)]), tmp_path)
    (out / "Annotations/img000.xml").write_text("<annotation><object>")
    with pytest.raises(FormatError, match="img000"):
        FORMATS["PASCAL VOC 1.1"].importer(out, fs.source(fs.frames(1)))  # type: ignore[misc]


def test_datumaro_broken_json(tmp_path: Path) -> None:
    out = _export("Datumaro 1.0", fs.source(fs.frames(1), shapes=[fs.box(0)]), tmp_path)
    (out / "annotations/default.json").write_text('{"items": [')
    with pytest.raises(FormatError, match=r"default\.json"):
        FORMATS["Datumaro 1.0"].importer(out, fs.source(fs.frames(1)))  # type: ignore[misc]


def test_datumaro_missing_field_is_named(tmp_path: Path) -> None:
    out = _export("Datumaro 1.0", fs.source(fs.frames(1), shapes=[fs.box(0)]), tmp_path)
    path = out / "annotations/default.json"
    data = json.loads(path.read_text())
    for label in data["categories"]["label"]["labels"]:
        del label["parent"]
    path.write_text(json.dumps(data))
    with pytest.raises(FormatError, match=r"missing field 'parent'"):
        FORMATS["Datumaro 1.0"].importer(out, fs.source(fs.frames(1)))  # type: ignore[misc]


def test_masks_survive_the_rle_both_ways() -> None:
    rng = np.random.default_rng(7)
    image = rng.random((fs.H, fs.W)) > 0.6
    rle = dm_bridge.mask_to_cvat_rle(image)
    assert rle is not None
    ys, xs = np.nonzero(image)
    assert rle[-4:] == [xs.min(), ys.min(), xs.max(), ys.max()]
    assert (dm_bridge.cvat_rle_to_mask(rle, fs.W, fs.H) == image).all()
    assert dm_bridge.mask_to_cvat_rle(np.zeros((3, 3), dtype=bool)) is None
    # nonsense from old data paints nothing instead of allocating a huge box
    for points in ([1, 2], [5, 5, 0, 0, -3, -3], [1, 1, 0, 0, 10**9, 10**9]):
        assert not dm_bridge.cvat_rle_to_mask(points, fs.W, fs.H).any()


# --- properties ----------------------------------------------------------------------------

# Quarter pixels: exact in binary, so that datumaro's rounding to 2 decimals and COCO's
# x, y, w, h (x + w) give back the same numbers instead of neighbours a rounding apart.
_coordinate = st.integers(0, 160).map(lambda v: v / 4)


@st.composite
def _shapes(draw: st.DrawFn) -> list[LabeledShape]:
    shapes = []
    for frame in range(draw(st.integers(1, 3))):
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["rectangle", "polygon", "polyline", "points"]))
            count = {"rectangle": 2, "polygon": 3, "polyline": 2, "points": 1}[kind]
            count += draw(st.integers(0, 2)) if kind != "rectangle" else 0
            points = [draw(_coordinate) for _ in range(2 * count)]
            if kind == "rectangle":
                x1, y1, x2, y2 = points
                points = [min(x1, x2), min(y1, y2), max(x1, x2) + 1, max(y1, y2) + 1]
            label = draw(st.sampled_from([1, 2]))
            attributes = fs.car_attributes(
                color=draw(st.sampled_from(["red", "blue"])),
                parked=draw(st.sampled_from(["true", "false"])),
                doors=str(draw(st.integers(0, 10))),
                note=draw(st.text(alphabet="abc xyz-", max_size=8)),
            ) if label == 1 else []  # fmt: skip
            shapes.append(
                LabeledShape(
                    type=kind, frame=frame, label_id=label, points=points,  # type: ignore[arg-type]
                    occluded=draw(st.booleans()), z_order=draw(st.integers(-2, 2)),
                    attributes=attributes,
                )
            )  # fmt: skip
    return shapes


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=_shapes())
def test_datumaro_round_trip_keeps_any_shapes(shapes: list[LabeledShape]) -> None:
    import tempfile

    source = fs.source(fs.frames(3), shapes=shapes)
    with tempfile.TemporaryDirectory() as temp:
        back = roundtrip("Datumaro 1.0", source, Path(temp))
    assert shapes_of(back) == expected(shapes)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=_shapes())
def test_coco_round_trip_keeps_any_boxes_and_polygons(shapes: list[LabeledShape]) -> None:
    import tempfile

    kept = [s for s in shapes if s.type in ("rectangle", "polygon")]
    source = fs.source(fs.frames(3), shapes=kept)
    with tempfile.TemporaryDirectory() as temp:
        back = roundtrip("COCO 1.0", source, Path(temp))
    assert shapes_of(back, z_order=False) == expected(kept, z_order=False)


@st.composite
def _box_tracks(draw: st.DrawFn) -> list[LabeledTrack]:
    tracks = []
    for _ in range(draw(st.integers(1, 3))):
        frames = sorted(draw(st.sets(st.integers(0, 9), min_size=1, max_size=5)))
        keyframes = []
        for index, frame in enumerate(frames):
            x, y = draw(_coordinate), draw(_coordinate)
            outside = index > 0 and draw(st.booleans())
            keyframes.append(
                TrackedShape(
                    type="rectangle", frame=frame, points=[x, y, x + 5, y + 5], outside=outside,
                    occluded=draw(st.booleans()),
                    attributes=[fs.AttributeVal(105, str(draw(st.integers(0, 100))))],
                )
            )  # fmt: skip
        tracks.append(
            LabeledTrack(
                frame=frames[0], label_id=1, shapes=keyframes,
                attributes=[fs.AttributeVal(101, "blue"), fs.AttributeVal(102, "false"),
                            fs.AttributeVal(103, "3"), fs.AttributeVal(104, "")],
            )
        )  # fmt: skip
    return tracks


def _visible(tracks: list[LabeledTrack]) -> list[tuple[Any, ...]]:
    """Every box the tracks show, frame by frame (what a user sees, whichever keyframes
    hold it)."""
    from backend.domain.interpolation import interpolate

    rows = []
    for track in tracks:
        for shape in interpolate(track, 0, 9):
            if not shape.outside:
                attributes = tuple(sorted((a.spec_id, a.value) for a in shape.attributes))
                rows.append((shape.frame, shape.occluded, attributes, list(shape.points)))
    return sorted(rows)


def _same_boxes(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> None:
    # a keyframe rebuilt where a track was interpolated holds datumaro's 2-decimal
    # rounding of the interpolated box, so later boxes may move by a hundredth
    assert [row[:3] for row in got] == [row[:3] for row in want]
    for (*_, points), (*_, expected_points) in zip(got, want, strict=True):
        assert points == pytest.approx(expected_points, abs=0.02)


@pytest.mark.parametrize("name", ["Datumaro 1.0", "COCO 1.0", "PASCAL VOC 1.1"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(tracks=_box_tracks())
def test_track_formats_show_the_same_boxes_on_every_frame(
    name: str, tracks: list[LabeledTrack]
) -> None:
    import tempfile

    source = fs.source(fs.frames(10), tracks=tracks)
    with tempfile.TemporaryDirectory() as temp:
        back = roundtrip(name, source, Path(temp))
    assert back.shapes == []
    _same_boxes(_visible(back.tracks), _visible(tracks))
