"""annotations.json: one CVAT LabeledData per job, with labels and attributes by NAME (ids
belong to the server that wrote them), as CVAT's `_prepare_annotations` writes it. Skeleton
points are named by their own name under their skeleton's. Object ids are dropped; a
restore gets fresh ones."""

from __future__ import annotations

from typing import Any

import msgspec

from backend.backups.layout import ANNOTATIONS_FILE, BackupError
from backend.domain.annotations import CvatAnnotations
from backend.domain.labels import LabelSet, LabelSpec
from backend.domain.objects import LabeledImage, LabeledShape, LabeledTrack

# What CVAT keeps of each object (plus `elements`, `label`, `attributes`, `shapes`).
_KEPT = {
    "label", "type", "occluded", "outside", "z_order", "points", "rotation", "frame",
    "group", "source", "attributes", "shapes", "elements",
}  # fmt: skip


class _Names:
    """label id <-> name (a sublabel under its skeleton's name), attribute id <-> name."""

    def __init__(self, labels: list[LabelSpec]) -> None:
        self.label_name: dict[int, str] = {}
        self.label_id: dict[tuple[str, str], int] = {}
        self.attr_name: dict[int, dict[int, str]] = {}
        self.attr_id: dict[int, dict[str, int]] = {}
        for label in labels:
            self._add(label, "")

    def _add(self, label: LabelSpec, parent: str) -> None:
        self.label_name[label.id] = label.name
        self.label_id[parent, label.name] = label.id
        self.attr_name[label.id] = {a.id: a.name for a in label.attributes}
        self.attr_id[label.id] = {a.name: a.id for a in label.attributes}
        for sub in label.sublabels:
            self._add(sub, label.name)


def _named(obj: dict[str, Any], names: _Names, label_id: int | None = None) -> dict[str, Any]:
    """One object (or keyframe, when `label_id` is its track's label) with names for ids."""
    own = obj.get("label_id", label_id)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "label_id":
            out["label"] = names.label_name[value]
        elif key == "attributes":
            assert own is not None
            out[key] = [
                {"name": names.attr_name[own][a["spec_id"]], "value": a["value"]} for a in value
            ]
        elif key == "shapes":
            out[key] = [_named(s, names, own) for s in value]
        elif key == "elements":
            out[key] = [_named(e, names) for e in value]
        elif key in _KEPT:
            out[key] = value
    return out


def to_backup(data: CvatAnnotations, labels: list[LabelSpec]) -> dict[str, Any]:
    names = _Names(labels)
    raw = msgspec.to_builtins(data)
    return {
        "version": 0,
        "tags": [_named(t, names) for t in raw["tags"]],
        "shapes": [_named(s, names) for s in raw["shapes"]],
        "tracks": [_named(t, names) for t in raw["tracks"]],
    }


def _with_ids(
    obj: Any, names: _Names, where: str, parent: str = "", label_id: int | None = None
) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise BackupError(f"{where}: an object is expected")
    own = label_id
    out: dict[str, Any] = {}
    if "label" in obj:
        label = obj["label"]
        key = (parent, label) if isinstance(label, str) else None
        if key is None or key not in names.label_id:
            what = f"{parent}/{label}" if parent else label
            raise BackupError(f"{where}.label: {what!r} is not a label of the backup")
        own = names.label_id[key]
        out["label_id"] = own
    elif label_id is None:
        raise BackupError(f"{where}.label: this field is required")
    for field, value in obj.items():
        if field == "attributes":
            if not isinstance(value, list):
                raise BackupError(f"{where}.attributes: a list is expected")
            out[field] = [_attribute(a, names, own, f"{where}.attributes[{i}]")
                          for i, a in enumerate(value)]  # fmt: skip
        elif field == "shapes":
            if not isinstance(value, list):
                raise BackupError(f"{where}.shapes: a list is expected")
            out[field] = [_with_ids(s, names, f"{where}.shapes[{i}]", parent, own)
                          for i, s in enumerate(value)]  # fmt: skip
        elif field == "elements":
            if not isinstance(value, list):
                raise BackupError(f"{where}.elements: a list is expected")
            skeleton = names.label_name.get(own or -1, "")
            out[field] = [_with_ids(e, names, f"{where}.elements[{i}]", skeleton)
                          for i, e in enumerate(value)]  # fmt: skip
        elif field in _KEPT and field != "label":
            out[field] = value
    return out


def _attribute(attr: Any, names: _Names, label_id: int | None, where: str) -> dict[str, Any]:
    if not isinstance(attr, dict) or not isinstance(attr.get("name"), str):
        raise BackupError(f"{where}: an attribute needs a name")
    spec = names.attr_id.get(label_id or -1, {}).get(attr["name"])
    if spec is None:
        raise BackupError(f"{where}.name: {attr['name']!r} is not an attribute of the label")
    return {"spec_id": spec, "value": attr.get("value")}


class JobAnnotationsIn(msgspec.Struct, frozen=True):
    shapes: list[LabeledShape]
    tracks: list[LabeledTrack]
    tags: list[LabeledImage]


def from_backup(
    raw: Any, labels: LabelSet, index: int, file: str = ANNOTATIONS_FILE
) -> JobAnnotationsIn:
    """Job `index` of annotations.json (`file`: its path in the archive) with the restored
    task's ids; BackupError naming the place (annotations.json[0].shapes[3].label) when it
    does not fit."""
    where = f"{file}[{index}]"
    if not isinstance(raw, dict):
        raise BackupError(f"{where}: an object is expected")
    names = _Names(labels.top_level)
    converted: dict[str, list[dict[str, Any]]] = {}
    for kind in ("shapes", "tracks", "tags"):
        items = raw.get(kind, [])
        if not isinstance(items, list):
            raise BackupError(f"{where}.{kind}: a list is expected")
        converted[kind] = [_with_ids(o, names, f"{where}.{kind}[{i}]") for i, o in enumerate(items)]
    try:
        return msgspec.convert(converted, JobAnnotationsIn)
    except msgspec.ValidationError as exc:
        raise BackupError(f"{where}: {exc}") from None
