"""Label lists of projects and tasks, edited as CVAT's API edits them.

A create takes a list of new labels; a PATCH takes label patches: with an `id` a patch
changes that label (attributes with an id change, without one are added), `deleted: true`
removes it, without an `id` it adds a label. Names are unique per list (and per skeleton),
attribute specs must be usable (select/radio values, number [min, max, step], defaults).
Ids come from `new_ids` (a Postgres sequence in the service), so they are global as in CVAT.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import msgspec
from msgspec import UNSET, UnsetType

from backend.domain.errors import ValidationError
from backend.domain.labels import (
    AttributeSpec,
    InputType,
    LabelSpec,
    LabelType,
    decimal_or_none,
)

# CVAT's UI palette, handed out in order when a label comes without a colour.
PALETTE = (
    "#33ddff", "#fa3253", "#34d1b7", "#ff007c", "#ff6037", "#ddff33", "#24b353", "#b83df5",
    "#66ff66", "#32b7fa", "#ffcc33", "#83e070", "#fafa37", "#5986b3", "#8c78f0", "#ff6a4d",
)  # fmt: skip
INPUT_TYPES = frozenset(InputType.__args__)  # type: ignore[attr-defined]
LABEL_TYPES = frozenset(LabelType.__args__)  # type: ignore[attr-defined]


class AttributeEdit(msgspec.Struct, frozen=True, kw_only=True):
    id: int | UnsetType = UNSET
    name: str
    mutable: bool = False
    input_type: str
    values: list[str] = []
    default_value: str | UnsetType = UNSET


class LabelEdit(msgspec.Struct, frozen=True, kw_only=True):
    id: int | UnsetType = UNSET
    name: str | UnsetType = UNSET
    color: str | UnsetType = UNSET
    type: str | UnsetType = UNSET
    attributes: list[AttributeEdit] = []
    sublabels: list[LabelEdit] = []
    svg: str | UnsetType = UNSET
    deleted: bool = False


def new_labels(edits: list[LabelEdit], new_ids: Iterator[int]) -> list[LabelSpec]:
    """The labels of a new project or task (ids in the edits are ignored, as CVAT does)."""
    return edit_labels([], [msgspec.structs.replace(e, id=UNSET) for e in edits], new_ids)


def edit_labels(
    current: list[LabelSpec], edits: list[LabelEdit], new_ids: Iterator[int]
) -> list[LabelSpec]:
    labels = {label.id: label for label in current}
    order = [label.id for label in current]
    for index, edit in enumerate(edits):
        field = f"labels[{index}]"
        if isinstance(edit.id, int):
            if edit.id not in labels:
                raise ValidationError(f"label {edit.id} does not exist here", f"{field}.id")
            if edit.deleted:
                del labels[edit.id]
                order.remove(edit.id)
                continue
            labels[edit.id] = _changed_label(labels[edit.id], edit, new_ids, field)
        else:
            if edit.deleted:
                raise ValidationError("only an existing label (with an id) can be deleted", field)
            label = _new_label(edit, new_ids, field, None, len(order))
            labels[label.id] = label
            order.append(label.id)
    result = [labels[i] for i in order]
    _check_unique((label.name for label in result), "labels")
    return result


def _new_label(
    edit: LabelEdit, new_ids: Iterator[int], field: str, parent: int | None, position: int
) -> LabelSpec:
    if not isinstance(edit.name, str) or not edit.name.strip():
        raise ValidationError("a label needs a non-empty name", f"{field}.name")
    kind = edit.type if isinstance(edit.type, str) else "any"
    if kind not in LABEL_TYPES:
        raise ValidationError(f"{kind!r} is not a label type", f"{field}.type")
    label_id = next(new_ids)
    sublabels = [
        _new_label(sub, new_ids, f"{field}.sublabels[{i}]", label_id, i)
        for i, sub in enumerate(edit.sublabels)
    ]
    if sublabels and kind != "skeleton":
        raise ValidationError("only a skeleton label has sublabels", f"{field}.sublabels")
    if kind == "skeleton" and not sublabels:
        raise ValidationError("a skeleton label needs at least one sublabel", f"{field}.sublabels")
    _check_unique((s.name for s in sublabels), f"{field}.sublabels")
    attributes = [
        _attribute(a, next(new_ids), f"{field}.attributes[{i}]")
        for i, a in enumerate(edit.attributes)
    ]
    _check_unique((a.name for a in attributes), f"{field}.attributes")
    return LabelSpec(
        id=label_id,
        name=edit.name.strip(),
        type=kind,  # type: ignore[arg-type]
        color=edit.color if isinstance(edit.color, str) and edit.color else PALETTE[position % 16],
        attributes=attributes,
        sublabels=sublabels,
        parent_id=parent,
        svg=edit.svg if isinstance(edit.svg, str) else "",
    )


def _changed_label(
    label: LabelSpec, edit: LabelEdit, new_ids: Iterator[int], field: str
) -> LabelSpec:
    changes: dict[str, object] = {}
    if isinstance(edit.name, str):
        if not edit.name.strip():
            raise ValidationError("a label needs a non-empty name", f"{field}.name")
        changes["name"] = edit.name.strip()
    if isinstance(edit.color, str) and edit.color:
        changes["color"] = edit.color
    if isinstance(edit.type, str) and edit.type != label.type:
        if edit.type not in LABEL_TYPES:
            raise ValidationError(f"{edit.type!r} is not a label type", f"{field}.type")
        if "skeleton" in (edit.type, label.type):
            raise ValidationError("a label cannot become or stop being a skeleton", f"{field}.type")
        changes["type"] = edit.type
    if edit.attributes:
        specs = {a.id: a for a in label.attributes}
        for i, attr in enumerate(edit.attributes):
            where = f"{field}.attributes[{i}]"
            if isinstance(attr.id, int):
                if attr.id not in specs:
                    raise ValidationError(f"attribute {attr.id} is not on this label", where)
                specs[attr.id] = _attribute(attr, attr.id, where)
            else:
                spec = _attribute(attr, next(new_ids), where)
                specs[spec.id] = spec
        attributes = list(specs.values())
        _check_unique((a.name for a in attributes), f"{field}.attributes")
        changes["attributes"] = attributes
    if edit.sublabels:
        raise ValidationError(
            "the points of an existing skeleton cannot be changed", f"{field}.sublabels"
        )
    return msgspec.structs.replace(label, **changes)


def _attribute(edit: AttributeEdit, attr_id: int, field: str) -> AttributeSpec:
    if not edit.name.strip():
        raise ValidationError("an attribute needs a non-empty name", f"{field}.name")
    if edit.input_type not in INPUT_TYPES:
        raise ValidationError(
            f"{edit.input_type!r} is not one of {sorted(INPUT_TYPES)}", f"{field}.input_type"
        )
    values = list(edit.values)
    default = edit.default_value if isinstance(edit.default_value, str) else None
    if edit.input_type in ("select", "radio"):
        if not values or any(not v for v in values):
            raise ValidationError("select and radio attributes need non-empty values", field)
        default = values[0] if default is None else default
        if default not in values:
            raise ValidationError(f"{default!r} is not one of the values", f"{field}.default_value")
    elif edit.input_type == "checkbox":
        default = (default or (values[0] if values else "false")).lower()
        if default not in ("true", "false"):
            raise ValidationError(
                "a checkbox default is 'true' or 'false'", f"{field}.default_value"
            )
        values = [default]
    elif edit.input_type == "number":
        numbers = [decimal_or_none(v) for v in values]
        if len(numbers) != 3 or None in numbers:
            raise ValidationError("a number attribute needs values [min, max, step]", field)
        low, high, step = numbers
        assert low is not None and high is not None and step is not None
        if low > high or step <= 0:
            raise ValidationError("a number attribute needs min <= max and step > 0", field)
        default = values[0] if default is None else default
        number = decimal_or_none(default)
        if number is None or not low <= number <= high:
            raise ValidationError(f"{default!r} is not in [min, max]", f"{field}.default_value")
    else:  # text
        default = default or (values[0] if values else "")
    return AttributeSpec(
        id=attr_id,
        name=edit.name.strip(),
        input_type=edit.input_type,  # type: ignore[arg-type]
        mutable=edit.mutable,
        values=values,
        default_value=default,
    )


def _check_unique(names: Iterable[str], field: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValidationError(f"the name {name!r} is used twice", field)
        seen.add(name)


def ids_needed(edits: list[LabelEdit]) -> int:
    """An upper bound of the ids `edit_labels` draws (labels, sublabels, attributes)."""
    return sum(1 + len(e.attributes) + ids_needed(e.sublabels) for e in edits)
