"""ExportSources for format tests: labels with every attribute kind, a skeleton, frames,
and annotations of every kind, built in code (no server)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from backend.domain.annotations import CvatAnnotations
from backend.domain.objects import (
    AttributeVal,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    SkeletonElementShape,
    SkeletonElementTrack,
    TrackedShape,
)
from backend.formats.model import AttributeSpec, ExportSource, FrameSpec, LabelSpec

# label ids 1.., attribute ids 100..
CAR = LabelSpec(
    id=1,
    name="car",
    type="any",
    color="#ff0000",
    attributes=[
        AttributeSpec(
            id=101, name="color", input_type="select", values=["red", "blue"], default_value="red"
        ),
        AttributeSpec(
            id=102, name="parked", input_type="checkbox", values=["false"], default_value="false"
        ),
        AttributeSpec(
            id=103, name="doors", input_type="number", values=["0", "10", "1"], default_value="4"
        ),
        AttributeSpec(id=104, name="note", input_type="text", default_value=""),
        AttributeSpec(
            id=105,
            name="speed",
            input_type="number",
            mutable=True,
            values=["0", "100", "1"],
            default_value="0",
        ),
    ],
)
PERSON = LabelSpec(id=2, name="person", type="any", color="#00ff00")
SKELETON_SVG = (
    '<line x1="10" y1="10" x2="50" y2="50" data-type="edge" data-node-from="1" '
    'data-node-to="2"></line><line x1="50" y1="50" x2="90" y2="10" data-type="edge" '
    'data-node-from="2" data-node-to="3"></line>'
    '<circle r="1.5" cx="10" cy="10" data-type="element node" data-element-id="1" '
    'data-node-id="1" data-label-id="31" data-label-name="head"></circle>'
    '<circle r="1.5" cx="50" cy="50" data-type="element node" data-element-id="2" '
    'data-node-id="2" data-label-id="32" data-label-name="hand"></circle>'
    '<circle r="1.5" cx="90" cy="10" data-type="element node" data-element-id="3" '
    'data-node-id="3" data-label-id="33" data-label-name="foot"></circle>'
)
POSE = LabelSpec(
    id=3,
    name="pose",
    type="skeleton",
    color="#0000ff",
    svg=SKELETON_SVG,
    sublabels=[
        LabelSpec(id=31, name="head", type="points", parent_id=3),
        LabelSpec(id=32, name="hand", type="points", parent_id=3),
        LabelSpec(id=33, name="foot", type="points", parent_id=3),
    ],
)
LABELS = [CAR, PERSON, POSE]

W, H = 64, 48


def frames(count: int, prefix: str = "img", ext: str = ".jpg") -> list[FrameSpec]:
    return [
        FrameSpec(number=i, name=f"{prefix}{i:03d}{ext}", width=W, height=H) for i in range(count)
    ]


def car_attributes(
    color: str = "blue",
    parked: str = "true",
    doors: str = "2",
    note: str = "dented",
    speed: str = "30",
) -> list[AttributeVal]:
    return [
        AttributeVal(101, color),
        AttributeVal(102, parked),
        AttributeVal(103, doors),
        AttributeVal(104, note),
        AttributeVal(105, speed),
    ]


def box(
    frame: int, label: int = 1, points: Sequence[float] = (2, 3, 20, 30), **kw: object
) -> LabeledShape:
    return LabeledShape(type="rectangle", frame=frame, label_id=label, points=list(points), **kw)  # type: ignore[arg-type]


def polygon(frame: int, label: int = 2, **kw: object) -> LabeledShape:
    return LabeledShape(
        type="polygon", frame=frame, label_id=label, points=[5.0, 5.0, 30.0, 6.0, 25.0, 40.0], **kw
    )  # type: ignore[arg-type]


def polyline(frame: int, label: int = 2) -> LabeledShape:
    return LabeledShape(
        type="polyline", frame=frame, label_id=label, points=[1.0, 1.0, 10.0, 12.0, 20.0, 5.0]
    )


def points(frame: int, label: int = 2) -> LabeledShape:
    return LabeledShape(type="points", frame=frame, label_id=label, points=[3.0, 4.0, 11.0, 12.0])


def ellipse(frame: int, label: int = 2) -> LabeledShape:
    return LabeledShape(
        type="ellipse", frame=frame, label_id=label, points=[30.0, 20.0, 40.0, 14.0]
    )


def mask(frame: int, label: int = 1) -> LabeledShape:
    """A 6x3 block at (10, 20) with a hole, in CVAT's RLE."""
    image = np.zeros((H, W), dtype=bool)
    image[20:23, 10:16] = True
    image[21, 12] = False
    from backend.formats.dm_bridge import mask_to_cvat_rle

    rle = mask_to_cvat_rle(image)
    assert rle is not None
    return LabeledShape(type="mask", frame=frame, label_id=label, points=rle)


