// What is on one frame: shapes of that frame and the state of tracks there, flattened into
// SceneObjects that the renderer draws and hit-tests. Memoised per (state, frame): states
// are immutable, so a new state object means something changed.
import type { JobState } from "../model/apply";
import type { AttributeVal, ShapeType, Track } from "../model/types";
import { shapeAt } from "../../annotation/interpolation";

export interface SceneElement {
  id: number;
  labelId: number;
  points: number[];
  outside: boolean;
  occluded: boolean;
}

export interface SceneObject {
  key: string; // "shape:12", "track:5", "tag:3"
  kind: "shape" | "track" | "tag";
  id: number;
  labelId: number;
  type: ShapeType | "tag";
  points: number[];
  rotation: number;
  occluded: boolean;
  outside: boolean;
  zOrder: number;
  group: number;
  source: string;
  /** Tracks: this frame holds a keyframe; `interpolated`: shown between keyframes. */
  keyframe: boolean;
  interpolated: boolean;
  attributes: AttributeVal[];
  /** Track keyframe attributes (mutable ones) at this frame. */
  shapeAttributes: AttributeVal[];
  elements: SceneElement[];
}

export const keyOf = (kind: string, id: number) => `${kind}:${id}`;

const cache = new WeakMap<JobState, Map<number, SceneObject[]>>();
// Shapes and tags by frame, per map (a new map when they change): a frame's objects without
// a pass over the whole job, so seeking through frames stays cheap with 50,000 objects.
const byFrame = new WeakMap<Map<number, { frame: number }>, Map<number, unknown[]>>();

function onFrame<T extends { frame: number }>(objects: Map<number, T>, frame: number): T[] {
  let index = byFrame.get(objects) as Map<number, T[]> | undefined;
  if (!index) {
    index = new Map();
    for (const o of objects.values()) {
      const list = index.get(o.frame);
      if (list) list.push(o);
      else index.set(o.frame, [o]);
    }
    byFrame.set(objects, index as Map<number, unknown[]>);
  }
  return index.get(frame) ?? [];
}

export function frameObjects(state: JobState, frame: number): SceneObject[] {
  let frames = cache.get(state);
  if (!frames) {
    frames = new Map();
    cache.set(state, frames);
  }
  const hit = frames.get(frame);
  if (hit) return hit;
  const out: SceneObject[] = [];
  for (const s of onFrame(state.shapes, frame)) {
    out.push({
      key: keyOf("shape", s.id), kind: "shape", id: s.id, labelId: s.label_id, type: s.type,
      points: s.points, rotation: s.rotation, occluded: s.occluded, outside: s.outside,
      zOrder: s.z_order, group: s.group ?? 0, source: s.source, keyframe: false, interpolated: false,
      attributes: s.attributes, shapeAttributes: [],
      elements: s.elements.map((e) => ({ id: e.id, labelId: e.label_id, points: e.points, outside: e.outside, occluded: e.occluded })),
    }); // prettier-ignore
  }
  for (const t of state.tracks.values()) {
    const o = trackObject(t, frame);
    if (o) out.push(o);
  }
  for (const t of onFrame(state.tags, frame)) {
    out.push({
      key: keyOf("tag", t.id), kind: "tag", id: t.id, labelId: t.label_id, type: "tag", points: [],
      rotation: 0, occluded: false, outside: false, zOrder: 0, group: t.group ?? 0, source: t.source,
      keyframe: false, interpolated: false, attributes: t.attributes, shapeAttributes: [], elements: [],
    }); // prettier-ignore
  }
  out.sort((a, b) => a.zOrder - b.zOrder || a.id - b.id);
  frames.set(frame, out);
  return out;
}

function trackObject(t: Track, frame: number): SceneObject | null {
  // The shared interpolation (held to the server's golden fixtures) is the only place that
  // knows where a track is between keyframes.
  const at = shapeAt(t, frame);
  if (!at) return null;
  // A skeleton's points are its element tracks', in the track's element order.
  const elements: SceneElement[] = at.elements.map((e, i) => ({
    id: t.elements[i]?.id ?? 0, labelId: e.label_id, points: e.points as number[], outside: e.outside, occluded: e.occluded,
  })); // prettier-ignore
  const skeletonOutside = at.type === "skeleton" && elements.length > 0 && elements.every((e) => e.outside);
  return {
    key: keyOf("track", t.id), kind: "track", id: t.id, labelId: t.label_id, type: at.type as ShapeType,
    points: at.points as number[], rotation: at.rotation, occluded: at.occluded,
    outside: at.outside || skeletonOutside, zOrder: at.z_order, group: t.group ?? 0, source: t.source,
    keyframe: at.keyframe, interpolated: !at.keyframe, attributes: t.attributes,
    shapeAttributes: at.attributes as AttributeVal[], elements,
  }; // prettier-ignore
}
