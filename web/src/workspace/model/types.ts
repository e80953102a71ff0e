// CVAT's annotation JSON as the workspace holds it. The object types are the shared ones
// (web/src/annotation/types.ts, which interpolation reads); the store numbers every object
// and fills CVAT's defaults (apply.ts), so here ids, groups, sources and skeleton lists are
// always there. Objects are immutable: a change replaces the object (and a track's
// `shapes` array, which interpolation's cache relies on).
import type {
  AttributeVal,
  LabeledImage,
  LabeledShape,
  LabeledTrack,
  SkeletonElementShape,
  SkeletonElementTrack,
  Source,
  TrackedShape,
} from "../../annotation/types";

export type {
  AttributeVal,
  LabeledData,
  ShapeFields,
  ShapeType,
  Source,
  TrackedShape,
} from "../../annotation/types";

/** What the store guarantees of every object it holds. */
interface Held {
  id: number;
  group: number | null;
  source: Source;
}

type Numbered<T> = Omit<T, keyof Held> & Held;

export type ElementShape = Numbered<SkeletonElementShape>;
export type Shape = Numbered<Omit<LabeledShape, "elements">> & { elements: ElementShape[] };
export type ElementTrack = Numbered<SkeletonElementTrack>;
export type Track = Numbered<Omit<LabeledTrack, "elements">> & { elements: ElementTrack[] };
export type Tag = Numbered<LabeledImage>;

export type Kind = "shape" | "track" | "tag";

// --- events (backend/domain/events.py) --------------------------------------------------

/** Property-level patches: an absent field is untouched. */
export interface ElementShapePatch {
  id: number;
  occluded?: boolean;
  outside?: boolean;
  z_order?: number;
  rotation?: number;
  points?: number[];
  attributes?: AttributeVal[];
}

export interface ShapePatch extends ElementShapePatch {
  frame?: number;
  label_id?: number;
  group?: number | null;
  source?: string;
  elements?: ElementShapePatch[];
}

export interface TrackPatch {
  id: number;
  label_id?: number;
  group?: number | null;
  source?: string;
  attributes?: AttributeVal[];
  elements?: { id: number; attributes?: AttributeVal[] }[];
}

export interface TagPatch {
  id: number;
  frame?: number;
  label_id?: number;
  group?: number | null;
  source?: string;
  attributes?: AttributeVal[];
}

export interface KeyframeChanges {
  upserted: TrackedShape[];
  removed_frames: number[];
}

export interface TrackKeyframeChanges extends KeyframeChanges {
  track_id: number;
  elements: (KeyframeChanges & { element_id: number })[];
}

export type JobEvent =
  | { type: "ObjectsCreated"; shapes: Shape[]; tracks: Track[]; tags: Tag[] }
  | { type: "AnnotationsReplaced"; shapes: Shape[]; tracks: Track[]; tags: Tag[] }
  | { type: "AnnotationsCleared" }
  | { type: "ObjectsUpdated"; shapes: ShapePatch[]; tracks: TrackPatch[]; tags: TagPatch[] }
  | { type: "TrackKeyframesChanged"; tracks: TrackKeyframeChanges[] }
  | { type: "ObjectsDeleted"; shapes: number[]; tracks: number[]; tags: number[] }
  | { type: "Foreign"; name: string; data: unknown };

// --- labels (GET /api/labels): the API layer's types, one definition for the whole UI ------

export type { Attribute as AttributeSpec, Label } from "../../api/types";
