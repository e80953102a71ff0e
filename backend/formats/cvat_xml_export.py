"""CVAT for images 1.1 and CVAT for video 1.1: annotations.xml, written as a stream.

Element and attribute order, number formatting ("{:.2f}" coordinates, rotation only when
non-zero, mask RLE as "a, b, c" with left/top/width/height) and indentation follow CVAT's
dumper (cvat/apps/dataset_manager/formats/cvat.py) so our files diff cleanly against
CVAT's. Lines are formatted directly into a buffered text file: a DOM (or one
XMLGenerator call per attribute) for 100,000 shapes costs memory and time for nothing.

The two layouts, as CVAT writes them:
- images: one <image> per frame (empty ones too); tracks are cut into per-frame shapes
  (interpolated, outside frames left out) and mixed with the shapes of the frame, ordered
  by z_order; tags follow the shapes.
- video: one <track> per track with every frame from its first keyframe (keyframe="0" on
  interpolated ones); each shape becomes a track of its own with an outside keyframe on
  the next frame (unless that would reach the last frame); tags are not written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, TextIO, TypeAlias
from xml.sax.saxutils import escape, quoteattr

from backend.domain.interpolation import InterpolatedShape, interpolate_keyframes
from backend.domain.labels import LabelSpec
from backend.domain.objects import (
    AttributeVal,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    SkeletonElementShape,
    SkeletonElementTrack,
    TrackedShape,
)
from backend.formats.cancel import checkpoint
from backend.formats.model import ExportSource, FormatError, FrameSpec

__all__ = [
    "FrameNumbering",
    "Names",
    "XmlWriter",
    "close_document",
    "dumped",
    "flat_labels",
    "image_name",
    "labels_meta",
    "open_document",
    "person_meta",
    "quote",
    "task_meta",
    "write_images_body",
    "write_images_xml",
    "write_video_body",
    "write_video_xml",
]

# A meta value: text, or a nested list of (tag, value) pairs (CVAT's OrderedDict meta).
MetaValue: TypeAlias = "str | list[tuple[str, MetaValue]]"

_TAG_OF_TYPE = {
    "rectangle": "box",
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


@dataclass(frozen=True)
class FrameNumbering:
    """Task frame numbers <-> the numbers CVAT writes in track `frame` attributes (the
    video's own frame numbers: data start frame + number * step)."""

    start: int = 0
    step: int = 1
    offset: int = 0  # a project export numbers each subset's tasks one after the other

    @classmethod
    def of(cls, meta: dict[str, Any]) -> FrameNumbering:
        step = meta.get("frame_step")
        if step is None:
            found = re.search(r"step\s*=\s*(\d+)", str(meta.get("frame_filter") or ""))
            step = int(found.group(1)) if found else 1
        return cls(int(meta.get("start_frame") or 0), max(int(step), 1))

    def absolute(self, number: int) -> int:
        return self.start + number * self.step + self.offset

    def relative(self, absolute: int) -> int | None:
        number, rest = divmod(absolute - self.start - self.offset, self.step)
        return None if rest else number


def image_name(name: str, original: Path) -> PurePosixPath:
    """Where a frame's file goes under images/: its task path; a video frame name (no
    extension) takes the extension of the file that holds it, as CVAT adds one."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise FormatError(f"frame name {name!r} cannot be a path inside the archive")
    if not path.suffix:
        path = path.with_name(path.name + original.suffix)
    return path


def flat_labels(labels: Iterable[LabelSpec]) -> list[LabelSpec]:
    """Every label with its skeleton points, by id (CVAT lists its labels by primary key)."""
    out: list[LabelSpec] = []

    def add(label: LabelSpec) -> None:
        out.append(label)
        for sub in label.sublabels:
            add(sub)

    for label in labels:
        add(label)
    return sorted(out, key=lambda label: label.id)


class XmlWriter:
    """CVAT's XmlAnnotationWriter layout: two-space indent, every element on its own line,
    closing tags on their own line (so an empty shape is '<box ...>' newline '</box>')."""

    def __init__(self, out: TextIO) -> None:
        self.write = out.write
        self.level = 0

    def indent(self) -> str:
        return "\n" + "  " * self.level

    def open(self, tag: str, attrs: str = "") -> None:
        self.write(f"{self.indent()}<{tag}{attrs}>")
        self.level += 1

    def close(self, tag: str) -> None:
        self.level -= 1
        self.write(f"{self.indent()}</{tag}>")

    def leaf(self, tag: str, text: str, attrs: str = "") -> None:
        self.write(f"{self.indent()}<{tag}{attrs}>{escape(text.translate(_NOT_XML))}</{tag}>")

    def meta(self, items: Sequence[tuple[str, MetaValue]]) -> None:
        for tag, value in items:
            if isinstance(value, str):
                self.leaf(tag, value)
            else:
                self.open(tag)
                self.meta(value)
                self.close(tag)


# Control characters XML 1.0 cannot carry at all (not even as &#1;): dropped, so a text
# attribute holding one still gives a file every reader (ours included) accepts.
_NOT_XML = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)])


def quote(value: str) -> str:
    """An XML attribute value with its quotes (saxutils.quoteattr, as CVAT's writer)."""
    return quoteattr(value.translate(_NOT_XML))


class Names:
    """Label and attribute names, quoted once (an export repeats them 100,000 times)."""

    def __init__(self, labels: Sequence[LabelSpec]) -> None:
        self.label: dict[int, str] = {}
        self.attribute: dict[int, str] = {}
        for label in labels:
            self.label[label.id] = quote(label.name)
            for spec in label.attributes:
                self.attribute[spec.id] = quote(spec.name)

    def label_of(self, label_id: int) -> str:
        return self.label.get(label_id) or quote(f"label {label_id}")


def _f(value: float) -> str:
    return f"{value:.2f}"


def _geometry(shape_type: str, points: Sequence[float], rotation: float) -> str:
    """The coordinate attributes of one shape, in CVAT's order and format."""
    if shape_type == "rectangle":
        text = (
            f' xtl="{points[0]:.2f}" ytl="{points[1]:.2f}"'
            f' xbr="{points[2]:.2f}" ybr="{points[3]:.2f}"'
        )
    elif shape_type == "ellipse":
        text = (
            f' cx="{points[0]:.2f}" cy="{points[1]:.2f}"'
            f' rx="{points[2] - points[0]:.2f}" ry="{points[1] - points[3]:.2f}"'
        )
    elif shape_type == "cuboid":
        return "".join(
            f' {name}="{value:.2f}"' for name, value in zip(_CUBOID_NAMES, points, strict=True)
        )
    elif shape_type == "mask":
        rle = ", ".join(str(int(v)) for v in points[:-4])
        left, top, right, bottom = (int(v) for v in points[-4:])
        return (
            f' rle="{rle}" left="{left}" top="{top}"'
            f' width="{right - left + 1}" height="{bottom - top + 1}"'
        )
    elif shape_type == "skeleton":
        return ""
    else:
        pairs = ";".join(
            f"{points[i]:.2f},{points[i + 1]:.2f}" for i in range(0, len(points) - 1, 2)
        )
        return f' points="{pairs}"'
    if rotation:
        text += f' rotation="{rotation:.2f}"'
    return text


def _attributes(w: XmlWriter, names: Names, *lists: Iterable[AttributeVal]) -> None:
    for values in lists:
        for attr in values:
            name = names.attribute.get(attr.spec_id)
            if name is not None:  # a spec deleted since: CVAT would have dropped it too
                w.leaf("attribute", attr.value, f" name={name}")


def person_meta(value: Any) -> MetaValue:
    if not value:
        return ""
    return [("username", str(value.get("username", ""))), ("email", str(value.get("email", "")))]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def labels_meta(labels: Sequence[LabelSpec]) -> MetaValue:
    by_id = {label.id: label for label in labels}
    items: list[tuple[str, MetaValue]] = []
    for label in labels:
        entry: list[tuple[str, MetaValue]] = [
            ("name", label.name),
            ("color", label.color),
            ("type", label.type),
            (
                "attributes",
                [
                    (
                        "attribute",
                        [
                            ("name", spec.name),
                            ("mutable", str(spec.mutable)),
                            ("input_type", spec.input_type),
                            ("default_value", spec.default_value),
                            ("values", "\n".join(spec.values)),
                        ],
                    )
                    for spec in label.attributes
                ],
            ),
        ]
        parent = by_id.get(label.parent_id) if label.parent_id is not None else None
        if parent is not None:
            entry.append(("parent", parent.name))
        if label.type == "skeleton":
            svg = label.svg
            for sub in label.sublabels:
                svg = svg.replace(f'data-label-id="{sub.id}"', f'data-label-name="{sub.name}"')
            entry.append(("svg", svg))
        items.append(("label", entry))
    return items


def _original_size(source: ExportSource) -> MetaValue:
    frames = source.frames
    size = source.meta.get("original_size") or (
        (frames[0].width, frames[0].height) if frames else (0, 0)
    )
    width, height = (size["width"], size["height"]) if isinstance(size, dict) else size
    return [("width", str(width)), ("height", str(height))]


def _common_meta(source: ExportSource) -> list[tuple[str, MetaValue]]:
    meta = source.meta
    return [
        ("size", str(meta.get("size", len(source.frames)))),
        ("mode", source.mode),
        ("overlap", _text(meta.get("overlap", 0))),
        ("bugtracker", _text(meta.get("bugtracker"))),
        ("flipped", "False"),  # the seed's 1.1 meta has it; CVAT's readers ignore it
        ("created", _text(meta.get("created"))),
        ("updated", _text(meta.get("updated"))),
        ("subset", _text(meta.get("subset") or "default")),
    ]


def _segments(meta: dict[str, Any]) -> MetaValue:
    return [
        (
            "segment",
            [
                ("id", _text(seg.get("id"))),
                ("start", _text(seg.get("start"))),
                ("stop", _text(seg.get("stop"))),
                ("url", _text(seg.get("url") or f"/api/jobs/{seg.get('id')}")),
            ],
        )
        for seg in meta.get("segments") or []
    ]


def task_meta(
    source: ExportSource, labels: Sequence[LabelSpec] | None
) -> list[tuple[str, MetaValue]]:
    """CVAT's TaskData.meta_for_task: what <task> holds (no labels in a project's list of
    tasks: the project lists them once). `source.meta` supplies what the task knows
    (dates, owner, segments...); frame numbers and sizes default from the frames."""
    meta = source.meta
    numbering = FrameNumbering.of(meta)
    last = max((f.number for f in source.frames), default=-1)
    task: list[tuple[str, MetaValue]] = [
        ("id", str(source.task_id)),
        ("name", source.task_name),
        *_common_meta(source),
        ("start_frame", str(numbering.start)),
        ("stop_frame", str(meta.get("stop_frame", numbering.absolute(last)))),
        ("frame_filter", _text(meta.get("frame_filter"))),
        ("segments", _segments(meta)),
        ("owner", person_meta(meta.get("owner"))),
        ("assignee", person_meta(meta.get("assignee"))),
    ]
    if labels is not None:
        task.append(("labels", labels_meta(labels)))
    if meta.get("source"):  # a video task
        task += [("original_size", _original_size(source)), ("source", str(meta["source"]))]
    return task


def dumped(meta: dict[str, Any]) -> str:
    return str(meta.get("dumped") or datetime.now(UTC))


def _meta(source: ExportSource, labels: Sequence[LabelSpec]) -> list[tuple[str, MetaValue]]:
    """CVAT's TaskData/JobData meta."""
    meta = source.meta
    if source.job_id is None:
        return [("task", task_meta(source, labels)), ("dumped", dumped(meta))]
    numbering = FrameNumbering.of(meta)
    first = min((f.number for f in source.frames), default=0)
    last = max((f.number for f in source.frames), default=-1)
    job: list[tuple[str, MetaValue]] = [
        ("id", str(source.job_id)),
        *_common_meta(source),
        ("start_frame", str(numbering.absolute(first))),
        ("stop_frame", str(numbering.absolute(last))),
        ("frame_filter", _text(meta.get("frame_filter"))),
        ("segments", _segments(meta)),
        ("owner", person_meta(meta.get("owner"))),
        ("assignee", person_meta(meta.get("assignee"))),
        ("labels", labels_meta(labels)),
    ]
    items: list[tuple[str, MetaValue]] = [("job", job), ("dumped", dumped(meta))]
    if meta.get("source"):  # CVAT puts a job's original_size beside <job>, not inside it
        items.append(("original_size", _original_size(source)))
    return items


def open_document(w: XmlWriter, meta: Sequence[tuple[str, MetaValue]]) -> None:
    w.write('<?xml version="1.0" encoding="utf-8"?>\n<annotations>')
    w.level = 1
    w.leaf("version", "1.1")
    w.open("meta")
    w.meta(meta)
    w.close("meta")


def close_document(w: XmlWriter) -> None:
    w.close("annotations")
    w.write("\n")


@dataclass(frozen=True)
class _Span:
    """The frames exported. `included` is None when they are a plain range (the usual
    case), so interpolation does not test 10,000-frame sets for every track."""

    first: int
    last: int
    included: frozenset[int] | None

    @classmethod
    def of(cls, source: ExportSource) -> _Span:
        numbers = frozenset(frame.number for frame in source.frames)
        if not numbers:
            return cls(0, -1, numbers)
        first, last = min(numbers), max(numbers)
        contiguous = len(numbers) == last - first + 1
        return cls(first, last, None if contiguous else numbers)

    def has(self, frame: int) -> bool:
        if self.included is None:
            return self.first <= frame <= self.last
        return frame in self.included

    def interpolate(
        self, keyframes: Sequence[TrackedShape], track_frame: int
    ) -> list[InterpolatedShape]:
        return interpolate_keyframes(
            keyframes, track_frame, self.first, self.last, included_frames=self.included
        )


# ---------------------------------------------------------------------------- images


@dataclass(frozen=True, slots=True)
class _FrameShape:
    """A track's shape on one frame, as the images layout writes it."""

    track: LabeledTrack
    shape: InterpolatedShape
    elements: list[tuple[SkeletonElementTrack, InterpolatedShape]]


def _track_frames(track: LabeledTrack, span: _Span) -> Iterator[_FrameShape]:
    """The visible per-frame shapes of a track (CVAT's AnnotationManager.to_shapes)."""
    shapes = [s for s in span.interpolate(track.shapes, track.frame) if not s.outside]
    if not track.elements:
        for shape in shapes:
            yield _FrameShape(track, shape, [])
        return
    on = frozenset(s.frame for s in shapes)
    by_frame: dict[int, list[tuple[SkeletonElementTrack, InterpolatedShape]]] = {f: [] for f in on}
    for element in track.elements:
        for point in interpolate_keyframes(
            element.shapes,
            element.frame,
            span.first,
            span.last,
            included_frames=on,
            include_outside=True,
        ):
            by_frame[point.frame].append((element, point))
    for shape in shapes:
        points = by_frame[shape.frame]
        if points and all(p.outside for _, p in points):
            continue
        yield _FrameShape(track, shape, points)


def _write_labeled(
    w: XmlWriter,
    names: Names,
    shape: LabeledShape | SkeletonElementShape,
    element: bool,
) -> None:
    attrs = f" label={names.label_of(shape.label_id)} source={quote(shape.source)}"
    if element:
        attrs += f' outside="{int(shape.outside)}"'
    if shape.type != "skeleton":
        attrs += f' occluded="{int(shape.occluded)}"'
    attrs += _geometry(shape.type, shape.points, shape.rotation)
    if not element:
        attrs += f' z_order="{shape.z_order}"'
    if shape.group:
        attrs += f' group_id="{shape.group}"'
    tag = _TAG_OF_TYPE[shape.type]
    w.open(tag, attrs)
    if isinstance(shape, LabeledShape):
        for sub in shape.elements:
            _write_labeled(w, names, sub, True)
    _attributes(w, names, shape.attributes)
    w.close(tag)


def _write_frame_shape(w: XmlWriter, names: Names, item: _FrameShape) -> None:
    track, shape = item.track, item.shape
    attrs = f" label={names.label_of(track.label_id)} source={quote(track.source)}"
    if shape.type != "skeleton":
        attrs += f' occluded="{int(shape.occluded)}"'
    attrs += _geometry(shape.type, shape.points, shape.rotation)
    attrs += f' z_order="{shape.z_order}"'
    if track.group:
        attrs += f' group_id="{track.group}"'
    tag = _TAG_OF_TYPE[shape.type]
    w.open(tag, attrs)
    for element, point in item.elements:
        e_attrs = (
            f" label={names.label_of(element.label_id)} source={quote(element.source)}"
            f' outside="{int(point.outside)}" occluded="{int(point.occluded)}"'
            + _geometry(point.type, point.points, point.rotation)
        )
        if element.group:
            e_attrs += f' group_id="{element.group}"'
        e_tag = _TAG_OF_TYPE[point.type]
        w.open(e_tag, e_attrs)
        _attributes(w, names, point.attributes, element.attributes)
        w.close(e_tag)
    _attributes(w, names, shape.attributes, track.attributes)
    w.close(tag)


def write_images_body(
    w: XmlWriter,
    names: Names,
    source: ExportSource,
    numbering: FrameNumbering,
    image_extra: str = "",
    name_of: Callable[[FrameSpec], str] | None = None,
) -> None:
    """The <image> elements of one task or job. `image_extra` goes between name and
    width (a project's subset and task_id); `name_of` renames frames (a project's
    de-duplicated names)."""
    span = _Span.of(source)
    ann = source.annotations
    # CVAT sorts all shapes of the export by z_order (a stable sort: shapes before
    # tracks, each in their order) and then groups them by frame.
    per_frame: dict[int, list[tuple[int, int, LabeledShape | _FrameShape]]] = {}
    seq = 0
    for shape in ann.shapes:
        if span.has(shape.frame):
            per_frame.setdefault(shape.frame, []).append((shape.z_order, seq, shape))
            seq += 1
    for track in ann.tracks:
        for item in _track_frames(track, span):
            per_frame.setdefault(item.shape.frame, []).append((item.shape.z_order, seq, item))
            seq += 1
    tags: dict[int, list[LabeledImage]] = {}
    for tag in ann.tags:
        if span.has(tag.frame):
            tags.setdefault(tag.frame, []).append(tag)
    for frame in sorted(source.frames, key=lambda f: f.number):
        checkpoint()
        name = frame.name if name_of is None else name_of(frame)
        w.open(
            "image",
            f' id="{numbering.absolute(frame.number)}" name={quote(name)}{image_extra}'
            f' width="{frame.width}" height="{frame.height}"',
        )
        for _, _, obj in sorted(per_frame.pop(frame.number, ()), key=lambda t: (t[0], t[1])):
            if isinstance(obj, LabeledShape):
                _write_labeled(w, names, obj, False)
            else:
                _write_frame_shape(w, names, obj)
        for tag in tags.get(frame.number, ()):
            attrs = f" label={names.label_of(tag.label_id)} source={quote(tag.source)}"
            if tag.group:
                attrs += f' group_id="{tag.group}"'
            w.open("tag", attrs)
            _attributes(w, names, tag.attributes)
            w.close("tag")
        w.close("image")


def write_images_xml(source: ExportSource, out: TextIO) -> None:
    """CVAT for images 1.1."""
    labels = flat_labels(source.labels)
    names = Names(labels)
    w = XmlWriter(out)
    open_document(w, _meta(source, labels))
    write_images_body(w, names, source, FrameNumbering.of(source.meta))
    close_document(w)


# ----------------------------------------------------------------------------- video


def _write_track_shape(
    w: XmlWriter,
    names: Names,
    shape: InterpolatedShape,
    numbering: FrameNumbering,
    extra: Sequence[AttributeVal],
    elements: Sequence[tuple[str, InterpolatedShape, Sequence[AttributeVal]]],
) -> None:
    """One <box frame=...> (or other shape) of a track; a skeleton is written only on
    frames where some of its points are (CVAT's dump_shape)."""
    if shape.type == "skeleton" and not elements:
        return
    attrs = f' frame="{numbering.absolute(shape.frame)}" keyframe="{int(shape.keyframe)}"'
    if shape.type != "skeleton":
        attrs += f' outside="{int(shape.outside)}" occluded="{int(shape.occluded)}"'
    attrs += _geometry(shape.type, shape.points, shape.rotation)
    attrs += f' z_order="{shape.z_order}"'
    tag = _TAG_OF_TYPE[shape.type]
    w.open(tag, attrs)
    for label, point, point_extra in elements:
        e_tag = _TAG_OF_TYPE[point.type]
        w.open(
            e_tag,
            f' label={label} keyframe="{int(point.keyframe)}"'
            f' outside="{int(point.outside)}" occluded="{int(point.occluded)}"'
            + _geometry(point.type, point.points, point.rotation),
        )
        _attributes(w, names, point.attributes, point_extra)
        w.close(e_tag)
    _attributes(w, names, shape.attributes, extra)
    w.close(tag)


_ElementShapes: TypeAlias = dict[int, list[tuple[str, InterpolatedShape, Sequence[AttributeVal]]]]


def _write_track(
    w: XmlWriter,
    names: Names,
    index: int,
    track: LabeledTrack | LabeledShape,
    shapes: Iterable[InterpolatedShape],
    element_shapes: _ElementShapes,
    numbering: FrameNumbering,
    track_extra: str,
) -> None:
    attrs = f' id="{index}" label={names.label_of(track.label_id)} source={quote(track.source)}'
    attrs += track_extra
    if track.group:
        attrs += f' group_id="{track.group}"'
    w.open("track", attrs)
    extra = track.attributes if isinstance(track, LabeledTrack) else ()
    for shape in shapes:
        _write_track_shape(w, names, shape, numbering, extra, element_shapes.get(shape.frame, []))
    w.close("track")


def _track_shapes(
    names: Names, track: LabeledTrack, span: _Span
) -> tuple[list[InterpolatedShape], _ElementShapes]:
    """Every frame of the track from its first keyframe: keyframes, interpolated frames,
    outside keyframes (CVAT's get_interpolated_shapes); its points the same way."""
    element_shapes: _ElementShapes = {}
    for element in track.elements:
        label = names.label_of(element.label_id)
        for point in span.interpolate(element.shapes, element.frame):
            element_shapes.setdefault(point.frame, []).append((label, point, element.attributes))
    return span.interpolate(track.shapes, track.frame), element_shapes


def _one_frame(
    s: SkeletonElementShape, frame: int, outside: bool, attributes: list[AttributeVal]
) -> InterpolatedShape:
    return InterpolatedShape(
        type=s.type,
        frame=frame,
        points=s.points,
        rotation=s.rotation,
        occluded=s.occluded,
        outside=outside,
        z_order=s.z_order,
        attributes=attributes,
        keyframe=True,
    )


def _shape_as_track(
    names: Names, shape: LabeledShape, last: int
) -> tuple[list[InterpolatedShape], _ElementShapes]:
    """CVAT's video dump of a shape: a keyframe, and an outside keyframe on the next frame
    unless that is not before the last frame; written as is, nothing interpolated."""

    def keyframes(s: SkeletonElementShape, outside: bool) -> list[InterpolatedShape]:
        first = _one_frame(s, s.frame, outside, s.attributes)
        if s.frame + 1 >= last:
            return [first]
        return [first, _one_frame(s, s.frame + 1, True, s.attributes)]

    element_shapes: _ElementShapes = {}
    for element in shape.elements:
        label = names.label_of(element.label_id)
        for point in keyframes(element, element.outside):
            element_shapes.setdefault(point.frame, []).append((label, point, ()))
    return keyframes(shape, False), element_shapes


def write_video_body(
    w: XmlWriter,
    names: Names,
    source: ExportSource,
    numbering: FrameNumbering,
    track_extra: str = "",
    index: int = 0,
) -> int:
    """The <track> elements of one task or job, numbered from `index`; the next index.
    `track_extra` goes between source and group_id (a project's task_id and subset)."""
    span = _Span.of(source)
    for track in source.annotations.tracks:
        checkpoint()
        shapes, element_shapes = _track_shapes(names, track, span)
        _write_track(w, names, index, track, shapes, element_shapes, numbering, track_extra)
        index += 1
    for shape in source.annotations.shapes:
        if not span.has(shape.frame):
            continue
        checkpoint()
        shapes, element_shapes = _shape_as_track(names, shape, span.last)
        _write_track(w, names, index, shape, shapes, element_shapes, numbering, track_extra)
        index += 1
    return index


def write_video_xml(source: ExportSource, out: TextIO) -> None:
    """CVAT for video 1.1."""
    labels = flat_labels(source.labels)
    names = Names(labels)
    w = XmlWriter(out)
    open_document(w, _meta(source, labels))
    write_video_body(w, names, source, FrameNumbering.of(source.meta))
    close_document(w)
