// The client's copy of backend/domain/apply.py: how an event changes a job's objects.
// Objects are replaced, never mutated; maps are copied on write by the caller (JobState).
import type {
  LabeledImage,
  LabeledShape,
  LabeledTrack,
  SkeletonElementTrack,
} from "../../annotation/types";
import type {
  AttributeVal,
  ElementShape,
  ElementTrack,
  JobEvent,
  KeyframeChanges,
  LabeledData,
  Shape,
  ShapePatch,
  Tag,
  TagPatch,
  Track,
  TrackedShape,
  TrackKeyframeChanges,
  TrackPatch,
} from "./types";

export interface JobState {
  revision: number;
  shapes: Map<number, Shape>;
  tracks: Map<number, Track>;
  tags: Map<number, Tag>;
}

export function emptyState(revision = -1): JobState {
  return { revision, shapes: new Map(), tracks: new Map(), tags: new Map() };
}

export function stateFromData(revision: number, data: LabeledData): JobState {
  const state = emptyState(revision);
  for (const s of (data.shapes ?? []).map(normShape)) state.shapes.set(s.id, s);
  for (const t of (data.tracks ?? []).map(normTrack)) state.tracks.set(t.id, t);
  for (const t of (data.tags ?? []).map(normTag)) state.tags.set(t.id, t);
  return state;
}

export function toData(state: JobState): LabeledData {
  return {
    version: Math.max(state.revision, 0),
    shapes: [...state.shapes.values()],
    tracks: [...state.tracks.values()],
    tags: [...state.tags.values()],
  };
}

// Fill CVAT's defaults so the rest of the UI can rely on every field being there. Objects
// come as the server sends them (the shared annotation types: ids the server gave, or a
// client's temporary ones).
type Wire<T> = Partial<T> & { id?: number | null };

function normShapeFields<T extends object>(s: T) {
  return {
    occluded: false,
    outside: false,
    z_order: 0,
    rotation: 0,
    points: [] as number[],
    attributes: [] as AttributeVal[],
    group: 0,
    source: "manual",
    ...s,
  };
}

export function normShape(s: Wire<LabeledShape>): Shape {
  const frame = s.frame ?? 0;
  return {
    ...normShapeFields(s),
    elements: (s.elements ?? []).map((e) => normShapeFields({ ...e, frame }) as ElementShape),
  } as Shape;
}

function normTracked(s: Partial<TrackedShape>): TrackedShape {
  const { label_id: _l, group: _g, source: _s, ...rest } = normShapeFields(s) as Record<
    string,
    unknown
  >;
  return rest as unknown as TrackedShape;
}

function normElementTrack(t: Wire<SkeletonElementTrack>): ElementTrack {
  return {
    group: 0,
    source: "manual",
    attributes: [],
    ...t,
    shapes: [...(t.shapes ?? [])].map(normTracked).sort((a, b) => a.frame - b.frame),
  } as ElementTrack;
}

export function normTrack(t: Wire<LabeledTrack>): Track {
  return { ...normElementTrack(t), elements: (t.elements ?? []).map(normElementTrack) } as Track;
}

export function normTag(t: Wire<LabeledImage>): Tag {
  return { group: 0, source: "manual", attributes: [], ...t } as Tag;
}

