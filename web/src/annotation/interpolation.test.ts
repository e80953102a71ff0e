// The TypeScript interpolation against the golden fixtures the Python implementation is held
// to (tests/fixtures/interpolation, README there), plus properties of its two entry points.
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

import { interpolateTrack, isVisible, shapeAt } from "./interpolation";
import type { InterpolatedShape, LabeledTrack, ShapeType, TrackedShape } from "./types";
import { SHAPE_TYPES } from "./types";

interface Fixture {
  description: string;
  start_frame: number;
  stop_frame: number;
  included_frames?: number[];
  track: LabeledTrack;
  expected: { visible: unknown[]; with_outside: unknown[] };
}

const DIR = fileURLToPath(new URL("../../../tests/fixtures/interpolation/", import.meta.url));
const FIXTURES: [string, Fixture][] = readdirSync(DIR)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => [name, JSON.parse(readFileSync(DIR + name, "utf8")) as Fixture]);

const TOLERANCE = 1e-12; // as the Python test: the same arithmetic gives the same doubles

/** Where `actual` differs from `expected`, comparing only the keys `expected` has. */
function mismatch(actual: unknown, expected: unknown, where = ""): string | null {
  if (typeof expected === "number" && typeof actual === "number") {
    const allowed = Math.max(TOLERANCE, TOLERANCE * Math.max(Math.abs(actual), Math.abs(expected)));
    return Math.abs(actual - expected) <= allowed ? null : `${where}: ${actual} != ${expected}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${where}: not a list`;
    if (actual.length !== expected.length) {
      return `${where}: ${actual.length} items != ${expected.length}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const found = mismatch(actual[i], expected[i], `${where}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object") return `${where}: not an object`;
    for (const [key, value] of Object.entries(expected)) {
      const found = mismatch((actual as Record<string, unknown>)[key], value, `${where}.${key}`);
      if (found) return found;
    }
    return null;
  }
  return actual === expected ? null : `${where}: ${String(actual)} != ${String(expected)}`;
}

function byFrame(shapes: InterpolatedShape[]): Map<number, InterpolatedShape> {
  return new Map(shapes.map((shape) => [shape.frame, shape]));
}

describe("golden fixtures", () => {
  it("cover every shape type", () => {
    const types = new Set(FIXTURES.flatMap(([, f]) => f.track.shapes.map((s) => s.type)));
    expect([...types].sort()).toEqual([...SHAPE_TYPES].sort());
  });

  describe.each(FIXTURES)("%s", (_name, fixture) => {
    const { track, start_frame: start, stop_frame: stop } = fixture;
    const includedFrames = fixture.included_frames;

    it("interpolateTrack gives the expected visible shapes", () => {
      const shapes = interpolateTrack(track, start, stop, { includedFrames });
      expect(mismatch(shapes, fixture.expected.visible)).toBeNull();
    });

    it("interpolateTrack with includeOutside gives every expected shape", () => {
      const shapes = interpolateTrack(track, start, stop, { includedFrames, includeOutside: true });
      expect(mismatch(shapes, fixture.expected.with_outside)).toBeNull();
    });

    it("shapeAt gives the same shape on every frame, and nothing where there is none", () => {
      const all = byFrame(interpolateTrack(track, start, stop, { includeOutside: true }));
      for (let frame = start; frame <= stop; frame++) {
        expect(shapeAt(track, frame)).toEqual(all.get(frame) ?? null);
      }
    });

    it("skeleton points name their element's label", () => {
      const labelOf = new Map<number | null | undefined, number>();
      for (const element of track.elements ?? []) {
        for (const keyframe of element.shapes) labelOf.set(keyframe.id, element.label_id);
      }
      for (const shape of interpolateTrack(track, start, stop, { includeOutside: true })) {
        for (const point of shape.elements) expect(point.label_id).toBe(labelOf.get(point.id));
      }
    });
  });
});

// --- properties on generated tracks --------------------------------------------------------

function random(seed: number): () => number {
  // mulberry32: small, deterministic
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POINT_COUNTS: Record<Exclude<ShapeType, "skeleton">, () => number> = {
  rectangle: () => 4,
  ellipse: () => 4,
  cuboid: () => 16,
  mask: () => 10,
  points: () => 2,
  polygon: () => 6,
  polyline: () => 4,
};

function randomPoints(next: () => number, type: Exclude<ShapeType, "skeleton">, n?: number) {
  const count = n ?? POINT_COUNTS[type]();
  return Array.from({ length: count }, () => Math.round(next() * 100000) / 100);
}

function keyframe(
  type: ShapeType,
  frame: number,
  points: number[],
  extra: Partial<TrackedShape> = {},
): TrackedShape {
  return {
    type, frame, points, rotation: 0, outside: false, occluded: false, z_order: 0,
    attributes: [], id: 1000 + frame, ...extra,
  };
}

function randomTrack(seed: number): LabeledTrack {
  const next = random(seed);
  const types = SHAPE_TYPES.filter((t) => t !== "skeleton");
  const type = types[Math.floor(next() * types.length)];
  const shapes: TrackedShape[] = [];
  let frame = Math.floor(next() * 5);
  for (let k = 0; k < 2 + Math.floor(next() * 4); k++) {
    // polyshapes and point sets change their point count between keyframes
    const variable = type === "polygon" || type === "polyline" || type === "points";
    const count = variable ? 2 * (1 + Math.floor(next() * 6)) : undefined;
    shapes.push(keyframe(type, frame, randomPoints(next, type, count), {
      rotation: type === "rectangle" || type === "ellipse" ? Math.floor(next() * 3600) / 10 : 0,
      outside: next() < 0.25,
      attributes: next() < 0.5 ? [{ spec_id: 1 + Math.floor(next() * 3), value: String(k) }] : [],
    }));
    frame += 1 + Math.floor(next() * 6);
  }
  return { id: seed, frame: shapes[0].frame, label_id: 1, shapes, attributes: [], elements: [] };
}

describe("properties", () => {
  const seeds = Array.from({ length: 200 }, (_, i) => i + 1);

  it.each(SHAPE_TYPES.filter((t) => t !== "skeleton"))(
    "frames between two equal %s keyframes equal the keyframe",
    (type) => {
      for (const seed of seeds.slice(0, 20)) {
        const next = random(seed);
        const points = randomPoints(next, type);
        const rotation = Math.floor(next() * 3600) / 10;
        const track: LabeledTrack = {
          frame: 2, label_id: 1, attributes: [],
          shapes: [keyframe(type, 2, points, { rotation }), keyframe(type, 9, [...points], { rotation })],
        };
        for (let frame = 3; frame < 9; frame++) {
          const shape = shapeAt(track, frame)!;
          expect(shape.keyframe).toBe(false);
          expect(shape.points.length).toBe(points.length);
          shape.points.forEach((value, i) => expect(value).toBeCloseTo(points[i], 9));
          expect(shape.rotation).toBeCloseTo(rotation, 9);
        }
      }
    },
  );

  it("keyframes come back unchanged, with their own attributes first", () => {
    for (const seed of seeds) {
      const track = randomTrack(seed);
      for (const key of track.shapes) {
        const shape = shapeAt(track, key.frame)!;
        expect(shape.keyframe).toBe(true);
        expect(shape.points).toEqual(key.points);
        expect(shape.rotation).toBe(key.rotation);
        expect(shape.outside).toBe(key.outside);
        expect(shape.attributes.slice(0, key.attributes.length)).toEqual(key.attributes);
      }
    }
  });

  it("visible shapes are the shapes of every frame less the outside non-keyframes", () => {
    for (const seed of seeds) {
      const track = randomTrack(seed);
      const last = track.shapes[track.shapes.length - 1].frame + 3;
      const every = interpolateTrack(track, 0, last, { includeOutside: true });
      const visible = interpolateTrack(track, 0, last);
      expect(visible).toEqual(every.filter((s) => s.keyframe || isVisible(s)));
      expect(every.map((s) => s.frame)).toEqual(
        Array.from({ length: last - track.frame + 1 }, (_, i) => track.frame + i),
      );
      for (const shape of every) expect(shapeAt(track, shape.frame)).toEqual(shape);
      expect(shapeAt(track, track.frame - 1)).toBeNull();
    }
  });

  it("a replaced keyframe array is seen, not served from the cache", () => {
    const track: LabeledTrack = {
      frame: 0, label_id: 1, attributes: [],
      shapes: [keyframe("rectangle", 0, [0, 0, 10, 10]), keyframe("rectangle", 4, [4, 4, 14, 14])],
    };
    expect(shapeAt(track, 2)!.points).toEqual([2, 2, 12, 12]);
    track.shapes = [track.shapes[0], keyframe("rectangle", 4, [8, 0, 18, 10])];
    expect(shapeAt(track, 2)!.points).toEqual([4, 0, 14, 10]);
  });
});