def skeleton(frame: int, outside_foot: bool = False) -> LabeledShape:
    return LabeledShape(
        type="skeleton",
        frame=frame,
        label_id=3,
        points=[],
        elements=[
            SkeletonElementShape(type="points", frame=frame, label_id=31, points=[10.0, 10.0]),
            SkeletonElementShape(
                type="points", frame=frame, label_id=32, points=[20.0, 25.0], occluded=True
            ),
            SkeletonElementShape(
                type="points", frame=frame, label_id=33, points=[30.0, 40.0], outside=outside_foot
            ),
        ],
    )


def tag(frame: int, label: int = 2) -> LabeledImage:
    return LabeledImage(frame=frame, label_id=label)


def box_track(start: int, stop: int, label: int = 1) -> LabeledTrack:
    """Visible from `start`, moving right, outside from `stop`."""
    return LabeledTrack(
        frame=start,
        label_id=label,
        attributes=[
            AttributeVal(101, "blue"),
            AttributeVal(102, "false"),
            AttributeVal(103, "3"),
            AttributeVal(104, ""),
        ],
        shapes=[
            TrackedShape(
                type="rectangle",
                frame=start,
                points=[1, 1, 10, 10],
                attributes=[AttributeVal(105, "10")],
            ),
            TrackedShape(
                type="rectangle",
                frame=start + 2,
                points=[5, 1, 14, 10],
                attributes=[AttributeVal(105, "20")],
            ),
            TrackedShape(
                type="rectangle",
                frame=stop,
                points=[5, 1, 14, 10],
                outside=True,
                attributes=[AttributeVal(105, "20")],
            ),
        ],
    )


def skeleton_track(start: int, stop: int) -> LabeledTrack:
    """Visible from `start`, points moving right until `stop - 1`, outside from `stop`."""

    def element(label_id: int, x: float) -> SkeletonElementTrack:
        return SkeletonElementTrack(
            frame=start,
            label_id=label_id,
            shapes=[
                TrackedShape(type="points", frame=start, points=[x, 5.0]),
                TrackedShape(type="points", frame=stop - 1, points=[x + 4, 5.0]),
                TrackedShape(type="points", frame=stop, points=[x + 4, 5.0], outside=True),
            ],
        )

    return LabeledTrack(
        frame=start,
        label_id=3,
        shapes=[
            TrackedShape(type="skeleton", frame=start, points=[]),
            TrackedShape(type="skeleton", frame=stop - 1, points=[]),
            TrackedShape(type="skeleton", frame=stop, points=[], outside=True),
        ],
        elements=[element(31, 5.0), element(32, 15.0), element(33, 25.0)],
    )


def source(
    frame_list: list[FrameSpec],
    shapes: Sequence[LabeledShape] = (),
    tracks: Sequence[LabeledTrack] = (),
    tags: Sequence[LabeledImage] = (),
    labels: Sequence[LabelSpec] = LABELS,
    image_dir: Path | None = None,
    mode: str = "annotation",
) -> ExportSource:
    image_path = None
    if image_dir is not None:
        for frame in frame_list:
            path = image_dir / frame.name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (frame.width, frame.height), (frame.number, 0, 0)).save(path)

        def image_path(number: int) -> Path:
            return image_dir / frame_list[number].name

    return ExportSource(
        task_id=1,
        task_name="task",
        job_id=None,
        mode=mode,
        dimension="2d",
        frames=frame_list,
        labels=list(labels),
        annotations=CvatAnnotations(
            version=0, tags=list(tags), shapes=list(shapes), tracks=list(tracks)
        ),
        image_path=image_path,
    )
