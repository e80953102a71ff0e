"""Our annotations <-> a datumaro Dataset, the one door to datumaro for every format module.

Export (`to_dataset`) follows CVAT's GetCVATDataExtractor: one DatasetItem per frame (made
while the exporter reads it, so the task is never held twice), its id
the frame name without extension and `frame` in its attributes; labels with their attribute
names (skeleton points are labels whose parent is the skeleton); tracks become per-frame
shapes (interpolated, outside ones dropped) with `track_id` and `keyframe` attributes;
`occluded` (and `rotation` for boxes) travel as attributes. Datumaro 1.13 has no skeleton
annotation, so a skeleton is a `Points` annotation with one point per skeleton point (in
the label's sublabel order) and the skeleton's `PointsCategories` entry names them.

Import (`from_dataset`) follows CVAT's import_dm_annotations: items are matched to task
frames by name (with or without directories) or by the `frame` attribute, labels by name,
attributes by name (unknown ones dropped), one-member groups dropped, and shapes carrying
`track_id` + `keyframe` rebuilt into tracks where the format keeps tracks. Anything it cannot
place is a FormatError naming the file and the item.

Datumaro plugins are passed explicitly (`environment(...)`): nothing is discovered.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import attr
import numpy as np
from datumaro.components.annotation import (
    COORDINATE_ROUNDING_DIGITS,
    Annotation,
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
    RotatedBbox,
)
from datumaro.components.dataset import Dataset
from datumaro.components.dataset_base import DEFAULT_SUBSET_NAME, DatasetBase, DatasetItem
from datumaro.components.environment import Environment
from datumaro.components.errors import DatumaroError
from datumaro.components.media import Image
from datumaro.util import mask_tools

from backend.domain.errors import ValidationError
from backend.domain.interpolation import interpolate_keyframes
from backend.domain.labels import LabelSet
from backend.domain.objects import (
    AttributeVal,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    SkeletonElementShape,
    SkeletonElementTrack,
    TrackedShape,
)
from backend.domain.validation import check_attributes, check_label
from backend.formats.cancel import checkpoint
from backend.formats.frame_match import FrameMatcher
from backend.formats.import_context import ImportContext
from backend.formats.model import (
    AttributeSpec,
    CvatAnnotations,
    ExportSource,
    FormatError,
    FrameSpec,
    LabelSpec,
)

__all__ = [
    "NO_LABEL",
    "ExportOptions",
    "ImportOptions",
    "cvat_rle_to_mask",
    "environment",
    "export_with",
    "from_dataset",
    "import_with",
    "mask_to_cvat_rle",
    "to_dataset",
]

log = logging.getLogger(__name__)
NO_LABEL = -1  # an annotation of the format's implied label (ImportOptions.default_label)

# Attributes the bridge itself writes or reads; never mapped onto label attributes.
_SERVICE_ATTRIBUTES = frozenset(
    {"occluded", "outside", "keyframe", "track_id", "rotation", "source", "frame"}
)


def environment(*plugins: type) -> Environment:
    """A datumaro Environment holding exactly `plugins` (no built-in discovery)."""
    env = Environment()
    env._builtins_initialized = True  # datumaro would otherwise scan every plugin module
    env.register_plugins(list(plugins))
    return env


# --- masks ---------------------------------------------------------------------------------


_datumaro_unpaint_mask = mask_tools.unpaint_mask


def unpaint_mask(
    painted_mask: np.ndarray, inverse_colormap: Any = None, default_id: Any = None
) -> np.ndarray:
    """datumaro's unpaint_mask (a colour PNG -> class indexes), the same result without
    its sort of every pixel: the few colours are found by hashing and each pixel placed
    by a binary search among them. Reading a 1080p Segmentation mask / CamVid frame went
    from ~0.6 s to ~0.1 s. Installed in datumaro's mask_tools below."""
    assert len(painted_mask.shape) == 3
    if inverse_colormap is None:
        inverse_colormap = mask_tools._default_unpaint_colormap
    if callable(inverse_colormap):

        def map_fn(a: int) -> Any:
            return inverse_colormap((a >> 16) & 255, (a >> 8) & 255, a & 255)
    else:

        def map_fn(a: int) -> Any:
            return inverse_colormap.get(((a >> 16) & 255, (a >> 8) & 255, a & 255), None)

    pixels = painted_mask.astype(np.int32)
    packed = pixels[:, :, 0] | (pixels[:, :, 1] << 8) | (pixels[:, :, 2] << 16)
    colours = np.unique(packed)
    palette = []
    for value in colours.tolist():
        class_id = map_fn(value)
        if class_id is None and default_id is None:
            raise KeyError(
                f"Undeclared color {((value >> 16) & 255, (value >> 8) & 255, value & 255)}"
            )
        palette.append(default_id if class_id is None else class_id)
    table = np.array(palette, dtype=np.min_scalar_type(len(colours)))
    return table[np.searchsorted(colours, packed)]


mask_tools.unpaint_mask = unpaint_mask


