"""A project export as one dataset (backend/formats/project_export.py): the tasks' frames
in CVAT's order, each in its task's subset, names unique in the whole export, a track
closed at the end of its task, and a format's exporter writing one file per subset."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from backend.domain.annotations import CvatAnnotations
from backend.domain.objects import LabeledTrack, TrackedShape
from backend.formats.cvat_xml_project import ProjectInfo
from backend.formats.datumaro_format import export_datumaro
from backend.formats.dm_bridge import to_dataset
from backend.formats.model import ExportSource, FrameSpec
from backend.formats.project_export import project_source
from tests.unit import format_sources as fs

PROJECT = ProjectInfo(id=7, name="p", labels=fs.LABELS, meta={})


def _task(
    task_id: int,
    subset: str,
    names: list[str],
    annotations: CvatAnnotations,
    mode: str = "annotation",
) -> ExportSource:
    frames = [FrameSpec(i, name, fs.W, fs.H) for i, name in enumerate(names)]
    return ExportSource(
        task_id=task_id, task_name=f"t{task_id}", job_id=None, mode=mode, dimension="2d",
        frames=frames, labels=fs.LABELS, annotations=annotations,
        meta={"subset": subset, "size": len(frames), "start_frame": 0},
    )  # fmt: skip


def _boxes(*frames: int) -> CvatAnnotations:
    return CvatAnnotations(
        version=0, shapes=[fs.box(f, points=(f + 1, 2, 20, 30)) for f in frames], tags=[], tracks=[]
    )


def test_frames_follow_cvats_order_with_subsets_and_unique_names() -> None:
    tasks = [
        _task(3, "val", ["a.jpg"], _boxes(0)),
        _task(1, "train", ["a.jpg", "b.jpg"], _boxes(1)),
        _task(2, "train", ["a.jpg"], _boxes(0)),
        _task(4, "", ["frame_000000", "frame_000001"], _boxes(1), mode="interpolation"),
    ]
    source = project_source(PROJECT, tasks)
    # (subset, id) order: "" (default) first, then train 1, train 2, val 3
    assert [(f.number, f.subset, f.name) for f in source.frames] == [
        (0, "default", "frame_000000"), (1, "default", "frame_000001"),
        (2, "train", "a.jpg"), (3, "train", "b.jpg"), (4, "train", "a_1.jpg"),
        (5, "val", "a_2.jpg"),
    ]  # fmt: skip
    # each box on its task's frame, by the x its task gave it
    assert sorted((s.frame, s.points[0]) for s in source.annotations.shapes) == [
        (1, 2.0), (3, 2.0), (4, 1.0), (5, 1.0)
    ]  # fmt: skip
    assert (source.task_name, source.labels) == ("p", fs.LABELS)


def test_video_frames_are_numbered_on_within_their_subset() -> None:
    names = ["frame_000000", "frame_000001"]
    tasks = [
        _task(1, "s", names, _boxes(), mode="interpolation"),
        _task(2, "s", names, _boxes(), mode="interpolation"),
    ]
    source = project_source(PROJECT, tasks)
    assert [f.name for f in source.frames] == [
        "frame_000000", "frame_000001", "frame_000002", "frame_000003"
    ]  # fmt: skip


def test_a_track_visible_at_its_tasks_end_does_not_run_into_the_next_task() -> None:
    key = TrackedShape(type="rectangle", frame=0, points=[1.0, 1.0, 9.0, 9.0])
    track = LabeledTrack(frame=0, label_id=1, shapes=[key])
    first = _task(
        1, "s", ["a.jpg", "b.jpg"], CvatAnnotations(version=0, shapes=[], tags=[], tracks=[track])
    )
    second = _task(2, "s", ["c.jpg", "d.jpg"], _boxes())
    source = project_source(PROJECT, [first, second])
    (moved,) = source.annotations.tracks
    assert [(k.frame, k.outside) for k in moved.shapes] == [(0, False), (2, True)]
    items = list(to_dataset(source, False))
    assert [len(item.annotations) for item in items] == [1, 1, 0, 0]


def test_an_exporter_writes_one_dataset_with_a_file_per_subset(tmp_path: Path) -> None:
    tasks = [_task(1, "train", ["a.jpg"], _boxes(0)), _task(2, "val", ["a.jpg"], _boxes(0))]
    source = project_source(PROJECT, tasks)
    dataset = to_dataset(source, False)
    assert sorted(dataset.subsets()) == ["train", "val"]
    assert [item.id for item in dataset.get_subset("val")] == ["a_1"]
    export_datumaro(source, tmp_path, False)
    files = sorted(p.name for p in (tmp_path / "annotations").iterdir())
    assert files == ["train.json", "val.json"]
    val = json.loads((tmp_path / "annotations" / "val.json").read_text())
    assert [item["id"] for item in val["items"]] == ["a_1"]


def test_without_tasks_sharing_a_subset_names_stay_as_they_were() -> None:
    task = _task(1, "train", ["dir/a.jpg"], _boxes())
    (frame,) = project_source(PROJECT, [task]).frames
    assert frame == replace(task.frames[0], subset="train")
