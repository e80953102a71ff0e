// Track interpolation: a port of backend/domain/interpolation.py (itself CVAT's
// TrackManager.get_interpolated_shapes), checked against the same golden fixtures
// (tests/fixtures/interpolation). The arithmetic follows the Python step by step, in the
// same order, so both give the same doubles; keep it that way when changing either.
//
// Rectangles, ellipses, cuboids and skeleton bodies move linearly and turn along the shorter
// arc; a single point moves linearly, several points are copied; polygons and polylines use
// CVAT's polyshape matching and reduction; masks are copied. Mutable attributes carry over
// to later keyframes that do not set them. After an outside keyframe the track is outside
// until its next keyframe.
//
// A frame's shape depends only on the keyframes around it, so both entry points compute
// frame by frame: `shapeAt` finds the keyframes by binary search. Per track, the sorted
// keyframes (with carried attributes) and the polyshape matchings are cached, keyed by the
// track object and checked against its `shapes` array: replace the array to change keyframes
// (the project's objects are immutable), never edit it in place.

import type {
  AttributeVal,
  InterpolatedElement,
  InterpolatedShape,
  TrackedShape,
} from "./types";

/** What interpolation reads of a track: a LabeledTrack, a skeleton element's track. */
export interface KeyframedTrack {
  readonly frame: number;
  readonly label_id: number;
  readonly shapes: readonly TrackedShape[];
  readonly elements?: readonly KeyframedTrack[];
}