def cvat_rle_to_mask(points: Sequence[float], width: int, height: int) -> np.ndarray:
    """CVAT's mask encoding (run lengths from 0s over the box, then left, top, right,
    bottom inclusive) as a full-frame boolean array."""
    full = np.zeros((height, width), dtype=bool)
    if len(points) < 5:
        return full
    *counts, left, top, right, bottom = (int(v) for v in points)
    box_w, box_h = right - left + 1, bottom - top + 1
    # a box far larger than the frame, or negative runs, is not a mask we could have made
    if box_w <= 0 or box_h <= 0 or box_w * box_h > 4 * (width + 1) * (height + 1):
        return full
    box = np.zeros(box_w * box_h, dtype=bool)
    position = 0
    for index, count in enumerate(counts):
        if count < 0 or position >= len(box):
            break
        if index % 2:
            box[position : position + count] = True
        position += count
    box2d = box.reshape(box_h, box_w)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(bottom + 1, height), min(right + 1, width)
    if y0 < y1 and x0 < x1:
        full[y0:y1, x0:x1] = box2d[y0 - top : y1 - top, x0 - left : x1 - left]
    return full


def mask_to_cvat_rle(image: np.ndarray) -> list[float] | None:
    """A boolean mask in CVAT's encoding, or None when it is empty."""
    ys, xs = np.nonzero(image)
    if not len(ys):
        return None
    top, bottom, left, right = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
    flat = np.asarray(image[top : bottom + 1, left : right + 1], dtype=bool).ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], changes, [len(flat)]))
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts.insert(0, 0)
    return [float(c) for c in counts] + [float(left), float(top), float(right), float(bottom)]


# --- export --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportOptions:
    """What a format can hold; shapes it cannot are converted or left out as CVAT does."""

    tracks: bool = True  # write track_id/keyframe attributes on track shapes
    ellipse_as: str = "ellipse"  # "ellipse", "mask", "polygon" or "drop"
    # segmentation formats: boxes, polygons and ellipses painted as masks (as CVAT's
    # polygons_to_masks / boxes_to_masks)
    regions_as_masks: bool = False
    boxes_as_masks: bool = True  # with regions_as_masks (KITTI keeps its boxes)
    skip_types: frozenset[str] = frozenset({"cuboid"})
    tags: bool = True  # False: the format would misread image labels (VGGFace2)
    # the item id of the index-th exported frame (default: its name without extension)
    item_id: Callable[[int, FrameSpec], str] | None = None


def _frame_item_id(frame: FrameSpec) -> str:
    return os.path.splitext(frame.name)[0]


def _joints(svg: str, sublabels: Sequence[LabelSpec]) -> set[tuple[int, int]]:
    """Skeleton edges from CVAT's svg (lines with data-node-from/to, 1-based point
    indexes in CVAT's skeleton layout; circles with data-node-id and data-label-id)."""
    node_label: dict[str, int] = {}
    for circle in re.finditer(r"<circle[^>]*>", svg):
        tag = circle.group(0)
        node = re.search(r'data-node-id="(\d+)"', tag)
        label = re.search(r'data-label-id="(\d+)"', tag)
        name = re.search(r'data-label-name="([^"]*)"', tag)
        if node is None:
            continue
        for position, sub in enumerate(sublabels, start=1):
            if (label and int(label.group(1)) == sub.id) or (name and name.group(1) == sub.name):
                node_label[node.group(1)] = position
    joints: set[tuple[int, int]] = set()
    for line in re.finditer(r"<line[^>]*>", svg):
        tag = line.group(0)
        a = re.search(r'data-node-from="(\d+)"', tag)
        b = re.search(r'data-node-to="(\d+)"', tag)
        if a and b and a.group(1) in node_label and b.group(1) in node_label:
            joints.add((node_label[a.group(1)], node_label[b.group(1)]))
    return joints


class _Labels:
    """Our labels as datumaro categories, with the id <-> index maps both ways."""

    def __init__(self, labels: Sequence[LabelSpec]) -> None:
        self.categories = LabelCategories(attributes={"occluded"})
        self.points = PointsCategories()
        self.index: dict[int, int] = {}
        self.specs: dict[int, LabelSpec] = {}
        for label in labels:
            self._add(label, "")
            for sub in label.sublabels:
                self._add(sub, label.name)
            if label.type == "skeleton" or label.sublabels:
                self.points.add(
                    self.index[label.id],
                    [sub.name for sub in label.sublabels],
                    _joints(label.svg, label.sublabels),
                )

    def _add(self, label: LabelSpec, parent: str) -> None:
        self.index[label.id] = self.categories.add(
            label.name, parent=parent, attributes={a.name for a in label.attributes}
        )
        self.specs[label.id] = label

    def as_dict(self) -> dict[AnnotationType, Any]:
        result: dict[AnnotationType, Any] = {AnnotationType.label: self.categories}
        if len(self.points.items):
            result[AnnotationType.points] = self.points
        return result


def _attribute_value(spec: AttributeSpec, value: str) -> Any:
    if spec.input_type == "number":
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    if spec.input_type == "checkbox":
        return value.lower() == "true"
    return value


def _dm_attributes(label: LabelSpec, values: Iterable[AttributeVal]) -> dict[str, Any]:
    given = {a.spec_id: a.value for a in values}
    return {
        spec.name: _attribute_value(spec, given.get(spec.id, spec.default_value))
        for spec in label.attributes
    }


@dataclass
class _FrameShape:
    """A track's shape on one frame (plain shapes are used as they are)."""

    type: str
    label_id: int
    points: list[float]
    occluded: bool
    z_order: int
    rotation: float
    group: int
    attributes: list[AttributeVal]
    elements: list[tuple[int, list[float], bool, bool]]  # label id, points, occluded, outside
    track_id: int | None = None
    keyframe: bool = False


