"""What an import is asked to do besides reading the file, and what it could not take.

An importer reports each annotation or item it cannot place (an unknown label or frame, a
bad value, a point far outside its frame, a broken shape) to `ImportContext.problem` and
goes on without it, so one pass finds every problem. A file that cannot be read at all
(broken XML/JSON, the wrong format, an unsafe archive) is still a FormatError at once.

The rule (README, "Dataset formats and backups"): by default an import with any problem
fails, listing them, and changes nothing (CVAT refuses such files too); with
`on_error=skip` the rest is imported and the problems are the report. `label_map` renames
the file's labels onto the target's (a name mapped to None drops its annotations)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from backend.domain.labels import LabelSpec
from backend.formats.model import FormatError

__all__ = ["LISTED_PROBLEMS", "ImportContext", "Problem"]

LISTED_PROBLEMS = 20  # distinct problems spelled out in a report; the rest are counted
_EXAMPLES = 3  # places named for a problem that occurs more than once


@dataclass
class Problem:
    """One kind of problem (`what`), where it occurred (the first few places) and how often."""

    what: str
    first: str  # the whole message of its first occurrence
    places: list[str] = field(default_factory=list)
    count: int = 0

    def line(self) -> str:
        """The first occurrence in full, then how many more (and where, the first few)."""
        if self.count == 1:
            return self.first
        shown = "; ".join(p for p in self.places[1:] if p)
        return f"{self.first} (and {self.count - 1} more like it{': ' + shown if shown else ''})"


@dataclass
class ImportContext:
    """Handed to an importer through `ExportSource.importing`."""

    label_map: Mapping[str, str | None] = field(default_factory=dict)
    skip_invalid: bool = False  # on_error=skip: import the rest, report the problems
    masks_to_polygons: bool = True  # conv_mask_to_poly: masks are checked as polygons
    # filled by the importer when not None: task frame -> the dataset subset of its item
    # (a project import makes one task per subset)
    subsets: dict[int, str] | None = None
    problems: dict[str, Problem] = field(default_factory=dict)
    dropped: int = 0  # annotations whose label the label map drops
    # label names of the file that the target does not have (a project without labels
    # takes them, as CVAT's does)
    unknown_labels: set[str] = field(default_factory=set)

    @property
    def problem_count(self) -> int:
        return sum(p.count for p in self.problems.values())

    def labels_by_name(self, labels: Sequence[LabelSpec]) -> dict[str, LabelSpec | None]:
        """The target's labels by name, with the label map applied: a mapped name stands
        for its target label, or for None when its annotations are to be dropped."""
        own = {label.name: label for label in labels}
        found: dict[str, LabelSpec | None] = dict(own)
        for name, target in self.label_map.items():
            if target is not None and target not in own:
                raise FormatError(f"label_map: {target!r} is not a label of the target")
            found[name] = None if target is None else own[target]
        return found

    def problem(self, what: str, where: str = "", text: str | None = None) -> None:
        """Record that something at `where` (file, line or item) could not be imported;
        `text` is the whole message (default: where: what)."""
        found = self.problems.get(what)
        if found is None:
            whole = text or (f"{where}: {what}" if where else what)
            found = self.problems[what] = Problem(what, whole)
        found.count += 1
        if len(found.places) < _EXAMPLES:
            found.places.append(where)

    def lines(self) -> list[str]:
        listed = [p.line() for p in list(self.problems.values())[:LISTED_PROBLEMS]]
        rest = len(self.problems) - LISTED_PROBLEMS
        if rest > 0:
            listed.append(f"... and {rest} other problems")
        return listed

    def failure(self) -> str | None:
        """The message of a strict import that met problems: the problem itself when there
        is one, else how many and each of them, one per line. None without problems."""
        count = self.problem_count
        if not count:
            return None
        if count == 1:
            return self.lines()[0]
        return f"{count} annotations or items could not be imported, so nothing was:\n" + (
            "\n".join(self.lines())
        )
