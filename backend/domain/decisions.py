"""decide(): validate a batch of commands against the current state and emit events.

The batch is all-or-nothing: each command's events are applied to a copy-on-write scratch
view (never to the aggregate), so later commands see earlier ones, and any DomainError
discards everything. New ids are drawn from the injected iterator in a fixed order (an
object, then its keyframes, then its elements), so a decision is reproducible.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from msgspec import UnsetType, structs

from backend.domain.apply import affected_objects, apply_to_objects, track_start
from backend.domain.commands import (
    ClearAnnotations,
    Command,
    CreateJob,
    CreateObjects,
    DeleteKeyframe,
    DeleteObjects,
    ElementTrackUpdate,
    ReplaceAnnotations,
    SetKeyframe,
    TrackUpdate,
    UpdateObjects,
)
from backend.domain.errors import Conflict, DomainError, NotFound, ValidationError
from backend.domain.events import (
    AnnotationsCleared,
    AnnotationsReplaced,
    Event,
    JobCreated,
    ObjectsCreated,
    ObjectsDeleted,
    ObjectsUpdated,
    TrackKeyframesChanged,
)
from backend.domain.labels import LabelSet
from backend.domain.objects import (
    AnnotationObject,
    AttributeVal,
    ElementKeyframeChanges,
    ElementShapePatch,
    ElementTrackPatch,
    Key,
    Kind,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    ShapePatch,
    SkeletonElementShape,
    SkeletonElementTrack,
    TagPatch,
    TrackedShape,
    TrackKeyframeChanges,
    TrackPatch,
)
from backend.domain.validation import (
    JobFrames,
    Mutability,
    check_attributes,
    check_group,
    check_label,
    check_points,
    check_rotation,
    check_shape_type,
    check_source,
)


class _Scratch:
    """Copy-on-write view of the objects for one batch: base plus changed keys."""

    def __init__(self, base: Mapping[Key, AnnotationObject]) -> None:
        self.base = base
        self.changed: dict[Key, AnnotationObject | None] = {}
        self.reset = False

    def get(self, key: Key) -> AnnotationObject | None:
        if key in self.changed:
            return self.changed[key]
        return None if self.reset else self.base.get(key)

    def apply(self, event: Event) -> None:
        affected = affected_objects(event)
        if affected.resets:
            self.reset, self.changed = True, {}
        partial = {k: obj for k in affected.keys if (obj := self.get(k)) is not None}
        apply_to_objects(event, partial)
        for key in affected.keys | partial.keys():
            self.changed[key] = partial.get(key)


def _given(value: Any) -> bool:
    return not isinstance(value, UnsetType)


class Decider:
    def __init__(
        self,
        job: JobCreated | None,
        objects: Mapping[Key, AnnotationObject],
        labels: LabelSet,
        new_ids: Iterator[int],
    ) -> None:
        self.job = job
        self.frames = None if job is None else JobFrames(job)
        self.scratch = _Scratch(objects)
        self.labels = labels
        self.new_ids = new_ids
        self.events: list[Event] = []

    def decide(self, commands: Sequence[Command]) -> list[Event]:
        for index, command in enumerate(commands):
            try:
                self._handle(command)
            except DomainError as error:
                error.command_index = index
                raise
        return self.events

    # --- plumbing -------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self.scratch.apply(event)
        self.events.append(event)

    def _next_id(self) -> int:
        try:
            return next(self.new_ids)
        except StopIteration:
            raise ValueError("new_ids ran out: allocate ids_needed(commands) ids") from None

    def _job_frames(self) -> JobFrames:
        if self.frames is None:
            raise NotFound("the job does not exist", "job_id")
        return self.frames

    def _existing(self, kind: Kind, object_id: int, field: str) -> AnnotationObject:
        found = self.scratch.get((kind, object_id))
        if found is None:
            raise NotFound(f"{kind} {object_id} does not exist or was deleted", field)
        return found

    def _handle(self, command: Command) -> None:
        if isinstance(command, CreateJob):
            self._create_job(command)
            return
        self._job_frames()
        if isinstance(command, CreateObjects):
            shapes, tracks, tags = self._new_content(command.shapes, command.tracks, command.tags)
            if shapes or tracks or tags:
                self._emit(ObjectsCreated(shapes=shapes, tracks=tracks, tags=tags))
        elif isinstance(command, ReplaceAnnotations):
            shapes, tracks, tags = self._new_content(command.shapes, command.tracks, command.tags)
            self._emit(AnnotationsReplaced(shapes=shapes, tracks=tracks, tags=tags))
        elif isinstance(command, ClearAnnotations):
            self._emit(AnnotationsCleared())
        elif isinstance(command, DeleteObjects):
            self._delete(command)
        elif isinstance(command, UpdateObjects):
            self._update(command)
        elif isinstance(command, SetKeyframe):
            self._set_keyframe(command)
        elif isinstance(command, DeleteKeyframe):
            self._delete_keyframe(command)
        else:
            raise ValidationError(f"unknown command {type(command).__name__}", "command")

    # --- job ------------------------------------------------------------------------

    def _create_job(self, command: CreateJob) -> None:
        if self.job is not None:
            raise Conflict(f"job {self.job.job_id} already exists", "job_id")
        if command.start_frame < 0 or command.stop_frame < command.start_frame:
            raise ValidationError("need 0 <= start_frame <= stop_frame", "stop_frame")
        if command.frames is not None:
            frames = command.frames
            if any(b <= a for a, b in itertools.pairwise(frames)):
                raise ValidationError("frames must be strictly increasing", "frames")
            if frames and (frames[0] < command.start_frame or frames[-1] > command.stop_frame):
                raise ValidationError("frames must lie in start_frame..stop_frame", "frames")
        event = JobCreated(
            job_id=command.job_id,
            task_id=command.task_id,
            start_frame=command.start_frame,
            stop_frame=command.stop_frame,
            frames=None if command.frames is None else list(command.frames),
        )
        self.job, self.frames = event, JobFrames(event)
        self._emit(event)

    # --- creation -------------------------------------------------------------------

    def _new_content(
        self,
        shapes: Sequence[LabeledShape],
        tracks: Sequence[LabeledTrack],
        tags: Sequence[LabeledImage],
    ) -> tuple[list[LabeledShape], list[LabeledTrack], list[LabeledImage]]:
        return (
            [self._new_shape(s, f"shapes[{i}]") for i, s in enumerate(shapes)],
            [self._new_track(t, f"tracks[{i}]") for i, t in enumerate(tracks)],
            [self._new_tag(t, f"tags[{i}]") for i, t in enumerate(tags)],
        )

    def _check_common(self, obj: Any, field: str) -> None:
        check_group(obj.group, f"{field}.group")
        check_source(obj.source, f"{field}.source")

    def _check_geometry(self, shape: Any, shape_type: str, field: str) -> None:
        check_rotation(shape.rotation, f"{field}.rotation")
        check_points(shape_type, shape.points, f"{field}.points")

    def _new_shape(self, shape: LabeledShape, field: str) -> LabeledShape:
        frames = self._job_frames()
        check_shape_type(shape.type, f"{field}.type")
        frames.check(shape.frame, f"{field}.frame")
        check_label(self.labels, shape.label_id, shape.type, f"{field}.label_id")
        self._check_common(shape, field)
        self._check_geometry(shape, shape.type, field)
        check_attributes(self.labels, shape.label_id, shape.attributes, f"{field}.attributes")
        if shape.type != "skeleton":
            if shape.elements:
                raise ValidationError("only skeletons have elements", f"{field}.elements")
            return structs.replace(shape, id=self._next_id())
        if not shape.elements:
            raise ValidationError("a skeleton needs its points", f"{field}.elements")
        shape_id = self._next_id()
        seen: set[int] = set()
        elements: list[SkeletonElementShape] = []
        for j, element in enumerate(shape.elements):
            where = f"{field}.elements[{j}]"
            check_shape_type(element.type, f"{where}.type")
            self._check_element_label(element.label_id, element.type, shape.label_id, seen, where)
            self._check_common(element, where)
            self._check_geometry(element, element.type, where)
            check_attributes(
                self.labels, element.label_id, element.attributes, f"{where}.attributes"
            )
            # An element lives on its skeleton's frame; CVAT clients always send it so.
            elements.append(
                SkeletonElementShape(
                    **{
                        **structs.asdict(element),
                        "id": self._next_id(),
                        "frame": shape.frame,
                    }
                )
            )
        return structs.replace(shape, id=shape_id, elements=elements)

    def _check_element_label(
        self, label_id: int, used_as: str, parent: int, seen: set[int], field: str
    ) -> None:
        if used_as == "skeleton":
            raise ValidationError("a skeleton point cannot be a skeleton", f"{field}.type")
        check_label(self.labels, label_id, used_as, f"{field}.label_id", parent_label=parent)
        if label_id in seen:
            raise ValidationError(f"skeleton point {label_id} is given twice", f"{field}.label_id")
        seen.add(label_id)

    def _check_keyframe(
        self, shape: TrackedShape, shape_type: str, label_id: int, field: str
    ) -> None:
        if shape.type != shape_type:
            raise ValidationError(
                f"all keyframes of a track are {shape_type}, got {shape.type}", f"{field}.type"
            )
        self._job_frames().check(shape.frame, f"{field}.frame", closing_keyframe=shape.outside)
        self._check_geometry(shape, shape_type, field)
        check_attributes(self.labels, label_id, shape.attributes, f"{field}.attributes", "mutable")

    def _checked_keyframes(
        self, shapes: Sequence[TrackedShape], shape_type: str, label_id: int, field: str
    ) -> list[TrackedShape]:
        """Validated keyframes in frame order, without new ids yet."""
        seen: set[int] = set()
        for i, shape in enumerate(shapes):
            self._check_keyframe(shape, shape_type, label_id, f"{field}[{i}]")
            if shape.frame in seen:
                raise ValidationError(
                    f"two keyframes at frame {shape.frame}", f"{field}[{i}].frame"
                )
            seen.add(shape.frame)
        return sorted(shapes, key=lambda s: s.frame)

    def _with_ids(self, shapes: list[TrackedShape]) -> list[TrackedShape]:
        return [structs.replace(s, id=self._next_id()) for s in shapes]

    def _new_track(self, track: LabeledTrack, field: str) -> LabeledTrack:
        if not track.shapes:
            raise ValidationError("a track needs at least one keyframe", f"{field}.shapes")
        shape_type = track.shapes[0].type
        check_shape_type(shape_type, f"{field}.shapes[0].type")
        check_label(self.labels, track.label_id, shape_type, f"{field}.label_id")
        self._check_common(track, field)
        check_attributes(
            self.labels, track.label_id, track.attributes, f"{field}.attributes", "immutable"
        )
        shapes = self._checked_keyframes(
            track.shapes, shape_type, track.label_id, f"{field}.shapes"
        )
        if shape_type != "skeleton" and track.elements:
            raise ValidationError("only skeleton tracks have elements", f"{field}.elements")
        track_id = self._next_id()
        shapes = self._with_ids(shapes)
        seen: set[int] = set()
        elements: list[SkeletonElementTrack] = []
        for j, element in enumerate(track.elements):
            where = f"{field}.elements[{j}]"
            element_type = element.shapes[0].type if element.shapes else "points"
            check_shape_type(element_type, f"{where}.shapes[0].type")
            self._check_element_label(element.label_id, element_type, track.label_id, seen, where)
            self._check_common(element, where)
            check_attributes(
                self.labels,
                element.label_id,
                element.attributes,
                f"{where}.attributes",
                "immutable",
            )
            element_shapes = self._checked_keyframes(
                element.shapes, element_type, element.label_id, f"{where}.shapes"
            )
            element_id = self._next_id()
            element_shapes = self._with_ids(element_shapes)
            start = track_start(element_shapes, ())
            elements.append(
                SkeletonElementTrack(
                    **{
                        **structs.asdict(element),
                        "id": element_id,
                        "shapes": element_shapes,
                        "frame": element.frame if start is None else start,
                    }
                )
            )
        start = track_start(shapes, elements)
        return structs.replace(
            track,
            id=track_id,
            shapes=shapes,
            elements=elements,
            frame=track.frame if start is None else start,
        )

    def _new_tag(self, tag: LabeledImage, field: str) -> LabeledImage:
        self._job_frames().check(tag.frame, f"{field}.frame")
        check_label(self.labels, tag.label_id, "tag", f"{field}.label_id")
        self._check_common(tag, field)
        check_attributes(self.labels, tag.label_id, tag.attributes, f"{field}.attributes")
        return structs.replace(tag, id=self._next_id())

    # --- deletion -------------------------------------------------------------------

    def _delete(self, command: DeleteObjects) -> None:
        kinds: tuple[tuple[Kind, str, list[int]], ...] = (
            ("shape", "shapes", command.shapes),
            ("track", "tracks", command.tracks),
            ("tag", "tags", command.tags),
        )
        for kind, name, ids in kinds:
            seen: set[int] = set()
            for i, object_id in enumerate(ids):
                if object_id in seen:
                    raise ValidationError(f"{kind} {object_id} is listed twice", f"{name}[{i}]")
                seen.add(object_id)
                self._existing(kind, object_id, f"{name}[{i}]")
        if command.shapes or command.tracks or command.tags:
            self._emit(
                ObjectsDeleted(
                    shapes=list(command.shapes),
                    tracks=list(command.tracks),
                    tags=list(command.tags),
                )
            )

    # --- property updates -----------------------------------------------------------

    def _update(self, command: UpdateObjects) -> None:
        shape_patches: list[ShapePatch] = []
        track_patches: list[TrackPatch] = []
        tag_patches: list[TagPatch] = []
        self._no_repeats("shapes", [p.id for p in command.shapes])
        self._no_repeats("tracks", [p.id for p in command.tracks])
        self._no_repeats("tags", [p.id for p in command.tags])
        for i, shape_patch in enumerate(command.shapes):
            shape = self._existing("shape", shape_patch.id, f"shapes[{i}].id")
            assert isinstance(shape, LabeledShape)
            diff = self._diff_shape(shape, shape_patch, f"shapes[{i}]")
            if diff is not None:
                shape_patches.append(diff)
        for i, update in enumerate(command.tracks):
            track = self._existing("track", update.id, f"tracks[{i}].id")
            assert isinstance(track, LabeledTrack)
            track_diff = self._diff_track(track, update, f"tracks[{i}]")
            if track_diff is not None:
                track_patches.append(track_diff)
        for i, tag_patch in enumerate(command.tags):
            tag = self._existing("tag", tag_patch.id, f"tags[{i}].id")
            assert isinstance(tag, LabeledImage)
            changes = self._common_changes(tag, tag_patch, "tag", f"tags[{i}]")
            changes.update(self._frame_change(tag, tag_patch, f"tags[{i}]"))
            if changes:
                tag_patches.append(TagPatch(id=tag_patch.id, **changes))
        if shape_patches or track_patches or tag_patches:
            self._emit(ObjectsUpdated(shapes=shape_patches, tracks=track_patches, tags=tag_patches))
        # Keyframes are diffed against the state after the property patch (a new label
        # clears keyframe attributes), hence the second pass.
        keyframe_changes = []
        for i, update in enumerate(command.tracks):
            patched = self.scratch.get(("track", update.id))
            assert isinstance(patched, LabeledTrack)
            change = self._keyframe_update(patched, update, f"tracks[{i}]")
            if change is not None:
                keyframe_changes.append(change)
        if keyframe_changes:
            self._emit(TrackKeyframesChanged(tracks=keyframe_changes))

    @staticmethod
    def _no_repeats(name: str, ids: list[int]) -> None:
        seen: set[int] = set()
        for i, object_id in enumerate(ids):
            if object_id in seen:
                raise ValidationError(f"id {object_id} is updated twice", f"{name}[{i}].id")
            seen.add(object_id)

    def _plain(
        self,
        current: Any,
        patch: Any,
        checks: dict[str, Callable[[Any, str], None] | None],
        field: str,
    ) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name, check in checks.items():
            value = getattr(patch, name)
            if not _given(value):
                continue
            if check is not None:
                check(value, f"{field}.{name}")
            if value != getattr(current, name):
                changes[name] = list(value) if isinstance(value, list) else value
        return changes

    def _attribute_changes(
        self,
        current: Any,
        attributes: list[AttributeVal] | UnsetType,
        field: str,
        mutability: Mutability,
    ) -> list[AttributeVal]:
        if isinstance(attributes, UnsetType):
            return []
        check_attributes(self.labels, current.label_id, attributes, field, mutability)
        values = {attr.spec_id: attr.value for attr in current.attributes}
        return [attr for attr in attributes if values.get(attr.spec_id) != attr.value]

    def _common_changes(
        self, current: Any, patch: Any, used_as: str, field: str, mutability: Mutability = "all"
    ) -> dict[str, Any]:
        """group, source, label_id and attributes, shared by shapes, tracks and tags."""
        changes = self._plain(current, patch, {"group": check_group, "source": check_source}, field)
        if _given(patch.label_id) and patch.label_id != current.label_id:
            if used_as == "skeleton":
                raise ValidationError("a skeleton's label cannot change", f"{field}.label_id")
            check_label(self.labels, patch.label_id, used_as, f"{field}.label_id")
            attributes = patch.attributes if _given(patch.attributes) else []
            check_attributes(
                self.labels, patch.label_id, attributes, f"{field}.attributes", mutability
            )
            changes["label_id"] = patch.label_id
            changes["attributes"] = list(attributes)
        else:
            changed = self._attribute_changes(
                current, patch.attributes, f"{field}.attributes", mutability
            )
            if changed:
                changes["attributes"] = changed
        return changes

    def _geometry_changes(
        self, current: Any, patch: Any, shape_type: str, field: str
    ) -> dict[str, Any]:
        def points(value: Any, where: str) -> None:
            check_points(shape_type, value, where)

        checks: dict[str, Callable[[Any, str], None] | None] = {
            "occluded": None,
            "outside": None,
            "z_order": None,
            "rotation": check_rotation,
            "points": points,
        }
        return self._plain(current, patch, checks, field)

    def _frame_change(self, current: Any, patch: Any, field: str) -> dict[str, Any]:
        """A shape or tag moved to another frame of the job."""
        if not _given(patch.frame) or patch.frame == current.frame:
            return {}
        outside = getattr(current, "outside", False)
        self._job_frames().check(patch.frame, f"{field}.frame", closing_keyframe=outside)
        return {"frame": patch.frame}

    def _diff_shape(self, shape: LabeledShape, patch: ShapePatch, field: str) -> ShapePatch | None:
        changes = self._common_changes(shape, patch, shape.type, field)
        changes.update(self._frame_change(shape, patch, field))
        changes.update(self._geometry_changes(shape, patch, shape.type, field))
        if _given(patch.elements):
            assert isinstance(patch.elements, list)
            by_id = {e.id: e for e in shape.elements}
            self._no_repeats(f"{field}.elements", [p.id for p in patch.elements])
            element_patches = []
            for j, element_patch in enumerate(patch.elements):
                where = f"{field}.elements[{j}]"
                element = by_id.get(element_patch.id)
                if element is None:
                    raise NotFound(f"shape {shape.id} has no element {element_patch.id}", where)
                element_changes = self._geometry_changes(
                    element, element_patch, element.type, where
                )
                attributes = self._attribute_changes(
                    element, element_patch.attributes, f"{where}.attributes", "all"
                )
                if attributes:
                    element_changes["attributes"] = attributes
                if element_changes:
                    element_patches.append(
                        ElementShapePatch(id=element_patch.id, **element_changes)
                    )
            if element_patches:
                changes["elements"] = element_patches
        return ShapePatch(id=patch.id, **changes) if changes else None

    @staticmethod
    def _track_type(track: LabeledTrack) -> str:
        if track.shapes:
            return track.shapes[0].type
        return "skeleton" if track.elements else "rectangle"

    def _diff_track(
        self, track: LabeledTrack, update: TrackUpdate, field: str
    ) -> TrackPatch | None:
        changes = self._common_changes(track, update, self._track_type(track), field, "immutable")
        if _given(update.elements):
            assert isinstance(update.elements, list)
            by_id = {e.id: e for e in track.elements}
            self._no_repeats(f"{field}.elements", [e.id for e in update.elements])
            element_patches = []
            for j, element_update in enumerate(update.elements):
                where = f"{field}.elements[{j}]"
                element = by_id.get(element_update.id)
                if element is None:
                    raise NotFound(f"track {track.id} has no element {element_update.id}", where)
                attributes = self._attribute_changes(
                    element, element_update.attributes, f"{where}.attributes", "immutable"
                )
                if attributes:
                    element_patches.append(
                        ElementTrackPatch(id=element_update.id, attributes=attributes)
                    )
            if element_patches:
                changes["elements"] = element_patches
        return TrackPatch(id=update.id, **changes) if changes else None

    # --- keyframes ------------------------------------------------------------------

    def _keyframe_diff(
        self,
        current: list[TrackedShape],
        desired: list[TrackedShape],
        shape_type: str,
        label_id: int,
        field: str,
        *,
        keep_one: bool,
    ) -> tuple[list[TrackedShape], list[int]]:
        if keep_one and not desired:
            raise ValidationError("a track keeps at least one keyframe", field)
        ordered = self._checked_keyframes(desired, shape_type, label_id, field)
        by_frame = {s.frame: s for s in current}
        upserted = [
            structs.replace(shape, id=self._next_id())
            for shape in ordered
            if (old := by_frame.get(shape.frame)) is None
            or structs.replace(shape, id=old.id) != old
        ]
        wanted = {s.frame for s in desired}
        return upserted, sorted(frame for frame in by_frame if frame not in wanted)

    def _element_type(self, element: SkeletonElementTrack, given: list[TrackedShape]) -> str:
        shapes = element.shapes or given
        return shapes[0].type if shapes else "points"

    def _keyframe_update(
        self, track: LabeledTrack, update: TrackUpdate, field: str
    ) -> TrackKeyframeChanges | None:
        upserted: list[TrackedShape] = []
        removed: list[int] = []
        if _given(update.shapes):
            assert isinstance(update.shapes, list)
            upserted, removed = self._keyframe_diff(
                track.shapes,
                update.shapes,
                self._track_type(track),
                track.label_id,
                f"{field}.shapes",
                keep_one=True,
            )
        element_changes: list[ElementKeyframeChanges] = []
        if _given(update.elements):
            assert isinstance(update.elements, list)
            by_id = {e.id: e for e in track.elements}
            for j, element_update in enumerate(update.elements):
                element = by_id[element_update.id]  # existence checked in _diff_track
                element_change = self._element_keyframes(element, element_update, field, j)
                if element_change is not None:
                    element_changes.append(element_change)
        if not (upserted or removed or element_changes):
            return None
        return TrackKeyframeChanges(
            track_id=update.id, upserted=upserted, removed_frames=removed, elements=element_changes
        )

    def _element_keyframes(
        self, element: SkeletonElementTrack, update: ElementTrackUpdate, field: str, j: int
    ) -> ElementKeyframeChanges | None:
        if not _given(update.shapes):
            return None
        assert isinstance(update.shapes, list)
        upserted, removed = self._keyframe_diff(
            element.shapes,
            update.shapes,
            self._element_type(element, update.shapes),
            element.label_id,
            f"{field}.elements[{j}].shapes",
            keep_one=False,
        )
        if not (upserted or removed):
            return None
        return ElementKeyframeChanges(
            element_id=update.id, upserted=upserted, removed_frames=removed
        )

    def _set_keyframe(self, command: SetKeyframe) -> None:
        track = self._existing("track", command.track_id, "track_id")
        assert isinstance(track, LabeledTrack)
        if command.shape is None and not command.elements:
            raise ValidationError("give a keyframe shape or element keyframes", "shape")
        upserted: list[TrackedShape] = []
        if command.shape is not None:
            self._check_keyframe(command.shape, self._track_type(track), track.label_id, "shape")
            upserted = [structs.replace(command.shape, id=self._next_id())]
        by_id = {e.id: e for e in track.elements}
        grouped: dict[int, list[TrackedShape]] = {}
        for j, item in enumerate(command.elements):
            where = f"elements[{j}]"
            element = by_id.get(item.element_id)
            if element is None:
                raise NotFound(
                    f"track {track.id} has no element {item.element_id}", f"{where}.element_id"
                )
            shape_type = self._element_type(element, [item.shape])
            self._check_keyframe(item.shape, shape_type, element.label_id, f"{where}.shape")
            check_label(
                self.labels,
                element.label_id,
                item.shape.type,
                f"{where}.shape.type",
                parent_label=track.label_id,
            )
            frames = grouped.setdefault(item.element_id, [])
            if any(s.frame == item.shape.frame for s in frames):
                raise ValidationError("two keyframes for one element and frame", where)
            frames.append(structs.replace(item.shape, id=self._next_id()))
        change = TrackKeyframeChanges(
            track_id=command.track_id,
            upserted=upserted,
            elements=[
                ElementKeyframeChanges(element_id=element_id, upserted=shapes)
                for element_id, shapes in grouped.items()
            ],
        )
        self._emit(TrackKeyframesChanged(tracks=[change]))

    def _delete_keyframe(self, command: DeleteKeyframe) -> None:
        track = self._existing("track", command.track_id, "track_id")
        assert isinstance(track, LabeledTrack)
        frame = command.frame
        own = any(s.frame == frame for s in track.shapes)
        elements = [
            ElementKeyframeChanges(element_id=e.id, removed_frames=[frame])
            for e in track.elements
            if e.id is not None and any(s.frame == frame for s in e.shapes)
        ]
        if not own and not elements:
            raise NotFound(f"track {track.id} has no keyframe at frame {frame}", "frame")
        if own and len(track.shapes) == 1:
            raise ValidationError(
                "a track keeps at least one keyframe; delete the track instead", "frame"
            )
        change = TrackKeyframeChanges(
            track_id=command.track_id, removed_frames=[frame] if own else [], elements=elements
        )
        self._emit(TrackKeyframesChanged(tracks=[change]))