/** An event as the socket or the history API delivers it (`data` tagged by type). */
export function decodeEvent(eventType: string, data: unknown): JobEvent {
  const d = (data ?? {}) as Record<string, unknown>;
  switch (eventType) {
    case "ObjectsCreated":
    case "AnnotationsReplaced":
      return {
        type: eventType,
        shapes: ((d.shapes as Shape[]) ?? []).map(normShape),
        tracks: ((d.tracks as Track[]) ?? []).map(normTrack),
        tags: ((d.tags as Tag[]) ?? []).map(normTag),
      };
    case "AnnotationsCleared":
      return { type: eventType };
    case "ObjectsUpdated":
      return {
        type: eventType,
        shapes: (d.shapes as ShapePatch[]) ?? [],
        tracks: (d.tracks as TrackPatch[]) ?? [],
        tags: (d.tags as TagPatch[]) ?? [],
      };
    case "TrackKeyframesChanged":
      return {
        type: eventType,
        tracks: ((d.tracks as TrackKeyframeChanges[]) ?? []).map((c) => ({
          track_id: c.track_id,
          upserted: (c.upserted ?? []).map(normTracked),
          removed_frames: c.removed_frames ?? [],
          elements: (c.elements ?? []).map((e) => ({
            element_id: e.element_id,
            upserted: (e.upserted ?? []).map(normTracked),
            removed_frames: e.removed_frames ?? [],
          })),
        })),
      };
    case "ObjectsDeleted":
      return {
        type: eventType,
        shapes: (d.shapes as number[]) ?? [],
        tracks: (d.tracks as number[]) ?? [],
        tags: (d.tags as number[]) ?? [],
      };
    default:
      return { type: "Foreign", name: eventType, data };
  }
}

export function mergeAttributes(current: AttributeVal[], updates: AttributeVal[]): AttributeVal[] {
  if (!updates.length) return current;
  const bySpec = new Map(current.map((a) => [a.spec_id, a]));
  for (const a of updates) bySpec.set(a.spec_id, a);
  return [...bySpec.values()];
}

const SHAPE_FIELDS = [
  "frame", "group", "source", "occluded", "outside", "z_order", "rotation", "points",
] as const; // prettier-ignore
const ELEMENT_FIELDS = ["occluded", "outside", "z_order", "rotation", "points"] as const;

function plain(patch: object, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const p = patch as Record<string, unknown>;
  for (const n of names) if (p[n] !== undefined) out[n] = p[n];
  return out;
}

function labelAndAttributes(
  obj: { label_id: number; attributes: AttributeVal[] },
  patch: { label_id?: number; attributes?: AttributeVal[] },
  changes: Record<string, unknown>,
): void {
  if (patch.label_id !== undefined && patch.label_id !== obj.label_id) {
    changes.label_id = patch.label_id;
    // A new label voids the old label's attributes: the patch brings the full list.
    changes.attributes = patch.attributes ?? [];
  } else if (patch.attributes !== undefined) {
    changes.attributes = mergeAttributes(obj.attributes, patch.attributes);
  }
}

export function patchShape(shape: Shape, patch: ShapePatch): Shape {
  const changes = plain(patch, SHAPE_FIELDS);
  labelAndAttributes(shape, patch, changes);
  let elements = shape.elements;
  if (patch.elements?.length) {
    const byId = new Map(patch.elements.map((p) => [p.id, p]));
    elements = elements.map((e) => {
      const p = byId.get(e.id);
      if (!p) return e;
      const c = plain(p, ELEMENT_FIELDS);
      if (p.attributes !== undefined) c.attributes = mergeAttributes(e.attributes, p.attributes);
      return { ...e, ...c };
    });
  }
  if (changes.frame !== undefined) {
    const frame = changes.frame as number;
    elements = elements.map((e) => ({ ...e, frame }));
  }
  return { ...shape, ...changes, elements };
}

export function patchTrack(track: Track, patch: TrackPatch): Track {
  const changes = plain(patch, ["group", "source"]);
  labelAndAttributes(track, patch, changes);
  if (changes.label_id !== undefined) {
    changes.shapes = track.shapes.map((s) => ({ ...s, attributes: [] }));
  }
  if (patch.elements?.length) {
    const byId = new Map(patch.elements.map((p) => [p.id, p]));
    changes.elements = track.elements.map((e) => {
      const p = byId.get(e.id);
      return p?.attributes !== undefined
        ? { ...e, attributes: mergeAttributes(e.attributes, p.attributes) }
        : e;
    });
  }
  return { ...track, ...changes };
}

