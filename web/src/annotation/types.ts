// CVAT's annotation JSON as the REST API (`/api/jobs/{id}/annotations`) and the realtime
// snapshot send it, with the names of backend/domain/objects.py (CVAT's serializer names).
// Objects are treated as immutable: a change replaces the object (and a track's `shapes`
// array), which is what lets interpolation cache per track.

export const SHAPE_TYPES = [
  "rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton",
] as const;
export type ShapeType = (typeof SHAPE_TYPES)[number];

export type Source = "manual" | "semi-auto" | "auto" | "file" | "consensus";

export interface AttributeVal {
  spec_id: number;
  value: string;
}

export interface ShapeFields {
  type: ShapeType;
  occluded: boolean;
  outside: boolean;
  z_order: number;
  /** Degrees, clockwise; rectangles and ellipses only. */
  rotation: number;
  /**
   * rectangle: x1 y1 x2 y2; ellipse: centre x y, then a corner; cuboid: 8 points;
   * polygon/polyline/points: x y pairs; mask: RLE run lengths, then left top right bottom
   * (inclusive); skeleton: empty (its points are its elements).
   */
  points: number[];
}

/** A point of a skeleton shape (CVAT's SubLabeledShape). */
export interface SkeletonElementShape extends ShapeFields {
  id?: number | null;
  frame: number;
  label_id: number;
  group?: number | null;
  source?: Source;
  attributes: AttributeVal[];
}

export interface LabeledShape extends SkeletonElementShape {
  elements?: SkeletonElementShape[];
}

/** A keyframe of a track; its attributes are the label's mutable ones. */
export interface TrackedShape extends ShapeFields {
  id?: number | null;
  frame: number;
  attributes: AttributeVal[];
}

/** A point of a skeleton track (CVAT's SubLabeledTrack), with keyframes of its own. */
export interface SkeletonElementTrack {
  id?: number | null;
  /** The track's first frame (its first keyframe's, as CVAT keeps it). */
  frame: number;
  label_id: number;
  group?: number | null;
  source?: Source;
  shapes: TrackedShape[];
  /** Immutable attributes (mutable ones live on the keyframes). */
  attributes: AttributeVal[];
}

export interface LabeledTrack extends SkeletonElementTrack {
  elements?: SkeletonElementTrack[];
}

/** A tag: a label on a whole frame. */
export interface LabeledImage {
  id?: number | null;
  frame: number;
  label_id: number;
  group?: number | null;
  source?: Source;
  attributes: AttributeVal[];
}

/** A job's (or task's) annotations: CVAT's LabeledData. */
export interface LabeledData {
  version?: number;
  tags: LabeledImage[];
  shapes: LabeledShape[];
  tracks: LabeledTrack[];
}

/** A track's shape on one frame, as interpolation returns it. */
export interface InterpolatedShape {
  readonly type: ShapeType;
  readonly occluded: boolean;
  /** True on an outside keyframe and on the frames after one (until the next keyframe). */
  readonly outside: boolean;
  readonly z_order: number;
  readonly rotation: number;
  /** Shared with the keyframe where nothing moved: never mutate. */
  readonly points: readonly number[];
  /** The id of the keyframe this shape comes from. */
  readonly id: number | null;
  readonly frame: number;
  /** Mutable attributes: the keyframe's own, then those carried from earlier keyframes. */
  readonly attributes: readonly AttributeVal[];
  /** Whether a user set this frame (a keyframe) rather than it being interpolated. */
  readonly keyframe: boolean;
  /** A skeleton's points on this frame, in the track's element order; [] otherwise. */
  readonly elements: readonly InterpolatedElement[];
}

/** A skeleton point on one frame: an interpolated shape of its element track. */
export interface InterpolatedElement extends InterpolatedShape {
  readonly label_id: number;
}
