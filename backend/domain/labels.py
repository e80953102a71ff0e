"""Label and attribute specs as CVAT defines them, and CVAT's attribute value rules."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Literal

import msgspec

from backend.domain.errors import ValidationError

InputType = Literal["select", "radio", "checkbox", "text", "number"]
LabelType = Literal[
    "any", "rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton",
    "tag",
]  # fmt: skip


class AttributeSpec(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    input_type: InputType
    mutable: bool = False
    # select/radio: the allowed values; number: [min, max, step] as strings (CVAT's encoding)
    values: list[str] = []
    default_value: str = ""


class LabelSpec(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    type: LabelType = "any"
    color: str = ""
    attributes: list[AttributeSpec] = []
    sublabels: list[LabelSpec] = []  # skeleton points, each a label of its own
    parent_id: int | None = None
    svg: str = ""  # skeleton layout, as CVAT's UI draws it


def decimal_or_none(text: str) -> Decimal | None:
    """A finite decimal number, or None (CVAT keeps numbers of attributes as strings)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def attribute_value_error(spec: AttributeSpec, value: str) -> str | None:
    """Why `value` is not acceptable for `spec`, or None when it is.

    The rules follow cvat-sdk's attribute validators: checkbox is 'true'/'false', select and
    radio must be one of `values`, number lies in [min, max] on the step grid from min, text
    is free. Numbers are compared as decimals so that a fractional step (0.5) works exactly.
    """
    kind = spec.input_type
    if kind == "text":
        return None
    if kind == "checkbox":
        return None if value in ("true", "false") else f"{value!r} is not 'true' or 'false'"
    if kind in ("select", "radio"):
        if value in spec.values:
            return None
        return f"{value!r} is not one of {spec.values!r}"
    if kind == "number":
        if len(spec.values) != 3:
            return f"number attribute {spec.id} has malformed values {spec.values!r}"
        low, high, step = (decimal_or_none(v) for v in spec.values)
        number = decimal_or_none(value)
        if number is None:
            return f"{value!r} is not a number"
        if low is None or high is None or step is None or step <= 0:
            return f"number attribute {spec.id} has malformed values {spec.values!r}"
        if not low <= number <= high:
            return f"{value!r} is outside [{spec.values[0]}, {spec.values[1]}]"
        if (number - low) % step != 0:
            return f"{value!r} is not on the step {spec.values[2]} from {spec.values[0]}"
        return None
    return f"unknown input type {kind!r}"


class LabelSet:
    """All labels a job may use (task or project labels), with lookups by id."""

    __slots__ = ("_attributes", "_labels", "_parents", "top_level")

    def __init__(self, labels: list[LabelSpec]) -> None:
        self.top_level = list(labels)
        self._labels: dict[int, LabelSpec] = {}
        self._parents: dict[int, int] = {}
        self._attributes: dict[int, dict[int, AttributeSpec]] = {}
        for label in labels:
            self._add(label, None)

    def _add(self, label: LabelSpec, parent: int | None) -> None:
        if label.id in self._labels:
            raise ValidationError(f"duplicate label id {label.id}", "labels")
        self._labels[label.id] = label
        self._attributes[label.id] = {spec.id: spec for spec in label.attributes}
        if parent is not None:
            self._parents[label.id] = parent
        for sub in label.sublabels:
            self._add(sub, label.id)

    def get(self, label_id: int) -> LabelSpec | None:
        return self._labels.get(label_id)

    def parent_of(self, label_id: int) -> int | None:
        """The skeleton label a sublabel belongs to (None for top-level labels)."""
        return self._parents.get(label_id)

    def attribute(self, label_id: int, spec_id: int) -> AttributeSpec | None:
        return self._attributes.get(label_id, {}).get(spec_id)

    def __contains__(self, label_id: object) -> bool:
        return label_id in self._labels

    def __len__(self) -> int:
        return len(self._labels)