export function patchTag(tag: Tag, patch: TagPatch): Tag {
  const changes = plain(patch, ["frame", "group", "source"]);
  labelAndAttributes(tag, patch, changes);
  return { ...tag, ...changes };
}

export function mergeKeyframes(shapes: TrackedShape[], change: KeyframeChanges): TrackedShape[] {
  const byFrame = new Map(shapes.map((s) => [s.frame, s]));
  for (const f of change.removed_frames) byFrame.delete(f);
  for (const s of change.upserted) byFrame.set(s.frame, s);
  return [...byFrame.values()].sort((a, b) => a.frame - b.frame);
}

function trackStart(shapes: TrackedShape[], elements: ElementTrack[]): number | undefined {
  const frames = [...shapes.slice(0, 1), ...elements.flatMap((e) => e.shapes.slice(0, 1))].map(
    (s) => s.frame,
  );
  return frames.length ? Math.min(...frames) : undefined;
}

export function changeKeyframes(track: Track, change: TrackKeyframeChanges): Track {
  const shapes = mergeKeyframes(track.shapes, change);
  let elements = track.elements;
  if (change.elements.length) {
    const byId = new Map(change.elements.map((c) => [c.element_id, c]));
    elements = elements.map((e) => {
      const c = byId.get(e.id);
      if (!c) return e;
      const es = mergeKeyframes(e.shapes, c);
      return { ...e, shapes: es, frame: trackStart(es, []) ?? e.frame };
    });
  }
  return { ...track, shapes, elements, frame: trackStart(shapes, elements) ?? track.frame };
}

/** A new state with `event` applied (maps copied only when they change). */
export function applyEvent(state: JobState, event: JobEvent, revision?: number): JobState {
  const next: JobState = { ...state, revision: revision ?? state.revision };
  switch (event.type) {
    case "AnnotationsCleared":
      next.shapes = new Map();
      next.tracks = new Map();
      next.tags = new Map();
      break;
    case "AnnotationsReplaced":
    case "ObjectsCreated": {
      const reset = event.type === "AnnotationsReplaced";
      next.shapes = reset ? new Map() : event.shapes.length ? new Map(next.shapes) : next.shapes;
      next.tracks = reset ? new Map() : event.tracks.length ? new Map(next.tracks) : next.tracks;
      next.tags = reset ? new Map() : event.tags.length ? new Map(next.tags) : next.tags;
      for (const s of event.shapes) next.shapes.set(s.id, s);
      for (const t of event.tracks) next.tracks.set(t.id, t);
      for (const t of event.tags) next.tags.set(t.id, t);
      break;
    }
    case "ObjectsUpdated":
      next.shapes = patched(next.shapes, event.shapes, patchShape);
      next.tracks = patched(next.tracks, event.tracks, patchTrack);
      next.tags = patched(next.tags, event.tags, patchTag);
      break;
    case "TrackKeyframesChanged":
      next.tracks = patched(
        next.tracks,
        event.tracks.map((c) => ({ ...c, id: c.track_id })),
        changeKeyframes,
      );
      break;
    case "ObjectsDeleted":
      next.shapes = removed(next.shapes, event.shapes);
      next.tracks = removed(next.tracks, event.tracks);
      next.tags = removed(next.tags, event.tags);
      break;
    case "Foreign":
      break;
  }
  return next;
}

function patched<T, P extends { id: number }>(
  map: Map<number, T>,
  patches: P[],
  fn: (obj: T, patch: P) => T,
): Map<number, T> {
  if (!patches.length) return map;
  const out = new Map(map);
  // Patches for absent objects are skipped, as the server's replay does.
  for (const p of patches) {
    const cur = out.get(p.id);
    if (cur !== undefined) out.set(p.id, fn(cur, p));
  }
  return out;
}

function removed<T>(map: Map<number, T>, ids: number[]): Map<number, T> {
  if (!ids.length) return map;
  const out = new Map(map);
  for (const id of ids) out.delete(id);
  return out;
}