export interface InterpolateOptions {
  /** Only these frames (a ground-truth job's frame set); all frames when absent. */
  includedFrames?: Iterable<number> | null;
  /** Also the outside frames between an outside keyframe and the next (default false). */
  includeOutside?: boolean;
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * The track's shape on `frame`, outside ones included; null before the track starts.
 * Skeletons come with their points (`elements`) on that frame.
 */
export function shapeAt(track: KeyframedTrack, frame: number): InterpolatedShape | null {
  const shape = keyframeAt(keyframesOf(track, null), track.frame, frame);
  if (shape === null || !track.elements?.length) return shape;
  return withElements(shape, track.elements);
}

/**
 * The track's shapes on startFrame..stopFrame (inclusive), in frame order: the visible ones
 * and the outside keyframes that end a visible run, or with `includeOutside` every frame
 * from the track's start. A skeleton whose points are all outside is left out unless
 * `includeOutside` (as CVAT's to_shapes does). The same as Python's `interpolate`.
 */
export function interpolateTrack(
  track: KeyframedTrack,
  startFrame: number,
  stopFrame: number,
  options: InterpolateOptions = {},
): InterpolatedShape[] {
  const includeOutside = options.includeOutside ?? false;
  const keyframes = keyframesOf(track, null);
  const result: InterpolatedShape[] = [];
  if (keyframes.frames.length === 0) return result;
  const first = Math.max(track.frame, startFrame, keyframes.frames[0]);
  const elements = track.elements?.length ? track.elements : null;
  for (const frame of framesBetween(first, stopFrame, options.includedFrames)) {
    let shape = keyframeAt(keyframes, track.frame, frame);
    if (shape === null || !(shape.keyframe || !shape.outside || includeOutside)) continue;
    if (elements !== null) {
      shape = withElements(shape, elements);
      if (!includeOutside && shape.elements.length && shape.elements.every((e) => e.outside)) {
        continue;
      }
    }
    result.push(shape);
  }
  return result;
}

/** Whether a shape is drawn: not outside, and a skeleton not with every point outside. */
export function isVisible(shape: InterpolatedShape): boolean {
  return !shape.outside && !(shape.elements.length && shape.elements.every((e) => e.outside));
}

function* framesBetween(
  first: number,
  stop: number,
  included: Iterable<number> | null | undefined,
): Generator<number> {
  if (included == null) {
    for (let frame = first; frame <= stop; frame++) yield frame;
    return;
  }
  const frames = [...new Set(included)].filter((f) => first <= f && f <= stop);
  yield* frames.sort((a, b) => a - b);
}

function withElements(
  shape: InterpolatedShape,
  elements: readonly KeyframedTrack[],
): InterpolatedShape {
  const points: InterpolatedElement[] = [];
  for (const element of elements) {
    const point = keyframeAt(keyframesOf(element, element.label_id), element.frame, shape.frame);
    if (point !== null) points.push(point as InterpolatedElement);
  }
  return { ...shape, elements: points };
}

// --- keyframes ----------------------------------------------------------------------------

interface PolyMatch {
  left: Float64Array; // x y pairs (a polygon's outline closed by its first point)
  right: Float64Array;
  count: number; // left points
  matching: number[][]; // left point -> the right points it goes to, ascending
  first: Int32Array; // left point -> index of its first interpolated point
  total: number; // interpolated points
}

interface Keyframes {
  source: readonly TrackedShape[]; // the array these were made from, and its length then
  count: number;
  labelId: number | null;
  frames: number[]; // ascending, one keyframe a frame
  shapes: InterpolatedShape[]; // with carried attributes (and label_id on skeleton points)
  poly: (PolyMatch | null | undefined)[]; // per segment, computed on first use
}

const cache = new WeakMap<object, Keyframes>();

function keyframesOf(track: KeyframedTrack, labelId: number | null): Keyframes {
  const hit = cache.get(track);
  if (
    hit !== undefined &&
    hit.source === track.shapes &&
    hit.count === track.shapes.length &&
    hit.labelId === labelId
  ) {
    return hit;
  }
  const made = makeKeyframes(track.shapes, labelId);
  cache.set(track, made);
  return made;
}

function makeKeyframes(source: readonly TrackedShape[], labelId: number | null): Keyframes {
  const sorted = [...source].sort((a, b) => a.frame - b.frame); // stable, as Python's sort
  const frames: number[] = [];
  const shapes: InterpolatedShape[] = [];
  let prev: InterpolatedShape | null = null;
  for (const keyframe of sorted) {
    // A duplicated keyframe (old data): the first one wins.
    if (prev !== null && keyframe.frame <= prev.frame) continue;
    const own = keyframe.attributes;
    const attributes = prev === null ? own : carry(prev.attributes, own);
    const shape: InterpolatedShape = {
      type: keyframe.type,
      occluded: keyframe.occluded,
      outside: keyframe.outside,
      z_order: keyframe.z_order,
      rotation: keyframe.rotation,
      points: keyframe.points,
      id: keyframe.id ?? null,
      frame: keyframe.frame,
      attributes,
      keyframe: true,
      elements: NONE,
    };
    prev = labelId === null ? shape : ({ ...shape, label_id: labelId } as InterpolatedElement);
    frames.push(keyframe.frame);
    shapes.push(prev);
  }
  return { source, count: source.length, labelId, frames, shapes, poly: [] };
}

function carry(
  previous: readonly AttributeVal[],
  current: readonly AttributeVal[],
): AttributeVal[] {
  const given = new Set(current.map((a) => a.spec_id));
  return [...current, ...previous.filter((a) => !given.has(a.spec_id))];
}

/** Index of the last keyframe at or before `frame`, or -1. */
function lastAtOrBefore(frames: readonly number[], frame: number): number {
  let low = 0;
  let high = frames.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (frames[middle] <= frame) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

function keyframeAt(
  keyframes: Keyframes,
  trackFrame: number,
  frame: number,
): InterpolatedShape | null {
  if (frame < trackFrame) return null;
  const i = lastAtOrBefore(keyframes.frames, frame);
  if (i < 0) return null;
  const shape0 = keyframes.shapes[i];
  if (shape0.frame === frame) return shape0;
  if (i + 1 === keyframes.shapes.length) return copy(shape0, frame); // propagated
  return between(keyframes, i, frame);
}

function copy(
  source: InterpolatedShape,
  frame: number,
  points: readonly number[] = source.points,
  rotation: number = source.rotation,
): InterpolatedShape {
  return { ...source, frame, keyframe: false, points, rotation };
}

// --- between two keyframes (Python's _between) --------------------------------------------

function between(keyframes: Keyframes, i: number, frame: number): InterpolatedShape {
  const shape0 = keyframes.shapes[i];
  const shape1 = keyframes.shapes[i + 1];
  const kind = shape0.type;
  if (kind !== shape1.type || kind === "mask") return copy(shape0, frame);
  switch (kind) {
    case "rectangle":
    case "ellipse":
    case "cuboid":
    case "skeleton":
      return linear(shape0, shape1, frame);
    case "points":
      if (shape0.points.length === 2 && shape1.points.length === 2) {
        return linear(shape0, shape1, frame);
      }
      return copy(shape0, frame);
    default: {
      let match = keyframes.poly[i];
      if (match === undefined) match = keyframes.poly[i] = polyMatch(shape0, shape1);
      if (match === null) return copy(shape0, frame); // no points on one side
      const offset = (frame - shape0.frame) / (shape1.frame - shape0.frame);
      const points = position(match, offset);
      return copy(shape0, frame, kind === "polygon" ? points.slice(0, -2) : points);
    }
  }
}

/** Python's % on floats: the result takes the divisor's sign (CPython's float_rem). */
function pyMod(value: number, divisor: number): number {
  let mod = value % divisor; // C's fmod
  if (mod !== 0) {
    if (divisor < 0 !== mod < 0) mod += divisor;
  } else {
    mod = divisor < 0 ? -0 : 0;
  }
  return mod;
}

function angleDiff(right: number, left: number): number {
  let diff = right - left;
  diff = pyMod(diff + 180, 360) - 180;
  if (Math.abs(diff) >= 180) {
    // Kept as CVAT has it: only reachable for exactly -180, which becomes 1.
    diff = diff > 0 ? 360 - Math.abs(diff) * -1 : 1;
  }
  return diff;
}

function linear(
  shape0: InterpolatedShape,
  shape1: InterpolatedShape,
  frame: number,
): InterpolatedShape {
  const offset = (frame - shape0.frame) / (shape1.frame - shape0.frame);
  const turn = angleDiff(shape1.rotation, shape0.rotation);
  const rotation = pyMod(shape0.rotation + turn * offset + 360, 360);
  const left = shape0.points;
  const right = shape1.points;
  const count = Math.min(left.length, right.length); // Python's zip stops at the shorter
  const points = new Array<number>(count);
  for (let i = 0; i < count; i++) points[i] = left[i] + (right[i] - left[i]) * offset;
  return copy(shape0, frame, points, rotation);
}

// --- polyshapes (CVAT's interpolate_position) ---------------------------------------------
// Squares are written x * x: the Python's `** 2` is libm's pow, which may differ from it in
// the last bit in rare cases (CVAT's numpy squares by multiplication, as here).

/** x y pairs; a polygon's outline is closed by repeating its first point, as in Python. */
function pairs(points: readonly number[], closed: boolean): Float64Array {
  const flat = closed ? [...points, ...points.slice(0, 2)] : points;
  const result = new Float64Array(flat.length >> 1 << 1); // an odd last coordinate is dropped
  for (let i = 0; i < result.length; i++) result[i] = flat[i];
  return result;
}

function curveLength(xy: Float64Array, start: number, stop: number): number {
  let length = 0.0;
  for (let i = start + 1; i <= stop; i++) {
    const dx = xy[2 * i] - xy[2 * i - 2];
    const dy = xy[2 * i + 1] - xy[2 * i - 1];
    length += Math.sqrt(dx * dx + dy * dy);
  }
  return length;
}

function offsetVector(xy: Float64Array): number[] {
  const count = xy.length >> 1;
  const length = curveLength(xy, 0, count - 1);
  const offsets = [0.0];
  let accumulated = 0.0;
  for (let i = 1; i < count; i++) {
    const dx = xy[2 * i] - xy[2 * i - 2];
    const dy = xy[2 * i + 1] - xy[2 * i - 1];
    accumulated += Math.sqrt(dx * dx + dy * dy);
    // A degenerate curve divides 0 by 0 in CVAT: NaN, which no comparison picks.
    offsets.push(length !== 0 ? accumulated / length : NaN);
  }
  return offsets;
}

function nearest(value: number, curve: readonly number[]): number {
  let best = 0;
  let bestDistance = Math.abs(value - curve[0]);
  for (let i = 1; i < curve.length; i++) {
    const distance = Math.abs(value - curve[i]);
    if (distance < bestDistance) {
      best = i;
      bestDistance = distance;
    }
  }
  return best;
}

function polyMatch(shape0: InterpolatedShape, shape1: InterpolatedShape): PolyMatch | null {
  const closed = shape0.type === "polygon";
  const left = pairs(shape0.points, closed);
  const right = pairs(shape1.points, closed);
  const count = left.length >> 1;
  // Points going to nowhere: Python fails with an IndexError here; we copy the earlier shape.
  if (count > 0 && right.length === 0) return null;
  // An offset vector starts with 0 even for no points, so every index below exists.
  const leftCurve = offsetVector(left);
  const rightCurve = offsetVector(right);
  const matching = leftCurve.map((value) => [nearest(value, rightCurve)]);
  const matched = new Set(matching.map((values) => values[0]));
  for (let j = 0; j < rightCurve.length; j++) {
    if (!matched.has(j)) matching[nearest(rightCurve[j], leftCurve)].push(j);
  }
  for (const values of matching) values.sort((a, b) => a - b);
  const first = new Int32Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    first[i] = total;
    total += matching[i].length;
  }
  return { left, right, count, matching, first, total };
}

function position(match: PolyMatch, offset: number): number[] {
  const { left, right, matching } = match;
  const interpolated = new Float64Array(2 * match.total);
  let k = 0;
  for (let i = 0; i < match.count; i++) {
    const lx = left[2 * i];
    const ly = left[2 * i + 1];
    for (const j of matching[i]) {
      interpolated[k++] = lx + (right[2 * j] - lx) * offset;
      interpolated[k++] = ly + (right[2 * j + 1] - ly) * offset;
    }
  }
  return reduce(match, interpolated);
}

function distance(xy: Float64Array, a: number, b: number): number {
  const dx = xy[2 * a] - xy[2 * b];
  const dy = xy[2 * a + 1] - xy[2 * b + 1];
  return Math.sqrt(dx * dx + dy * dy);
}

/** CVAT's reduce_interpolation: drops interpolated points closer than a segment's threshold. */
function reduce(match: PolyMatch, interpolated: Float64Array): number[] {
  const { left, right, count, matching, first } = match;
  const reduced: number[] = [];
  const push = (i: number): void => {
    reduced.push(interpolated[2 * i], interpolated[2 * i + 1]);
  };

  const minimizeSegment = (baseLength: number, n: number, start: number, stop: number): void => {
    const threshold = baseLength / (2 * n);
    const mark = reduced.length;
    push(start);
    let latest = start;
    for (let i = start + 1; i < stop; i++) {
      if (distance(interpolated, latest, i) >= threshold) {
        push(i);
        latest = i;
      }
    }
    push(stop);
    if (reduced.length - mark === 4 && distance(interpolated, start, stop) < threshold) {
      reduced.length = mark; // the two points become their average
      let xs = 0;
      xs += interpolated[2 * start];
      xs += interpolated[2 * stop];
      let ys = 0;
      ys += interpolated[2 * start + 1];
      ys += interpolated[2 * stop + 1];
      reduced.push(xs / 2, ys / 2);
    }
  };

  const leftSegment = (start: number, stop: number): void => {
    const startIndex = first[start];
    const stopIndex = first[stop];
    if (startIndex === stopIndex) {
      push(startIndex);
      return;
    }
    minimizeSegment(curveLength(left, start, stop), stop - start + 1, startIndex, stopIndex);
  };

  const rightSegment = (leftPoint: number): void => {
    const targets = matching[leftPoint];
    const start = targets[0];
    const stop = targets[targets.length - 1];
    const startIndex = first[leftPoint];
    const stopIndex = startIndex + targets.length - 1;
    minimizeSegment(curveLength(right, start, stop), stop - start + 1, startIndex, stopIndex);
  };

  let opened: number | null = null;
  for (let i = 0; i < count; i++) {
    if (matching[i].length === 1) {
      if (opened === null) {
        opened = i;
      } else if (matching[i][0] !== matching[opened][0]) {
        leftSegment(opened, i - 1);
        opened = i;
      }
    } else {
      if (opened !== null) {
        leftSegment(opened, i - 1);
        opened = null;
      }
      rightSegment(i);
    }
  }
  if (opened !== null) leftSegment(opened, count - 1);
  return reduced;
}