def _frame_shapes(
    source: ExportSource, options: ExportOptions
) -> dict[int, list[_FrameShape | LabeledShape]]:
    """Shapes by frame: the shapes themselves, and each track's shape on every frame
    where it is visible."""
    by_frame: dict[int, list[_FrameShape | LabeledShape]] = defaultdict(list)
    for shape in source.annotations.shapes:
        by_frame[shape.frame].append(shape)
    if not source.frames:
        return by_frame
    numbers = [f.number for f in source.frames]
    start, stop, included = min(numbers), max(numbers), set(numbers)
    for track_index, track in enumerate(source.annotations.tracks):
        element_shapes = [
            (
                element.label_id,
                {
                    s.frame: s
                    for s in interpolate_keyframes(
                        element.shapes,
                        element.frame,
                        start,
                        stop,
                        included_frames=included,
                        include_outside=True,  # the skeleton decides visibility
                    )
                },
            )
            for element in track.elements
        ]
        for seen in interpolate_keyframes(
            track.shapes, track.frame, start, stop, included_frames=included
        ):
            if seen.outside:
                continue
            elements = [
                (label_id, list(s.points), s.occluded, s.outside)
                for label_id, by_number in element_shapes
                if (s := by_number.get(seen.frame)) is not None
            ]
            if track.elements and all(e[3] for e in elements):
                continue  # a skeleton with every point outside is not shown (as CVAT)
            by_frame[seen.frame].append(
                _FrameShape(
                    type=seen.type,
                    label_id=track.label_id,
                    points=list(seen.points),
                    occluded=seen.occluded,
                    z_order=seen.z_order,
                    rotation=seen.rotation,
                    group=track.group or 0,
                    attributes=list(track.attributes) + list(seen.attributes),
                    elements=elements,
                    track_id=track_index if options.tracks else None,
                    keyframe=seen.keyframe,
                )
            )
    return by_frame


# Building 100,000 annotations through datumaro's attrs validators costs as much as the
# export itself; shapes whose fields we produce ourselves (plain floats, known label) are
# filled in directly, with datumaro's own coordinate rounding. `_FAST` is checked against
# the classes' fields at import, so a datumaro with other fields uses the constructors.
_FAST_FIELDS = ("id", "attributes", "group", "object_id", "points", "label", "z_order")
_FAST = all(
    tuple(f.name for f in attr.fields(cls)) == _FAST_FIELDS for cls in (Bbox, Polygon, PolyLine)
)


def _shape(cls: Any, points: list[float], common: dict[str, Any]) -> Annotation:
    if not _FAST:
        if cls is Bbox:
            x1, y1, x2, y2 = points
            return Bbox(x1, y1, x2 - x1, y2 - y1, **common)
        return cls(points, **common)
    ann = cls.__new__(cls)
    ann.id = 0
    ann.attributes = common["attributes"]
    ann.group = common["group"]
    ann.object_id = -1
    ann.points = [round(float(v), COORDINATE_ROUNDING_DIGITS) for v in points]
    ann.label = common["label"]
    ann.z_order = common["z_order"]
    return ann


def _ellipse_polygon(cx: float, cy: float, rx: float, ry: float, angle: float) -> list[float]:
    steps = 32
    cos_a, sin_a = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    points: list[float] = []
    for i in range(steps):
        t = 2 * math.pi * i / steps
        x, y = rx * math.cos(t), ry * math.sin(t)
        points += [cx + x * cos_a - y * sin_a, cy + x * sin_a + y * cos_a]
    return points


