// CVAT's annotation JSON as the server sends it (snapshot, events, REST), with the field
// names of backend/domain/objects.py. Objects are treated as immutable: a change replaces
// the object, so views can share them and compare by identity.

export type ShapeType =
  | "rectangle"
  | "polygon"
  | "polyline"
  | "points"
  | "ellipse"
  | "cuboid"
  | "mask"
  | "skeleton";

export interface AttributeVal {
  spec_id: number;
  value: string;
}

export interface ShapeFields {
  type: ShapeType;
  occluded: boolean;
  outside: boolean;
  z_order: number;
  rotation: number;
  points: number[];
}

export interface ElementShape extends ShapeFields {
  id: number;
  frame: number;
  label_id: number;
  group: number | null;
  source: string;
  attributes: AttributeVal[];
}

export interface Shape extends ElementShape {
  elements: ElementShape[];
}

export interface TrackedShape extends ShapeFields {
  id: number;
  frame: number;
  attributes: AttributeVal[];
}

export interface ElementTrack {
  id: number;
  frame: number;
  label_id: number;
  group: number | null;
  source: string;
  shapes: TrackedShape[];
  attributes: AttributeVal[];
}

export interface Track extends ElementTrack {
  elements: ElementTrack[];
}

export interface Tag {
  id: number;
  frame: number;
  label_id: number;
  group: number | null;
  source: string;
  attributes: AttributeVal[];
}

export type Kind = "shape" | "track" | "tag";

export interface LabeledData {
  version?: number;
  shapes: Shape[];
  tracks: Track[];
  tags: Tag[];
}

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

// --- labels (GET /api/labels) -------------------------------------------------------------

export interface AttributeSpec {
  id: number;
  name: string;
  mutable: boolean;
  input_type: "select" | "radio" | "checkbox" | "number" | "text" | string;
  values: string[];
  default_value: string;
}

export interface Label {
  id: number;
  name: string;
  color: string;
  type: string; // any | rectangle | ... | skeleton | tag
  svg: string;
  attributes: AttributeSpec[];
  sublabels: Label[];
  parent_id: number | null;
}
