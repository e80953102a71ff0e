"""CVAT XML import (both layouts in one reader, like CVAT's "CVAT 1.1" importer).

What it keeps is what CVAT's load_anno keeps: shapes and tags of <image>, the keyframes of
<track> (interpolated frames are dropped, they come back by interpolation), a mask track
as a mask shape (its first keyframe; CVAT has no mask tracks), immutable attributes of a
track from its last keyframe, and source "file" on everything. <meta> is not read: labels
and frames come from the target task or job.

It is stricter than CVAT where CVAT would silently drop or crash: an unknown label, an
attribute the label does not have, a bad value, a frame outside the target, a wrong
number of coordinates, a number that does not parse or a point far outside its frame
(more than the frame's size beyond an edge: a file for other frames) is a FormatError
naming the file, the line and the element. The parser is expat, fed in chunks (a 100 MB
file is never held whole), with DTDs, entity declarations and external entities refused
outright (no entity expansion, no file or network access), and bounded size and depth.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from xml.parsers import expat

from backend.domain.errors import ValidationError
from backend.domain.labels import LabelSet, LabelSpec
from backend.domain.objects import (
    AttributeVal,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    ShapeType,
    SkeletonElementShape,
    SkeletonElementTrack,
    TrackedShape,
)
from backend.domain.validation import (
    Mutability,
    check_attributes,
    check_label,
    check_points,
    check_rotation,
)
from backend.formats.cancel import checkpoint
from backend.formats.cvat_xml_export import FrameNumbering
from backend.formats.frame_match import FrameMatcher
from backend.formats.import_context import ImportContext
from backend.formats.model import CvatAnnotations, ExportSource, FormatError, FrameSpec

__all__ = ["MAX_XML_BYTES", "import_cvat_xml", "parse_cvat_xml"]

MAX_XML_BYTES = 2 * 1024**3  # per file; CVAT XML of a million shapes is ~200 MB
MAX_DEPTH = 12  # annotations/track/skeleton/points/attribute is 5; meta/task/labels/... 7
_CHUNK = 1 << 20

_TYPE_OF_TAG: dict[str, ShapeType] = {
    "box": "rectangle",
    "ellipse": "ellipse",
    "polygon": "polygon",
    "polyline": "polyline",
    "points": "points",
    "cuboid": "cuboid",
    "mask": "mask",
    "skeleton": "skeleton",
}
_CUBOID_NAMES = (
    "xtl1", "ytl1", "xbl1", "ybl1", "xtr1", "ytr1", "xbr1", "ybr1",
    "xtl2", "ytl2", "xbl2", "ybl2", "xtr2", "ytr2", "xbr2", "ybr2",
)  # fmt: skip


class _Problem(FormatError):
    """An image, track, shape or tag the import cannot take: reported, then left out
    (`where` is file and line, `what` the problem, str() the whole message)."""

    def __init__(self, what: str, where: str, text: str) -> None:
        super().__init__(text)
        self.what = what
        self.where = where


@dataclass
class _Node:
    """An element being read: its XML attributes, where it starts, its <attribute>s and
    (for a skeleton) its points."""

    tag: str
    attrs: dict[str, str]
    line: int
    attributes: list[tuple[str, str, int]] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)


@dataclass
class _Track:
    node: _Node
    label: LabelSpec
    keyframes: list[TrackedShape] = field(default_factory=list)
    immutable: list[AttributeVal] = field(default_factory=list)
    broken: bool = False  # a problem was reported inside: the track is left out
    # skeleton points by label name: (label, keyframes, immutable attributes)
    elements: dict[str, tuple[LabelSpec, list[TrackedShape], list[AttributeVal]]] = field(
        default_factory=dict
    )


class _Reader:
    """One file. expat calls start/end/text; the state is a stack of element kinds."""

    def __init__(
        self, display: str, target: ExportSource, labels: LabelSet, context: ImportContext
    ) -> None:
        self.display = display
        self.target = target
        self.labels = labels
        self.context = context
        self.top = context.labels_by_name(target.labels)
        self.known = ", ".join(repr(label.name) for label in target.labels) or "none"
        self.numbering = FrameNumbering.of(target.meta)
        self.frames = {frame.number for frame in target.frames}
        self.sizes = {frame.number: (frame.width, frame.height) for frame in target.frames}
        self.match = FrameMatcher(target.frames)
        self.subset_frames: dict[str, list[int]] = {}  # a project import's, by folder
        self.elements = 0
        self.what = f"job {target.job_id}" if target.job_id is not None else f"the {target.whole}"
        self.shapes: list[LabeledShape] = []
        # what passed a check once passes again: (label, shape type), (label, attribute)
        self.checked: set[tuple[int, str | AttributeVal]] = set()
        self.tracks: list[LabeledTrack] = []
        self.tags: list[LabeledImage] = []
        self.stack: list[str] = []  # "root", "annotations", "skip", "image", "track", ...
        self.nodes: list[_Node] = []
        self.frame = 0  # the open <image>'s task frame
        self.track: _Track | None = None
        self.text: list[str] | None = None
        self.parser = expat.ParserCreate()
        self.line = 1

    # ---------------------------------------------------------------- errors

    def fail(self, problem: str, node: _Node | None = None, line: int | None = None) -> NoReturn:
        where = f"line {line if line is not None else (node.line if node else self.line)}"
        element = f" <{node.tag}>" if node is not None else ""
        place = f"{self.display}: {where}:{element}"
        raise _Problem(problem, place, f"{place} {problem}")

    def report(self, problem: _Problem) -> None:
        self.context.problem(problem.what, problem.where, str(problem))

    @staticmethod
    def _refuse(what: str) -> Callable[..., None]:
        def handler(*_: object) -> None:
            raise FormatError(f"{what} are not allowed in CVAT XML")

        return handler

    @staticmethod
    def _refuse_external(*_: object) -> int:
        raise FormatError("external entities are not allowed in CVAT XML")

    # ---------------------------------------------------------------- reading

    def read(self, path: Path) -> None:
        p = self.parser
        p.buffer_text = True
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartDoctypeDeclHandler = self._refuse("DTDs (<!DOCTYPE>)")
        p.EntityDeclHandler = self._refuse("entity declarations")
        p.UnparsedEntityDeclHandler = self._refuse("entity declarations")
        p.ExternalEntityRefHandler = self._refuse_external
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = self.chars
        total = 0
        try:
            with path.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    total += len(chunk)
                    if total > MAX_XML_BYTES:
                        raise FormatError(
                            f"{self.display}: larger than {MAX_XML_BYTES // 2**20} MiB"
                        )
                    p.Parse(chunk, False)
                p.Parse(b"", True)
        except expat.ExpatError as exc:
            raise FormatError(
                f"{self.display}: line {exc.lineno}, column {exc.offset + 1}: not well-formed "
                f"XML ({expat.ErrorString(exc.code)})"
            ) from None
        except FormatError as exc:
            if str(exc).startswith(self.display):
                raise
            raise FormatError(f"{self.display}: line {p.CurrentLineNumber}: {exc}") from None

    def chars(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.line = self.parser.CurrentLineNumber
        self.elements += 1
        if not self.elements % 256:
            checkpoint()
        if len(self.stack) >= MAX_DEPTH:
            self.fail(f"<{tag}> is nested deeper than {MAX_DEPTH} levels")
        state = self.stack[-1] if self.stack else None
        node = _Node(tag, attrs, self.line)
        if state is None:
            if tag != "annotations":
                self.fail(f"the root element is <{tag}>, not <annotations>")
            self.stack += ["root"]
            return
        if state == "skip":
            kind = "skip"
        elif state == "root":
            kind = {"image": "image", "track": "track"}.get(tag, "skip")  # meta, version
            try:
                if kind == "image":
                    self.frame = self.image_frame(node)
                elif kind == "track":
                    label = self.label(node, attrs, "label")
                    if label is None:
                        kind = "skip"
                    else:
                        self.track = _Track(node, label)
            except _Problem as problem:  # the element and what it holds are left out
                self.report(problem)
                kind = "skip"
        elif state in ("image", "track"):
            if tag == "tag" and state == "image":
                kind = "tag"
            elif tag in _TYPE_OF_TAG:
                kind = "shape"
            else:
                self.fail(f"<{tag}> is not a CVAT shape{' or tag' if state == 'image' else ''}")
        elif state == "shape" and self.nodes[-1].tag == "skeleton" and tag in _TYPE_OF_TAG:
            if tag == "skeleton":
                self.fail("a skeleton inside a skeleton")
            kind = "element"
        elif state in ("shape", "element", "tag"):
            if tag != "attribute":
                self.fail(f"<{tag}> inside <{self.nodes[-1].tag}>: only <attribute> belongs here")
            if "name" not in attrs:
                self.fail("<attribute> has no name")
            kind = "attribute"
            self.text = []
        else:  # attribute
            self.fail(f"<{tag}> inside <attribute>: an attribute holds text only")
        self.stack.append(kind)
        if kind in ("shape", "element", "tag", "attribute"):
            self.nodes.append(node)

    def end(self, tag: str) -> None:
        self.line = self.parser.CurrentLineNumber
        kind = self.stack.pop()
        if kind in ("skip", "root"):
            return
        if kind == "image":
            return
        if kind == "track":
            track, self.track = self.track, None
            assert track is not None
            try:
                if not track.broken:
                    self.finish_track(track)
            except _Problem as problem:
                self.report(problem)
            return
        node = self.nodes.pop()
        if kind == "attribute":
            text = "".join(self.text or ())
            self.text = None
            self.nodes[-1].attributes.append((node.attrs["name"], text, node.line))
            return
        if kind == "element":
            self.nodes[-1].children.append(node)
            return
        try:
            if kind == "tag":
                self.finish_tag(node)
            elif self.stack[-1] == "image":
                self.finish_image_shape(node)
            else:
                self.finish_track_shape(node)
        except _Problem as problem:  # this object is left out (a track: all of it)
            self.report(problem)
            if self.track is not None:
                self.track.broken = True

    # ---------------------------------------------------------------- mapping

    def image_frame(self, node: _Node) -> int:
        """CVAT's match_dm_item: the file name first (frame_match: with or without
        extension, directories and the image's subset), then `id` (not in a project
        import, whose ids count per subset)."""
        name = node.attrs.get("name")
        subset = node.attrs.get("subset")
        number = None if name is None else self.match.by_name(name, subset)
        if number is not None:
            if self.context.subsets is not None:
                self.context.subsets[number] = subset or "default"
            return number
        raw = node.attrs.get("id")
        if raw is None and name is None:
            self.fail("an <image> needs a name or an id", node)
        if raw is not None and self.context.subsets is None:
            try:
                number = int(raw)
            except ValueError:
                self.fail(f"id={raw!r} is not a frame number", node)
            if number in self.frames:
                return number
        shown = f"name={name!r}" if name is not None else ""
        shown += f"{' ' if shown else ''}id={raw!r}" if raw is not None else ""
        self.fail(f"{shown} matches no frame of {self.what}", node)

    def track_frame(self, node: _Node) -> int:
        absolute = self.integer(node, "frame", None)
        subset = self.track.node.attrs.get("subset") if self.track is not None else None
        if self.context.subsets is not None and subset is not None:
            # a project import: frames are the dataset's images, and a project's <track>
            # numbers its frames within its subset: its images/<subset>/frame_NNNNNN (a
            # video task's), else its subset's images in name order (image tasks')
            found = self.match.by_name(f"frame_{absolute:06d}", subset)
            if found is not None:
                return found
            if subset not in self.subset_frames:
                self.subset_frames[subset] = [
                    f.number for f in self.target.frames if folder_subset(self.target, f) == subset
                ]
            in_subset = self.subset_frames[subset]
            if 0 <= absolute < len(in_subset):
                return in_subset[absolute]
            self.fail(f"frame {absolute} is not a frame of subset {subset!r}", node)
        number = self.numbering.relative(absolute)
        if number is None or number not in self.frames:
            self.fail(f"frame {absolute} is not a frame of {self.what}", node)
        return number

    def label(self, node: _Node, attrs: dict[str, str], key: str) -> LabelSpec | None:
        """The target label; None when the label map drops the name's annotations."""
        name = attrs.get(key)
        if name is None:
            self.fail(f"no {key} attribute", node)
        if name not in self.top:
            self.context.unknown_labels.add(name)
            self.fail(f"label {name!r} is not a label of {self.what} (labels: {self.known})", node)
        label = self.top[name]
        if label is None:
            self.context.dropped += 1
        return label

    def sublabel(self, parent: LabelSpec, node: _Node) -> LabelSpec:
        name = node.attrs.get("label")
        if name is None:
            self.fail("no label attribute", node)
        for sub in parent.sublabels:
            if sub.name == name:
                return sub
        known = ", ".join(repr(sub.name) for sub in parent.sublabels) or "none"
        self.fail(f"label {name!r} is not a point of skeleton {parent.name!r} ({known})", node)

    def check_label(self, node: _Node, label: LabelSpec, used_as: str, parent: int | None) -> None:
        if (label.id, used_as) in self.checked:
            return
        try:
            check_label(self.labels, label.id, used_as, "label", parent)
        except ValidationError as exc:
            self.fail(f"label {label.name!r}: {exc.message}", node)
        self.checked.add((label.id, used_as))

    def attributes(
        self, node: _Node, label: LabelSpec, mutability: Mutability = "all"
    ) -> list[AttributeVal]:
        specs = {spec.name: spec for spec in label.attributes}
        values: list[AttributeVal] = []
        for name, text, line in node.attributes:
            spec = specs.get(name)
            if spec is None:
                known = ", ".join(repr(n) for n in specs) or "none"
                self.fail(
                    f"attribute {name!r} is not an attribute of label {label.name!r} "
                    f"(its attributes: {known})",
                    line=line,
                )
            if mutability == "mutable" and not spec.mutable:
                continue
            if mutability == "immutable" and spec.mutable:
                continue
            value = text.lower() if spec.input_type == "checkbox" else text
            if any(v.spec_id == spec.id for v in values):
                self.fail(f"attribute {name!r} is given twice", line=line)
            attr = AttributeVal(spec.id, value)
            if (label.id, attr) not in self.checked:
                try:
                    check_attributes(self.labels, label.id, [attr], "value")
                except ValidationError as exc:
                    self.fail(f"attribute {name!r}: {exc.message}", line=line)
                if len(self.checked) < 100_000:  # text attributes: do not grow without end
                    self.checked.add((label.id, attr))
            values.append(attr)
        return values

    # ---------------------------------------------------------------- numbers

    def number(self, node: _Node, key: str) -> float:
        raw = node.attrs.get(key)
        if raw is None:
            self.fail(f"no {key} attribute", node)
        return self.parse_float(node, key, raw)

    def parse_float(self, node: _Node, key: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            self.fail(f"{key}={raw!r} is not a number", node)
        if not math.isfinite(value):
            self.fail(f"{key}={raw!r} is not a finite number", node)
        return value

    def integer(self, node: _Node, key: str, default: int | None) -> int:
        raw = node.attrs.get(key)
        if raw is None:
            if default is None:
                self.fail(f"no {key} attribute", node)
            return default
        try:
            return int(raw)
        except ValueError:
            self.fail(f"{key}={raw!r} is not an integer", node)

    def flag(self, node: _Node, key: str, required: bool = False) -> bool:
        raw = node.attrs.get(key)
        if raw is None:
            if required:
                self.fail(f"no {key} attribute", node)
            return False
        if raw not in ("0", "1"):
            self.fail(f"{key}={raw!r} is not 0 or 1", node)
        return raw == "1"

    def points(self, node: _Node, shape_type: str) -> list[float]:
        attrs = node.attrs
        if shape_type == "rectangle":
            return [self.number(node, k) for k in ("xtl", "ytl", "xbr", "ybr")]
        if shape_type == "ellipse":
            cx, cy, rx, ry = (self.number(node, k) for k in ("cx", "cy", "rx", "ry"))
            return [cx, cy, round(cx + rx, 2), round(cy - ry, 2)]
        if shape_type == "cuboid":
            return [self.number(node, k) for k in _CUBOID_NAMES]
        if shape_type == "skeleton":
            return []
        if shape_type == "mask":
            return self.mask(node)
        raw = attrs.get("points")
        if raw is None:
            self.fail("no points attribute", node)
        values: list[float] = []
        for pair in raw.split(";"):
            xy = pair.split(",")
            if len(xy) != 2:
                self.fail(f"points: {pair.strip()!r} is not an x,y pair", node)
            values += (self.parse_float(node, "points", v) for v in xy)
        return values

    def mask(self, node: _Node) -> list[float]:
        raw = node.attrs.get("rle")
        if raw is None:
            self.fail("no rle attribute", node)
        try:
            runs = [int(v) for v in raw.split(",")]
        except ValueError:
            self.fail("rle is not a list of integers", node)
        left, top = self.integer(node, "left", None), self.integer(node, "top", None)
        width, height = self.integer(node, "width", None), self.integer(node, "height", None)
        if width < 1 or height < 1:
            self.fail(f"a mask of {width}x{height} pixels", node)
        return [float(v) for v in (*runs, left, top, left + width - 1, top + height - 1)]

    def geometry(self, node: _Node, shape_type: str, frame: int) -> tuple[list[float], float]:
        points = self.points(node, shape_type)
        rotation = self.number(node, "rotation") if "rotation" in node.attrs else 0.0
        try:
            check_points(shape_type, points, "points")
            check_rotation(rotation, "rotation")
        except ValidationError as exc:
            self.fail(f"{exc.field}: {exc.message}", node)
        self.check_range(node, frame, points[-4:] if shape_type == "mask" else points)
        return points, rotation

    def check_range(self, node: _Node, frame: int, points: list[float]) -> None:
        """Shapes may overhang the frame a little (CVAT keeps them); a point more than the
        frame's own size away is a file made for other frames (another task, a scaled
        copy), refused instead of imported where nobody can see it."""
        width, height = self.sizes.get(frame, (0, 0))
        if width <= 0 or height <= 0:
            return
        for i in range(0, len(points) - 1, 2):
            x, y = points[i], points[i + 1]
            if not (-width <= x <= 2 * width and -height <= y <= 2 * height):
                self.fail(
                    f"point ({x:g}, {y:g}) is far outside frame {frame} ({width}x{height})",
                    node,
                )

    def group(self, node: _Node) -> int:
        group = self.integer(node, "group_id", 0)
        if group < 0:
            self.fail(f"group_id={group} is negative", node)
        return group

    # ---------------------------------------------------------------- objects

    def finish_tag(self, node: _Node) -> None:
        label = self.label(node, node.attrs, "label")
        if label is None:
            return
        self.check_label(node, label, "tag", None)
        self.tags.append(
            LabeledImage(
                frame=self.frame,
                label_id=label.id,
                group=self.group(node),
                source="file",
                attributes=self.attributes(node, label),
            )
        )

    def finish_image_shape(self, node: _Node) -> None:
        shape_type = _TYPE_OF_TAG[node.tag]
        label = self.label(node, node.attrs, "label")
        if label is None:
            return
        polygon = shape_type == "mask" and self.context.masks_to_polygons
        self.check_label(node, label, "polygon" if polygon else shape_type, None)
        points, rotation = self.geometry(node, shape_type, self.frame)
        elements: list[SkeletonElementShape] = []
        for child in node.children:
            sub = self.sublabel(label, child)
            child_type = _TYPE_OF_TAG[child.tag]
            self.check_label(child, sub, child_type, label.id)
            child_points, child_rotation = self.geometry(child, child_type, self.frame)
            elements.append(
                SkeletonElementShape(
                    type=child_type,
                    frame=self.frame,
                    label_id=sub.id,
                    points=child_points,
                    rotation=child_rotation,
                    occluded=self.flag(child, "occluded"),
                    outside=self.flag(child, "outside"),
                    group=self.group(child),
                    source="file",
                    attributes=self.attributes(child, sub),
                )
            )
        self.shapes.append(
            LabeledShape(
                type=shape_type,
                frame=self.frame,
                label_id=label.id,
                points=points,
                rotation=rotation,
                occluded=self.flag(node, "occluded"),
                z_order=self.integer(node, "z_order", 0),
                group=self.group(node),
                source="file",
                attributes=self.attributes(node, label),
                elements=elements,
            )
        )

    def keyframe(
        self, node: _Node, label: LabelSpec, frame: int, shape_type: ShapeType
    ) -> TrackedShape:
        points, rotation = self.geometry(node, shape_type, frame)
        return TrackedShape(
            type=shape_type,
            frame=frame,
            points=points,
            rotation=rotation,
            occluded=self.flag(node, "occluded"),
            outside=self.flag(node, "outside"),
            z_order=self.integer(node, "z_order", 0),
            attributes=self.attributes(node, label, "mutable"),
        )

    def finish_track_shape(self, node: _Node) -> None:
        track = self.track
        assert track is not None
        shape_type = _TYPE_OF_TAG[node.tag]
        frame: int | None = None
        if shape_type == "skeleton":
            # points carry their own keyframe flags; the skeleton's frame applies to them
            for child in node.children:
                if not self.flag(child, "keyframe", required=True):
                    continue
                frame = self.track_frame(node) if frame is None else frame
                sub = self.sublabel(track.label, child)
                child_type = _TYPE_OF_TAG[child.tag]
                self.check_label(child, sub, child_type, track.label.id)
                _, shapes, immutable = track.elements.setdefault(sub.name, (sub, [], []))
                shapes.append(self.keyframe(child, sub, frame, child_type))
                immutable[:] = self.attributes(child, sub, "immutable")
        if not self.flag(node, "keyframe", required=True):
            return
        frame = self.track_frame(node) if frame is None else frame
        polygon = shape_type == "mask" and self.context.masks_to_polygons
        self.check_label(node, track.label, "polygon" if polygon else shape_type, None)
        if track.keyframes and track.keyframes[0].type != shape_type:
            self.fail(f"a {shape_type} in a track of {track.keyframes[0].type}s", node)
        track.keyframes.append(self.keyframe(node, track.label, frame, shape_type))
        track.immutable = self.attributes(node, track.label, "immutable")

    def finish_track(self, track: _Track) -> None:
        node = track.node
        shapes = sorted(track.keyframes, key=lambda s: s.frame)
        if not shapes:
            self.fail("a track without keyframes", node)
        for a, b in itertools.pairwise(shapes):
            if a.frame == b.frame:
                self.fail(f"two keyframes on frame {self.numbering.absolute(a.frame)}", node)
        group = self.group(node)
        if shapes[0].type == "mask":  # CVAT: mask tracks become shapes of their first frame
            first = shapes[0]
            self.shapes.append(
                LabeledShape(
                    type="mask",
                    frame=first.frame,
                    label_id=track.label.id,
                    points=first.points,
                    occluded=first.occluded,
                    z_order=first.z_order,
                    group=group,
                    source="file",
                    attributes=first.attributes + track.immutable,
                )
            )
            return
        elements = []
        for sub, points, immutable in track.elements.values():
            points.sort(key=lambda s: s.frame)
            elements.append(
                SkeletonElementTrack(
                    frame=points[0].frame,
                    label_id=sub.id,
                    source="file",
                    shapes=points,
                    attributes=immutable,
                )
            )
        self.tracks.append(
            LabeledTrack(
                frame=shapes[0].frame,
                label_id=track.label.id,
                group=group,
                source="file",
                shapes=shapes,
                attributes=track.immutable,
                elements=elements,
            )
        )


def parse_cvat_xml(path: Path, target: ExportSource, display: str | None = None) -> CvatAnnotations:
    """One annotations.xml (either layout) onto the target's labels and frames; what it
    cannot place goes to the target's import context (a FormatError listing it all
    without one)."""
    return _import(target, lambda context: _parse(path, target, display, context))


def _parse(
    path: Path, target: ExportSource, display: str | None, context: ImportContext
) -> CvatAnnotations:
    try:
        labels = LabelSet(target.labels)
    except ValidationError as exc:
        raise FormatError(f"the target's labels: {exc}") from None
    reader = _Reader(display or path.name, target, labels, context)
    reader.read(path)
    return CvatAnnotations(version=0, tags=reader.tags, shapes=reader.shapes, tracks=reader.tracks)


def _import(
    target: ExportSource, read: Callable[[ImportContext], CvatAnnotations]
) -> CvatAnnotations:
    if target.importing is not None:
        return read(target.importing)
    context = ImportContext()  # called on its own: a file with any problem is refused
    data = read(context)
    failure = context.failure()
    if failure is not None:
        raise FormatError(failure)
    return data


def folder_subset(target: ExportSource, frame: FrameSpec) -> str | None:
    """The subset of a dataset image in CVAT XML's layout: <subset> for images/<subset>/."""
    if target.image_path is None:
        return None
    folder = target.image_path(frame.number).parent
    return folder.name if folder.parent.name == "images" else None


def _xml_files(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if name.lower().endswith(".xml") and not path.is_symlink():
                found.append(path)
    return found


def import_cvat_xml(path: Path, target: ExportSource) -> CvatAnnotations:
    """The importer: an .xml file, or an unpacked zip whose every .xml is read (CVAT reads
    them all; images/ beside them is ignored, the task already has its frames)."""
    if not path.is_dir():
        return parse_cvat_xml(path, target)
    files = _xml_files(path)
    if not files:
        raise FormatError("the archive holds no .xml annotation file")
    return _import(target, lambda context: _parse_all(path, files, target, context))


def _parse_all(
    root: Path, files: list[Path], target: ExportSource, context: ImportContext
) -> CvatAnnotations:
    parts = [_parse(f, target, f.relative_to(root).as_posix(), context) for f in files]
    if context.subsets is not None and not context.subsets and target.image_path is not None:
        # a project import of the video layout (no <image> names the dataset's items):
        # every image is in the subset of its folder, images/<subset>/, as CVAT writes it
        for frame in target.frames:
            context.subsets[frame.number] = folder_subset(target, frame) or "default"
    return CvatAnnotations(
        version=0,
        tags=[t for p in parts for t in p.tags],
        shapes=[s for p in parts for s in p.shapes],
        tracks=[t for p in parts for t in p.tracks],
    )