def _paint(kind: str, points: list[float], rotation: float, frame: FrameSpec) -> np.ndarray:
    import cv2

    image = np.zeros((frame.height, frame.width), dtype=np.uint8)
    if kind == "ellipse":
        cx, cy, x2, y2 = points
        axes = (round(abs(x2 - cx)), round(abs(cy - y2)))
        cv2.ellipse(image, (round(cx), round(cy)), axes, rotation, 0, 360, 1, -1)
        return image.astype(bool)
    if kind == "rectangle":
        x1, y1, x2, y2 = points
        corners = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64)
        if rotation:
            centre = corners.mean(axis=0)
            angle = math.radians(rotation)
            turn = np.array(
                [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
            )
            corners = (corners - centre) @ turn.T + centre
        else:  # a box covers the pixels it spans (x2, y2 exclusive)
            image[max(round(y1), 0) : max(round(y2), 0), max(round(x1), 0) : max(round(x2), 0)] = 1
            return image.astype(bool)
        polygon = corners
    else:
        polygon = np.array(points, dtype=np.float64).reshape(-1, 2)
    cv2.fillPoly(image, [np.round(polygon).astype(np.int32)], 1)
    return image.astype(bool)


def _to_annotation(
    shape: _FrameShape | LabeledShape, frame: FrameSpec, labels: _Labels, options: ExportOptions
) -> Annotation | None:
    label = labels.specs[shape.label_id]
    attributes = _dm_attributes(label, shape.attributes)
    attributes["occluded"] = shape.occluded
    if isinstance(shape, _FrameShape) and shape.track_id is not None:
        attributes["track_id"] = shape.track_id
        attributes["keyframe"] = shape.keyframe
    common: dict[str, Any] = {
        "label": labels.index[shape.label_id],
        "attributes": attributes,
        "group": shape.group or 0,
        "z_order": shape.z_order,
    }
    kind, points = shape.type, shape.points
    if kind in options.skip_types:
        return None
    if options.regions_as_masks and (
        kind in ("polygon", "ellipse") or (kind == "rectangle" and options.boxes_as_masks)
    ):
        attributes.pop("rotation", None)
        image = _paint(kind, points, shape.rotation, frame)
        return Mask(image, **common)
    if kind == "rectangle":
        attributes["rotation"] = shape.rotation
        return _shape(Bbox, points, common)
    if kind == "polygon":
        return _shape(Polygon, points, common)
    if kind == "polyline":
        return _shape(PolyLine, points, common)
    if kind == "points":
        return Points(points, **common)
    if kind == "ellipse":
        cx, cy, x2, y2 = points
        rx, ry = abs(x2 - cx), abs(cy - y2)
        attributes["rotation"] = shape.rotation
        if options.ellipse_as == "ellipse":
            return Ellipse(cx - rx, cy - ry, cx + rx, cy + ry, **common)
        if options.ellipse_as == "polygon":
            return Polygon(_ellipse_polygon(cx, cy, rx, ry, shape.rotation), **common)
        if options.ellipse_as == "mask":
            import cv2

            image = np.zeros((frame.height, frame.width), dtype=np.uint8)
            cv2.ellipse(
                image, (round(cx), round(cy)), (round(rx), round(ry)), shape.rotation, 0, 360, 1, -1
            )
            common.pop("z_order")
            return Mask(image.astype(bool), z_order=shape.z_order, **common)
        return None
    if kind == "mask":
        image = cvat_rle_to_mask(points, frame.width, frame.height)
        return Mask(image, **common)
    if kind == "skeleton":
        sublabels = label.sublabels
        if isinstance(shape, _FrameShape):
            placed = {label_id: (pts, occ, out) for label_id, pts, occ, out in shape.elements}
        else:
            placed = {e.label_id: (e.points, e.occluded, e.outside) for e in shape.elements}
        coords: list[float] = []
        visibility: list[Points.Visibility] = []
        for sub in sublabels:
            pts, occ, out = placed.get(sub.id, ([0.0, 0.0], False, True))
            coords += list(pts[:2]) if len(pts) >= 2 else [0.0, 0.0]
            if out:
                visibility.append(Points.Visibility.absent)
            elif occ:
                visibility.append(Points.Visibility.hidden)
            else:
                visibility.append(Points.Visibility.visible)
        return Points(coords, visibility, **common)
    return None


def to_dataset(
    source: ExportSource, save_images: bool, options: ExportOptions | None = None
) -> FrameItems:
    """The source as a datumaro dataset (images by path; real files when save_images).

    The items are made while an exporter reads them, one frame at a time, so an export
    never holds the whole task twice (our annotations and datumaro's); reading it again
    makes them again."""
    return FrameItems(source, save_images, options or ExportOptions())


class FrameItems(DatasetBase):  # type: ignore[misc]
    """One DatasetItem per frame of the source, made on iteration, in the subset its frame
    names (a project export's tasks' subsets; else datumaro's "default")."""

    def __init__(self, source: ExportSource, save_images: bool, options: ExportOptions) -> None:
        subsets = sorted({_subset_of(frame) for frame in source.frames}) or [DEFAULT_SUBSET_NAME]
        super().__init__(length=len(source.frames), subsets=subsets, media_type=Image)
        self._source = source
        self._save_images = save_images
        self._options = options
        self._frames = list(enumerate(source.frames))  # (index in the source, frame)
        self._labels = _Labels(source.labels)
        self._shapes = _frame_shapes(source, options)
        self._tags: dict[int, list[LabeledImage]] = defaultdict(list)
        if options.tags:
            for tag in source.annotations.tags:
                self._tags[tag.frame].append(tag)

    def categories(self) -> dict[AnnotationType, Any]:
        return self._labels.as_dict()

    def get_subset(self, name: str) -> FrameItems:
        """The items of one subset, without making the others' (an exporter writes a
        subset at a time)."""
        if name not in self._subsets:
            raise KeyError(f"Unknown subset '{name}', available subsets: {set(self._subsets)}")
        if len(self._subsets) == 1:
            return self
        part = copy.copy(self)
        part._frames = [(i, f) for i, f in self._frames if _subset_of(f) == name]
        part._subsets, part._length = [name], len(part._frames)
        return part

    def __iter__(self) -> Iterator[DatasetItem]:
        source, options, labels = self._source, self._options, self._labels
        for index, frame in self._frames:
            checkpoint()
            annotations: list[Annotation] = [
                Label(
                    labels.index[tag.label_id],
                    attributes=_dm_attributes(labels.specs[tag.label_id], tag.attributes),
                    group=tag.group or 0,
                )
                for tag in self._tags.get(frame.number, ())
            ]
            for shape in self._shapes.get(frame.number, ()):
                annotation = _to_annotation(shape, frame, labels, options)
                if annotation is not None:
                    annotations.append(annotation)
            path = frame.name
            if self._save_images and source.image_path is not None:
                path = str(source.image_path(frame.number))
            yield DatasetItem(
                id=options.item_id(index, frame) if options.item_id else _frame_item_id(frame),
                subset=_subset_of(frame),
                media=Image.from_file(path=path, size=(frame.height, frame.width)),
                annotations=annotations,
                attributes={"frame": frame.number},
            )


def _subset_of(frame: FrameSpec) -> str:
    return frame.subset or DEFAULT_SUBSET_NAME


def export_with(
    exporter: Any, dataset: Any, out_dir: Path, save_images: bool, **options: Any
) -> None:
    """Run a datumaro exporter class; its failures become FormatError (what the format
    cannot hold, e.g. two boxes on a VGGFace2 image), never a traceback for the user."""
    name = getattr(exporter, "NAME", "datumaro")
    try:
        exporter.convert(dataset, save_dir=str(out_dir), save_media=save_images, **options)
    except DatumaroError as error:
        raise FormatError(f"{name} export failed: {error}") from error
    except Exception as error:  # a datumaro bug on unusual data: logged in full
        log.exception("%s export failed", name)
        raise FormatError(f"{name} export failed: {error or type(error).__name__}") from error


# --- import --------------------------------------------------------------------------------


def import_with(path: Path, importer: type, *extractors: type, **options: Any) -> Dataset:
    """Read `path` with a datumaro importer class and the extractor classes its sources
    name; any failure is a FormatError naming the upload's file when datumaro tells which."""
    format_name = importer.NAME  # type: ignore[attr-defined]
    env = environment(importer, *extractors)
    try:
        dataset = Dataset.import_from(str(path), format_name, env=env, **options)
        dataset.init_cache()  # parse now, so errors surface here and not while iterating
    except FormatError:
        raise
    except Exception as error:  # datumaro raises anything from KeyError to its own errors
        raise FormatError(_describe(error, path)) from error
    if len(dataset) == 0:
        raise FormatError(f"{path.name}: no annotations found")
    return dataset


def _describe(error: BaseException, root: Path) -> str:
    """One line from datumaro's chain of errors, paths relative to the upload, the
    upload's name first; a broken JSON file is named by finding it."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 6:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if any(isinstance(e, ValueError) and "line" in str(e) for e in chain):
        broken = _broken_json(root)
        if broken:
            return broken
    pieces: list[str] = []
    for item in chain:
        piece = str(item) or type(item).__name__
        if type(item) is KeyError:  # datumaro reading a document without a field it needs
            piece = f"missing field {piece}"
        if piece.startswith(("Failed to import dataset", "Failed to find dataset")) and (
            len(chain) > 1
        ):
            continue
        if not any(piece in p for p in pieces):
            pieces.append(piece)
    message = ": ".join(pieces) or type(error).__name__
    message = message.replace(str(root) + os.sep, "").replace(str(root), root.name)
    return message if message.startswith(root.name) else f"{root.name}: {message}"


def _broken_json(root: Path) -> str | None:
    import json

    files = [root] if root.is_file() else sorted(root.rglob("*.json"))
    for file in files:
        try:
            json.loads(file.read_bytes())
        except ValueError as error:
            name = file.name if root.is_file() else str(file.relative_to(root))
            return f"{name}: broken JSON: {error}"
    return None


@dataclass
class ImportOptions:
    tracks: bool = True  # rebuild tracks from track_id/keyframe attributes
    ignore_labels: frozenset[str] = frozenset({"background"})
    file: str = ""  # the name to quote in errors
    drop: Callable[[DatasetItem, Annotation], bool] | None = None  # annotations to leave out
    # formats whose track ids mark every shape as a keyframe (MOT, MOTS): no `keyframe`
    # attribute is needed, and a negative id means "not a track"
    all_keyframes: bool = False
    # the task label of annotations the format keeps without one (ICDAR: "icdar")
    default_label: str | None = None
    # an item's annotations as the format means them (e.g. LFW landmarks take the label
    # of the image's person)
    rewrite: Callable[[DatasetItem], list[Annotation]] | None = None
    # the task frame of an item when the format numbers frames itself (MOT: 1-based index)
    frame_of: Callable[[DatasetItem, ExportSource], int | None] | None = None


def _match_item(item: DatasetItem, match: FrameMatcher, by_file: dict[str, int]) -> int | None:
    """The task frame of a dataset item: by its image file when the target names its
    frames' files (a project import), by its path and subset (frame_match), then by its
    `frame` attribute or a number in its name."""
    path = getattr(item.media, "path", None) if item.media is not None else None
    if by_file and path:
        found = by_file.get(os.path.realpath(path))
        if found is not None:
            return found
    item_id = item.id.replace("\\", "/")
    subset = item.subset if item.subset != DEFAULT_SUBSET_NAME else None
    number = match.by_name(item_id, subset)
    if number is not None:
        return number
    base = os.path.basename(item_id)
    if ":" in base:  # ImageNet names an image "<label>:<name>"
        number = match.trailing(base.rsplit(":", 1)[1])
        if number is not None:
            return number
    frame = item.attributes.get("frame")
    for candidate in (frame, item_id, base[len("frame_") :] if base.startswith("frame_") else None):
        try:
            number = int(candidate)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if number in match.numbers:
            return number
    return None


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _attribute_text(spec: AttributeSpec, value: Any) -> str:
    if value is None:
        return "" if spec.input_type == "text" else spec.default_value
    if isinstance(value, bool):
        return "true" if value else "false"
    if spec.input_type == "number" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    if spec.input_type == "checkbox":
        return "true" if _to_bool(value) else "false"
    return str(value)


class _Skip(Exception):
    """An annotation the import cannot take (reported, then left out)."""


class _Importer:
    def __init__(self, dataset: Dataset, target: ExportSource, options: ImportOptions) -> None:
        self.options = options
        self.target = target
        self.context = target.importing or ImportContext()
        self.file = options.file or "the upload"
        self.frames = {f.number: f for f in target.frames}
        self.match = FrameMatcher(target.frames)
        # a project import's frames are the upload's own image files: matched by file first
        self.by_file: dict[str, int] = {}
        if self.context.subsets is not None and target.image_path is not None:
            image_path = target.image_path
            self.by_file = {os.path.realpath(image_path(n)): n for n in self.frames}
        categories = dataset.categories()
        label_cat = categories.get(AnnotationType.label) or LabelCategories()
        self.points_cat = categories.get(AnnotationType.points)
        self.top = self.context.labels_by_name(target.labels)
        self.known = ", ".join(sorted(label.name for label in target.labels)) or "none"
        self.label_set = LabelSet(target.labels)
        self.checked: set[tuple[int, str | AttributeVal]] = set()
        self.dm_labels: list[tuple[str, str]] = [(c.name, c.parent) for c in label_cat.items]
        self.context.unknown_labels.update(
            name
            for name, parent in self.dm_labels
            if not parent and name not in self.top and name not in options.ignore_labels
        )
        self.shapes: list[LabeledShape] = []
        self.tags: list[LabeledImage] = []
        self.track_parts: dict[Any, list[tuple[int, LabeledShape, bool]]] = defaultdict(list)

    def _label(self, index: int | None) -> LabelSpec | None:
        """The target label of an annotation; None for one to leave out quietly (the
        format's background, or a label the label map drops)."""
        if index in (None, NO_LABEL) and self.options.default_label is not None:
            name = self.options.default_label
            if name not in self.top:
                self.context.unknown_labels.add(name)
                raise _Skip(
                    f"the format's annotations belong to a label '{name}', which the "
                    f"{self.target.whole} does not have"
                )
            found = self.top[name]
            if found is None:
                self.context.dropped += 1
            return found
        if index is None or not 0 <= index < len(self.dm_labels):
            raise _Skip("an annotation without a known label")
        name, parent = self.dm_labels[index]
        if parent:
            parent_spec = self.top.get(parent)
            for sub in parent_spec.sublabels if parent_spec else ():
                if sub.name == name:
                    return sub
            raise _Skip(f"unknown label '{parent}/{name}'")
        if name in self.top:
            found = self.top[name]
            if found is None:
                self.context.dropped += 1
            return found
        if name in self.options.ignore_labels:
            return None
        raise _Skip(
            f"label '{name}' is not a label of the {self.target.whole} (known: {self.known})"
        )

    def _check(self, label: LabelSpec, used_as: str, attributes: list[AttributeVal]) -> None:
        """What the annotations will refuse, refused here per annotation (checks passed
        once are remembered)."""
        parent = self.label_set.parent_of(label.id)
        try:
            if (label.id, used_as) not in self.checked:
                check_label(self.label_set, label.id, used_as, "label", parent)
                self.checked.add((label.id, used_as))
            for attr in attributes:
                if (label.id, attr) not in self.checked:
                    check_attributes(self.label_set, label.id, [attr], "value")
                    if len(self.checked) < 100_000:  # text values: do not grow without end
                        self.checked.add((label.id, attr))
        except ValidationError as error:
            raise _Skip(f"label '{label.name}': {error.message}") from None

    def _attributes(self, label: LabelSpec, values: dict[str, Any]) -> list[AttributeVal]:
        by_name = {spec.name: spec for spec in label.attributes}
        result = []
        for name, value in values.items():
            spec = by_name.get(name)
            if spec is None or name in _SERVICE_ATTRIBUTES:
                continue
            result.append(AttributeVal(spec.id, _attribute_text(spec, value)))
        return result

    def _check_points(self, points: Sequence[float], frame: FrameSpec) -> None:
        for index, value in enumerate(points):
            limit = frame.width if index % 2 == 0 else frame.height
            if not math.isfinite(value) or value < -1 or value > limit + 1:
                axis = "x" if index % 2 == 0 else "y"
                raise _Skip(
                    f"coordinate {axis}={value:g} is outside the {frame.width}x{frame.height} frame"
                )

    def run(self, dataset: Dataset) -> CvatAnnotations:
        whole = self.target.whole
        for item in dataset:
            checkpoint()
            if self.options.frame_of is not None:
                number = self.options.frame_of(item, self.target)
            else:
                number = _match_item(item, self.match, self.by_file)
            if number is None or number not in self.frames:
                where = f"{self.file}: item '{item.id}'"
                what = f"does not match any frame of the {whole}"
                self.context.problem(what, where, f"{where} {what}")
                continue
            if self.context.subsets is not None:
                self.context.subsets[number] = item.subset or DEFAULT_SUBSET_NAME
            self._item(item, self.frames[number])
        tracks = self._tracks()
        return CvatAnnotations(version=0, tags=self.tags, shapes=self.shapes, tracks=tracks)

    def _item(self, item: DatasetItem, frame: FrameSpec) -> None:
        found = self.options.rewrite(item) if self.options.rewrite else list(item.annotations)
        annotations = [
            a for a in found if self.options.drop is None or not self.options.drop(item, a)
        ]
        # one-member groups are no groups (as CVAT), and group numbers restart per frame
        sizes: dict[int, int] = defaultdict(int)
        for ann in annotations:
            if ann.group and ann.type != AnnotationType.label:
                sizes[ann.group] += 1
        kept = sorted(g for g, n in sizes.items() if n > 1)
        groups = {g: i + 1 for i, g in enumerate(kept)}
        for index, ann in enumerate(annotations):
            try:
                self._annotation(ann, frame, groups.get(ann.group, 0))
            except _Skip as skip:
                where = f"{self.file}: item '{item.id}', annotation #{index} ({ann.type.name})"
                self.context.problem(str(skip), where)

    def _annotation(self, ann: Annotation, frame: FrameSpec, group: int) -> None:
        if ann.type not in _SHAPE_OF and ann.type != AnnotationType.label:
            return  # captions and the like: nothing in CVAT holds them
        label = self._label(getattr(ann, "label", None))
        if label is None:
            return
        attrs = dict(ann.attributes)
        attributes = self._attributes(label, attrs)
        if ann.type == AnnotationType.label:
            self._check(label, "tag", attributes)
            self.tags.append(
                LabeledImage(
                    frame=frame.number,
                    label_id=label.id,
                    group=group,
                    source="file",
                    attributes=attributes,
                )
            )
            return
        kind, points, rotation, elements = self._geometry(ann, label, frame)
        if kind is None:
            return
        # a mask the import turns into a polygon is checked as one
        polygon = kind == "mask" and self.context.masks_to_polygons
        self._check(label, "polygon" if polygon else kind, attributes)
        rotation = float(attrs.get("rotation", rotation) or 0.0)
        shape = LabeledShape(
            type=kind,  # type: ignore[arg-type]
            frame=frame.number,
            label_id=label.id,
            group=group,
            source="file",
            occluded=_to_bool(attrs.get("occluded", False)),
            outside=_to_bool(attrs.get("outside", False)),
            z_order=int(ann.z_order) if hasattr(ann, "z_order") else 0,
            rotation=rotation % 360,
            points=points,
            attributes=attributes,
            elements=elements,
        )
        track_id = attrs.get("track_id")
        if self.options.all_keyframes and track_id is not None and int(track_id) >= 0:
            self.track_parts[track_id].append((frame.number, shape, True))
        elif self.options.tracks and track_id is not None and "keyframe" in attrs:
            self.track_parts[track_id].append((frame.number, shape, _to_bool(attrs["keyframe"])))
        else:
            self.shapes.append(shape)

    def _geometry(
        self, ann: Annotation, label: LabelSpec, frame: FrameSpec
    ) -> tuple[str | None, list[float], float, list[SkeletonElementShape]]:
        if isinstance(ann, Bbox):
            x, y, w, h = ann.get_bbox()
            points = [x, y, x + w, y + h]
            self._check_points(points, frame)
            return "rectangle", [float(v) for v in points], 0.0, []
        if isinstance(ann, RotatedBbox):
            cx, cy, w, h = ann.cx, ann.cy, ann.w, ann.h
            points = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
            self._check_points([cx, cy], frame)
            return "rectangle", [float(v) for v in points], float(ann.r), []
        if isinstance(ann, Ellipse):
            x1, y1, x2, y2 = ann.points
            self._check_points([(x1 + x2) / 2, (y1 + y2) / 2], frame)
            return "ellipse", [(x1 + x2) / 2, (y1 + y2) / 2, x2, y1], 0.0, []
        if isinstance(ann, Mask):
            image = ann.image
            if image.shape[:2] != (frame.height, frame.width):
                raise _Skip(
                    f"mask is {image.shape[1]}x{image.shape[0]}, the frame is "
                    f"{frame.width}x{frame.height}"
                )
            rle = mask_to_cvat_rle(np.asarray(image).astype(bool))
            return ("mask", rle, 0.0, []) if rle else (None, [], 0.0, [])
        if isinstance(ann, Points) and (label.type == "skeleton" or label.sublabels):
            return "skeleton", [], 0.0, self._skeleton(ann, label, frame)
        if isinstance(ann, Polygon | PolyLine | Points):
            points = [float(v) for v in ann.points]
            minimum = {Polygon: 6, PolyLine: 4, Points: 2}[type(ann)]
            if len(points) < minimum:
                raise _Skip(f"too few points ({len(points) // 2})")
            self._check_points(points, frame)
            return _SHAPE_OF[ann.type], points, 0.0, []
        return None, [], 0.0, []

    def _skeleton(
        self, ann: Points, label: LabelSpec, frame: FrameSpec
    ) -> list[SkeletonElementShape]:
        names: list[str] = []
        if self.points_cat is not None and ann.label in self.points_cat.items:
            names = list(self.points_cat.items[ann.label].labels)
        by_name = {sub.name: sub for sub in label.sublabels}
        order = [by_name.get(n) for n in names] if names else list(label.sublabels)
        count = len(ann.points) // 2
        if count > len(order):
            raise _Skip(f"{count} points for skeleton '{label.name}' of {len(label.sublabels)}")
        visibility = list(ann.visibility or [Points.Visibility.visible] * count)
        elements = []
        for i, sub in enumerate(order[:count]):
            if sub is None:
                raise _Skip(f"skeleton point '{names[i]}' is not a point of '{label.name}'")
            xy = [float(ann.points[2 * i]), float(ann.points[2 * i + 1])]
            outside = visibility[i] == Points.Visibility.absent
            if not outside:
                self._check_points(xy, frame)
            elements.append(
                SkeletonElementShape(
                    type="points",
                    frame=frame.number,
                    label_id=sub.id,
                    source="file",
                    points=xy,
                    outside=outside,
                    occluded=visibility[i] == Points.Visibility.hidden,
                )
            )
        return elements

    def _tracks(self) -> list[LabeledTrack]:
        numbers = sorted(self.frames)
        stop = numbers[-1] if numbers else 0
        tracks = []
        for parts in self.track_parts.values():
            parts.sort(key=lambda p: p[0])
            first = parts[0][1]
            keyframes = _keyframes([(f, _tracked(s), k) for f, s, k in parts], stop)
            elements = []
            for i, element in enumerate(first.elements):
                element_parts = [
                    (f, _tracked(s.elements[i]), k) for f, s, k in parts if i < len(s.elements)
                ]
                elements.append(
                    SkeletonElementTrack(
                        frame=element_parts[0][0],
                        label_id=element.label_id,
                        source="file",
                        shapes=_keyframes(element_parts, stop),
                    )
                )
            label = next((lab for lab in self.target.labels if lab.id == first.label_id), None)
            immutable = {s.id for s in label.attributes if not s.mutable} if label else set()
            tracks.append(
                LabeledTrack(
                    frame=keyframes[0].frame,
                    label_id=first.label_id,
                    group=first.group,
                    source="file",
                    attributes=[a for a in first.attributes if a.spec_id in immutable],
                    shapes=[_without(s, immutable) for s in keyframes],
                    elements=elements,
                )
            )
        return tracks


def _without(shape: TrackedShape, immutable: set[int]) -> TrackedShape:
    from msgspec import structs

    return structs.replace(
        shape, attributes=[a for a in shape.attributes if a.spec_id not in immutable]
    )


def _tracked(shape: LabeledShape | SkeletonElementShape) -> TrackedShape:
    return TrackedShape(
        type=shape.type,
        frame=shape.frame,
        occluded=shape.occluded,
        outside=shape.outside,
        z_order=shape.z_order,
        rotation=shape.rotation,
        points=list(shape.points),
        attributes=list(shape.attributes),
    )


def _keyframes(
    parts: list[tuple[int, TrackedShape, bool]], stop: int, gaps: bool = True
) -> list[TrackedShape]:
    """Keyframes of a track seen frame by frame (CVAT's _validate_track_shapes): marked
    keyframes, changes of visibility, and an outside keyframe after each gap and at the
    end. Unlike CVAT, the last visible shape before the track hides (or the export ends)
    is a keyframe too: the shapes before it were interpolated towards a keyframe the file
    does not show, and only this one keeps them where they were."""
    from msgspec import structs

    result: list[TrackedShape] = []

    def keep(shape: TrackedShape) -> None:
        if not result or result[-1].frame != shape.frame:
            result.append(shape)

    prev: TrackedShape | None = None
    for frame, shape, keyframe in parts:
        prev_visible = prev is not None and not prev.outside
        visible = not shape.outside
        gap = prev is not None and prev_visible and prev.frame + 1 < frame
        if prev is not None and prev_visible and (gap or not visible):
            keep(prev)
        if gap and prev is not None:
            result.append(structs.replace(prev, outside=True, frame=prev.frame + 1))
        if prev is None or prev_visible != visible or (visible and (gap or keyframe)):
            keep(shape)
        prev = shape
    if prev is not None and not prev.outside:
        keep(prev)
        if gaps and prev.frame + 1 <= stop:
            result.append(structs.replace(prev, outside=True, frame=prev.frame + 1))
    return result


_SHAPE_OF: dict[AnnotationType, str] = {
    AnnotationType.bbox: "rectangle",
    AnnotationType.rotated_bbox: "rectangle",
    AnnotationType.polygon: "polygon",
    AnnotationType.polyline: "polyline",
    AnnotationType.points: "points",
    AnnotationType.mask: "mask",
    AnnotationType.ellipse: "ellipse",
}


def from_dataset(
    dataset: Dataset, target: ExportSource, options: ImportOptions | None = None
) -> CvatAnnotations:
    """The dataset's annotations with the target's label ids and task frame numbers."""
    options = options or ImportOptions()
    if target.importing is None:  # called on its own: a file with any problem is refused
        context = ImportContext()
        data = from_dataset(dataset, replace(target, importing=context), options)
        failure = context.failure()
        if failure is not None:
            raise FormatError(failure)
        return data
    try:
        return _Importer(dataset, target, options).run(dataset)
    except FormatError:
        raise
    except Exception as error:  # lazy datumaro readers fail while iterating
        where = options.file or "the upload"
        raise FormatError(f"{where}: {_describe(error, Path('/'))}") from error


def plain_format(
    name: str,
    version: str,
    exporter: Any,
    importer: Any,
    extractors: Sequence[Any],
    *,
    required: str,
    export_options: ExportOptions | None = None,
    import_options: ImportOptions | None = None,
    exporter_kwargs: dict[str, Any] | None = None,
    rewrite_items: Callable[[DatasetItem], DatasetItem] | None = None,
) -> tuple[
    Callable[[ExportSource, Path, bool], None], Callable[[Path, ExportSource], CvatAnnotations]
]:
    """The export and import functions of a format that datumaro handles as is: our
    source through the bridge into `exporter`; an upload with a file matching `required`
    (a glob) read by `importer` and mapped back."""

    def export(source: ExportSource, out_dir: Path, save_images: bool) -> None:
        dataset = to_dataset(source, save_images, export_options)
        if rewrite_items is not None:
            dataset = Dataset.from_iterable(
                [rewrite_items(item) for item in dataset],
                categories=dataset.categories(),
                media_type=Image,
            )
        export_with(exporter, dataset, out_dir, save_images, **(exporter_kwargs or {}))

    def import_(path: Path, target: ExportSource) -> CvatAnnotations:
        if not path.is_dir() or not any(path.rglob(required)):
            raise FormatError(f"{path.name}: not a {name} {version} dataset (expected {required})")
        dataset = import_with(path, importer, *extractors)
        options = import_options or ImportOptions()
        return from_dataset(dataset, target, replace(options, file=path.name))

    return export, import_
