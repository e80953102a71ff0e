"""dm_bridge: our annotations <-> a datumaro Dataset, checked on the Dataset itself (what
every datumaro exporter sees) and on the way back (frame matching, labels, groups,
tracks, bad values)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from datumaro.components.annotation import (
    AnnotationType,
    Bbox,
    Ellipse,
    Label,
    LabelCategories,
    Mask,
    Points,
    PointsCategories,
    Polygon,
    PolyLine,
)
from datumaro.components.dataset import Dataset
from datumaro.components.dataset_base import DatasetItem
from datumaro.components.media import Image

from backend.formats import dm_bridge
from backend.formats.model import FormatError
from tests.unit import format_sources as fs


def _dataset(items: list[DatasetItem], labels: list[tuple[str, str]], points: bool = False
             ) -> Dataset:  # fmt: skip
    categories = LabelCategories()
    for name, parent in labels:
        categories.add(name, parent=parent)
    cats: dict[AnnotationType, object] = {AnnotationType.label: categories}
    if points:
        pc = PointsCategories()
        pc.add(2, ["foot", "head", "hand"], set())
        cats[AnnotationType.points] = pc
    return Dataset.from_iterable(items, categories=cats, media_type=Image)


LABELS = [("car", ""), ("person", ""), ("pose", ""), ("head", "pose"), ("hand", "pose"),
          ("foot", "pose")]  # fmt: skip


def test_categories_carry_attributes_sublabels_and_skeleton_points() -> None:
    dataset = dm_bridge.to_dataset(fs.source(fs.frames(1)), False)
    labels = dataset.categories()[AnnotationType.label]
    assert [(c.name, c.parent) for c in labels.items] == LABELS
    assert labels.items[0].attributes == {"color", "parked", "doors", "note", "speed"}
    points = dataset.categories()[AnnotationType.points]
    assert points.items[2].labels == ["head", "hand", "foot"]
    assert points.items[2].joints == {(1, 2), (2, 3)}  # from the skeleton's svg


def test_items_are_frames_with_size_name_and_frame_number(tmp_path) -> None:  # type: ignore[no-untyped-def]
    frames = [fs.FrameSpec(number=5, name="dir/a.png", width=30, height=20)]
    dataset = dm_bridge.to_dataset(fs.source(frames), False)
    (item,) = list(dataset)
    assert (item.id, item.attributes, item.media.size) == ("dir/a", {"frame": 5}, (20, 30))
    assert item.media.path == "dir/a.png"
    with_images = dm_bridge.to_dataset(fs.source(fs.frames(1), image_dir=tmp_path), True)
    assert next(iter(with_images)).media.path == str(tmp_path / "img000.jpg")


def test_shapes_become_datumaro_annotations_with_typed_attributes() -> None:
    shapes = [
        fs.box(0, attributes=fs.car_attributes(), z_order=3, occluded=True, group=4),
        fs.polygon(0),
        fs.polyline(0),
        fs.points(0),
        fs.ellipse(0),
        fs.mask(0),
        fs.skeleton(0, outside_foot=True),
    ]
    dataset = dm_bridge.to_dataset(fs.source(fs.frames(1), shapes=shapes, tags=[fs.tag(0)]), False)
    anns = next(iter(dataset)).annotations
    assert [type(a) for a in anns] == [Label, Bbox, Polygon, PolyLine, Points, Ellipse, Mask,
                                       Points]  # fmt: skip
    box = anns[1]
    assert box.points == [2.0, 3.0, 20.0, 30.0]
    assert (box.label, box.group, box.z_order) == (0, 4, 3)
    assert box.attributes == {"color": "blue", "parked": True, "doors": 2, "note": "dented",
                              "speed": 30, "occluded": True, "rotation": 0.0}  # fmt: skip
    assert box == Bbox(2, 3, 18, 27, label=0, group=4, z_order=3, attributes=box.attributes)
    assert anns[5].points == [20.0, 14.0, 40.0, 26.0]  # centre (30, 20), radii 10 and 6
    assert int(anns[6].image.sum()) == 17
    skeleton = anns[7]
    assert skeleton.label == 2
    assert skeleton.points == [10.0, 10.0, 20.0, 25.0, 30.0, 40.0]
    assert skeleton.visibility == [Points.Visibility.visible, Points.Visibility.hidden,
                                   Points.Visibility.absent]  # fmt: skip


def test_tracks_become_shapes_on_every_visible_frame() -> None:
    source = fs.source(fs.frames(6), tracks=[fs.box_track(1, 4)])
    dataset = dm_bridge.to_dataset(source, False)
    boxes = {item.attributes["frame"]: item.annotations for item in dataset}
    assert [len(boxes[n]) for n in range(6)] == [0, 1, 1, 1, 0, 0]
    middle = boxes[2][0]
    assert middle.points == [3.0, 1.0, 12.0, 10.0]  # interpolated
    assert (middle.attributes["track_id"], middle.attributes["keyframe"]) == (0, False)
    assert middle.attributes["speed"] == 10 and middle.attributes["doors"] == 3
    assert boxes[3][0].attributes["keyframe"] is True
    no_ids = dm_bridge.to_dataset(source, False, dm_bridge.ExportOptions(tracks=False))
    assert all("track_id" not in a.attributes for i in no_ids for a in i.annotations)


def test_cuboids_are_left_out_and_regions_can_be_painted() -> None:
    cuboid = fs.LabeledShape(type="cuboid", frame=0, label_id=1, points=[0.0] * 16)
    source = fs.source(fs.frames(1), shapes=[cuboid, fs.box(0), fs.polygon(0), fs.ellipse(0)])
    plain = dm_bridge.to_dataset(source, False)
    assert [a.type for a in next(iter(plain)).annotations] == [
        AnnotationType.bbox, AnnotationType.polygon, AnnotationType.ellipse,
    ]  # fmt: skip
    painted = dm_bridge.to_dataset(source, False, dm_bridge.ExportOptions(regions_as_masks=True))
    masks = next(iter(painted)).annotations
    assert [a.type for a in masks] == [AnnotationType.mask] * 3
    assert int(masks[0].image.sum()) == 18 * 27


def _item(item_id: str, *annotations: object, frame: int | None = None) -> DatasetItem:
    return DatasetItem(
        id=item_id, annotations=list(annotations),
        attributes={} if frame is None else {"frame": frame},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("item_id", "frame_attr", "frame"),
    [
        ("img002", None, 2),  # name without extension
        ("img002.jpg", None, 2),
        ("export/root/img002", None, 2),  # another root above
        ("whatever", 1, 1),  # the frame attribute
        ("3", None, 3),  # a number
        ("frame_000004", None, 4),  # video frame names
        ("person:img005", None, 5),  # ImageNet's <label>:<name>
    ],
)
def test_items_are_matched_to_frames(item_id: str, frame_attr: int | None, frame: int) -> None:
    dataset = _dataset([_item(item_id, Bbox(1, 1, 2, 2, label=0), frame=frame_attr)], LABELS)
    back = dm_bridge.from_dataset(dataset, fs.source(fs.frames(6)))
    assert [s.frame for s in back.shapes] == [frame]


def test_frames_in_subdirectories_match_by_path() -> None:
    frames = [fs.FrameSpec(number=0, name="a/x.jpg", width=fs.W, height=fs.H),
              fs.FrameSpec(number=1, name="b/x.jpg", width=fs.W, height=fs.H)]  # fmt: skip
    dataset = _dataset([_item("b/x", Label(1))], LABELS)
    assert [t.frame for t in dm_bridge.from_dataset(dataset, fs.source(frames)).tags] == [1]
    ambiguous = _dataset([_item("x", Label(1))], LABELS)
    with pytest.raises(FormatError, match="item 'x' does not match"):
        dm_bridge.from_dataset(ambiguous, fs.source(frames))


def test_job_imports_refuse_frames_outside_the_job() -> None:
    job = dataclasses.replace(fs.source(fs.frames(6)[3:]), job_id=4)
    dataset = _dataset([_item("img001", Label(1))], LABELS)
    with pytest.raises(FormatError, match="item 'img001' does not match any frame of the job"):
        dm_bridge.from_dataset(dataset, job, dm_bridge.ImportOptions(file="up.zip"))


def test_labels_attributes_and_groups_come_back_as_ours() -> None:
    dataset = _dataset([_item(
        "img000",
        Bbox(1, 2, 3, 4, label=0, group=7, z_order=2,
             attributes={"color": "red", "doors": 5.0, "parked": True, "note": None,
                         "unknown": "x", "occluded": "true", "rotation": 370.0}),
        Polygon([1, 1, 5, 1, 5, 5], label=1, group=7),
        Polygon([1, 1, 5, 1, 5, 5], label=1, group=9),  # alone in its group: no group
        Label(1, attributes={"source": "auto"}),
    )], LABELS)  # fmt: skip
    back = dm_bridge.from_dataset(dataset, fs.source(fs.frames(1)))
    box, poly, single = back.shapes
    assert box.points == [1.0, 2.0, 4.0, 6.0] and box.z_order == 2 and box.occluded
    assert box.rotation == 10.0
    assert {(a.spec_id, a.value) for a in box.attributes} == {
        (101, "red"), (103, "5"), (102, "true"), (104, ""),
    }  # fmt: skip
    assert box.group == poly.group == 1 and single.group == 0
    assert all(s.source == "file" for s in back.shapes)
    assert [(t.frame, t.label_id) for t in back.tags] == [(0, 2)]


def test_background_is_ignored_and_unknown_labels_are_named() -> None:
    dataset = _dataset([_item("img000", Bbox(1, 1, 2, 2, label=1))], [("car", ""),
                       ("background", "")])  # fmt: skip
    assert dm_bridge.from_dataset(dataset, fs.source(fs.frames(1))).shapes == []
    dataset = _dataset([_item("img000", Bbox(1, 1, 2, 2, label=0))], [("truck", "")])
    with pytest.raises(
        FormatError,
        match=r"up\.zip: item 'img000', annotation #0 \(bbox\): "
        r"label 'truck' is not a label of the task \(known: car, person, pose\)",
    ):
        dm_bridge.from_dataset(dataset, fs.source(fs.frames(1)),
                               dm_bridge.ImportOptions(file="up.zip"))  # fmt: skip


@pytest.mark.parametrize(
    "annotation",
    [
        Bbox(60, 1, 10, 2, label=0),  # right edge past the 64 px frame
        Polygon([1, 1, 5, 1, 5, -9], label=0),
        Points([float("nan"), 1], label=0),
    ],
)
def test_coordinates_outside_the_frame_are_refused(annotation: object) -> None:
    dataset = _dataset([_item("img000", annotation)], LABELS)
    with pytest.raises(FormatError, match=r"is outside the 64x48 frame"):
        dm_bridge.from_dataset(dataset, fs.source(fs.frames(1)))


def test_a_mask_of_another_size_is_refused() -> None:
    import numpy as np

    dataset = _dataset([_item("img000", Mask(np.ones((5, 5), dtype=bool), label=0))], LABELS)
    with pytest.raises(FormatError, match="mask is 5x5, the frame is 64x48"):
        dm_bridge.from_dataset(dataset, fs.source(fs.frames(1)))


def test_skeleton_points_follow_the_files_point_names() -> None:
    points = Points([1, 1, 2, 2, 3, 3], [0, 1, 2], label=2)  # foot, head, hand
    dataset = _dataset([_item("img000", points)], LABELS, points=True)
    (skeleton,) = dm_bridge.from_dataset(dataset, fs.source(fs.frames(1))).shapes
    assert [(e.label_id, e.points, e.outside, e.occluded) for e in skeleton.elements] == [
        (33, [1.0, 1.0], True, False),
        (31, [2.0, 2.0], False, True),
        (32, [3.0, 3.0], False, False),
    ]


def test_track_shapes_are_rebuilt_into_keyframes() -> None:
    def box(x: float, keyframe: bool) -> Bbox:
        return Bbox(x, 1, 5, 5, label=0, attributes={"track_id": 7, "keyframe": keyframe})

    items = [
        _item(f"img00{n}", box(x, key))
        for n, x, key in [(1, 1, True), (2, 2, False), (3, 3, True), (5, 5, True)]
    ]
    back = dm_bridge.from_dataset(_dataset(items, LABELS), fs.source(fs.frames(8)))
    (track,) = back.tracks
    assert [(k.frame, k.points[0], k.outside) for k in track.shapes] == [
        (1, 1.0, False),
        (3, 3.0, False),
        (4, 3.0, True),  # a gap: hidden until it comes back
        (5, 5.0, False),
        (6, 5.0, True),  # ends before the task does
    ]
    no_tracks = dm_bridge.from_dataset(
        _dataset(items, LABELS), fs.source(fs.frames(8)), dm_bridge.ImportOptions(tracks=False)
    )
    assert len(no_tracks.shapes) == 4 and no_tracks.tracks == []


def test_the_last_box_before_a_track_hides_is_a_keyframe() -> None:
    """The file shows frames 1-3 of a track that moved towards an outside keyframe at 4:
    without a keyframe at 3 the boxes at 2 and 3 would be interpolated towards frame 1's
    copy and stand still."""

    def box(x: float, keyframe: bool) -> Bbox:
        return Bbox(x, 1, 5, 5, label=0, attributes={"track_id": 1, "keyframe": keyframe})

    items = [_item(f"img00{n}", box(n * 2.0, n == 1)) for n in (1, 2, 3)]
    back = dm_bridge.from_dataset(_dataset(items, LABELS), fs.source(fs.frames(6)))
    (track,) = back.tracks
    assert [(k.frame, k.points[0], k.outside) for k in track.shapes] == [
        (1, 2.0, False),
        (3, 6.0, False),
        (4, 6.0, True),
    ]


def test_datumaro_failures_become_format_errors_naming_the_upload(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datumaro.plugins.data_formats.coco.base import CocoInstancesBase
    from datumaro.plugins.data_formats.coco.importer import CocoInstancesImporter

    upload = tmp_path / "upload"
    (upload / "annotations").mkdir(parents=True)
    (upload / "images").mkdir()
    (upload / "annotations/instances_default.json").write_text('{"images": [{"id": 1}]}')
    with pytest.raises(FormatError) as error:
        dm_bridge.import_with(upload, CocoInstancesImporter, CocoInstancesBase)
    assert str(error.value).startswith("upload")
    assert str(tmp_path) not in str(error.value)  # no server paths in messages


def test_unpaint_mask_is_datumaros_result() -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    colours = np.array([[0, 0, 0], [255, 0, 0], [0, 128, 255], [7, 7, 7]], dtype=np.uint8)
    painted = colours[rng.integers(0, 4, (40, 30))]
    inverse = {(0, 0, 0): 0, (0, 0, 255): 1, (255, 128, 0): 2, (7, 7, 7): 3}  # RGB keys
    ours = dm_bridge.unpaint_mask(painted, inverse)
    theirs = dm_bridge._datumaro_unpaint_mask(painted, inverse)
    assert ours.dtype == theirs.dtype and (ours == theirs).all()
    with pytest.raises(KeyError, match="Undeclared color"):
        dm_bridge.unpaint_mask(painted, {(0, 0, 0): 0})
    assert (
        dm_bridge.unpaint_mask(painted, {(0, 0, 0): 0}, default_id=9)
        == dm_bridge._datumaro_unpaint_mask(painted, {(0, 0, 0): 0}, default_id=9)
    ).all()


def test_a_label_map_renames_a_skeleton_and_its_points_follow_by_name(tmp_path: Any) -> None:
    from msgspec import structs

    from backend.formats.datumaro_format import export_datumaro, import_datumaro
    from backend.formats.import_context import ImportContext

    body = structs.replace(fs.POSE, name="body")  # the file's name for our "pose"
    exported = fs.source(fs.frames(2), shapes=[fs.skeleton(1)], labels=[fs.CAR, fs.PERSON, body])
    export_datumaro(exported, tmp_path, False)
    target = fs.source(fs.frames(2))
    context = ImportContext(label_map={"body": "pose"})
    data = import_datumaro(tmp_path, dataclasses.replace(target, importing=context))
    assert context.problem_count == 0
    (skeleton,) = data.shapes
    assert (skeleton.label_id, skeleton.frame) == (fs.POSE.id, 1)
    assert sorted((e.label_id, e.points) for e in skeleton.elements) == sorted(
        (e.label_id, e.points) for e in fs.skeleton(1).elements
    )
