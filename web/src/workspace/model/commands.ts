// Op commands (backend/realtime/protocol.py: op.command) and what the client predicts they
// will do, so an edit shows at once and is rolled back if the server refuses it.
import { applyEvent, normShape, normTag, normTrack, type JobState } from "./apply";
import type {
  JobEvent,
  Shape,
  ShapePatch,
  Tag,
  TagPatch,
  Track,
  TrackedShape,
  TrackPatch,
} from "./types";

export type OpCommand =
  | { type: "create"; shapes: Shape[]; tracks: Track[]; tags: Tag[] }
  | { type: "update"; shapes: ShapePatch[]; tracks: TrackPatch[]; tags: TagPatch[] }
  | { type: "delete"; shapes: { id: number }[]; tracks: { id: number }[]; tags: { id: number }[] }
  | {
      type: "set_keyframe";
      track_id: number;
      shape?: TrackedShape;
      elements?: { element_id: number; shape: TrackedShape }[];
    }
  | { type: "delete_keyframe"; track_id: number; frame: number }
  | { type: "undo" }
  | { type: "redo" };

const NONE = { shapes: [], tracks: [], tags: [] };

export function createCmd(parts: Partial<{ shapes: Shape[]; tracks: Track[]; tags: Tag[] }>): OpCommand {
  return { type: "create", ...NONE, ...parts };
}
export function updateCmd(
  parts: Partial<{ shapes: ShapePatch[]; tracks: TrackPatch[]; tags: TagPatch[] }>,
): OpCommand {
  return { type: "update", ...NONE, ...parts };
}
export function deleteCmd(parts: Partial<{ shapes: number[]; tracks: number[]; tags: number[] }>): OpCommand {
  const ids = (xs: number[] = []) => xs.map((id) => ({ id }));
  return { type: "delete", shapes: ids(parts.shapes), tracks: ids(parts.tracks), tags: ids(parts.tags) };
}

/** Temporary ids of objects the server has not numbered yet: negative, never reused. */
let nextTemp = -1;
export function tempId(): number {
  return nextTemp--;
}

/** Give every new object, element and keyframe of a create a temporary id. */
export function withTempIds(cmd: Extract<OpCommand, { type: "create" }>): typeof cmd {
  const tracked = (s: TrackedShape) => ({ ...s, id: tempId() });
  return {
    ...cmd,
    shapes: cmd.shapes.map((s) =>
      normShape({ ...s, id: tempId(), elements: s.elements.map((e) => ({ ...e, id: tempId() })) }),
    ),
    tracks: cmd.tracks.map((t) =>
      normTrack({
        ...t,
        id: tempId(),
        shapes: t.shapes.map(tracked),
        elements: t.elements.map((e) => ({ ...e, id: tempId(), shapes: e.shapes.map(tracked) })),
      }),
    ),
    tags: cmd.tags.map((t) => normTag({ ...t, id: tempId() })),
  };
}

/** The event the server will most likely append for `cmd`, on the client's `state`. */
export function predict(cmd: OpCommand, state: JobState): JobEvent | null {
  switch (cmd.type) {
    case "create":
      return { type: "ObjectsCreated", shapes: cmd.shapes, tracks: cmd.tracks, tags: cmd.tags };
    case "update":
      return { type: "ObjectsUpdated", shapes: cmd.shapes, tracks: cmd.tracks, tags: cmd.tags };
    case "delete":
      return {
        type: "ObjectsDeleted",
        shapes: cmd.shapes.map((o) => o.id),
        tracks: cmd.tracks.map((o) => o.id),
        tags: cmd.tags.map((o) => o.id),
      };
    case "set_keyframe":
      return {
        type: "TrackKeyframesChanged",
        tracks: [
          {
            track_id: cmd.track_id,
            upserted: cmd.shape ? [cmd.shape] : [],
            removed_frames: [],
            elements: (cmd.elements ?? []).map((e) => ({
              element_id: e.element_id,
              upserted: [e.shape],
              removed_frames: [],
            })),
          },
        ],
      };
    case "delete_keyframe": {
      const track = state.tracks.get(cmd.track_id);
      return {
        type: "TrackKeyframesChanged",
        tracks: [
          {
            track_id: cmd.track_id,
            upserted: [],
            removed_frames: [cmd.frame],
            elements: (track?.elements ?? []).map((e) => ({
              element_id: e.id,
              upserted: [],
              removed_frames: [cmd.frame],
            })),
          },
        ],
      };
    }
    default:
      return null; // undo/redo: only the server knows
  }
}

export function applyPredicted(state: JobState, cmd: OpCommand): JobState {
  const event = predict(cmd, state);
  return event ? applyEvent(state, event) : state;
}

const REF_KEYS = new Set(["id", "track_id", "element_id"]);

/** `cmd` with the temporary ids it refers to replaced by the server's, and whether any
 * remain unknown. A create's own new ids are left for `wire` to strip. */
export function resolveIds(
  cmd: OpCommand,
  idMap: ReadonlyMap<number, number>,
): { cmd: OpCommand; unresolved: number[] } {
  if (cmd.type === "create") return { cmd, unresolved: [] };
  const unresolved: number[] = [];
  const walk = (v: unknown, key?: string): unknown => {
    if (Array.isArray(v)) return v.length && typeof v[0] === "number" ? v : v.map((x) => walk(x));
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, k);
      return out;
    }
    if (typeof v === "number" && v < 0 && key && REF_KEYS.has(key)) {
      const real = idMap.get(v);
      if (real === undefined) unresolved.push(v);
      return real ?? v;
    }
    return v;
  };
  return { cmd: walk(cmd) as OpCommand, unresolved };
}

/** The command as sent: new objects and keyframes carry no id (the server numbers them). */
export function wire(cmd: OpCommand): OpCommand {
  const strip = <T extends { id?: number | null }>(o: T): T => {
    const { id: _id, ...rest } = o;
    return rest as T;
  };
  if (cmd.type === "create") {
    return {
      ...cmd,
      shapes: cmd.shapes.map((s) => ({ ...strip(s), elements: s.elements.map(strip) })),
      tracks: cmd.tracks.map((t) => ({
        ...strip(t),
        shapes: t.shapes.map(strip),
        elements: t.elements.map((e) => ({ ...strip(e), shapes: e.shapes.map(strip) })),
      })),
      tags: cmd.tags.map(strip),
    };
  }
  if (cmd.type === "set_keyframe") {
    return {
      ...cmd,
      shape: cmd.shape && strip(cmd.shape),
      elements: cmd.elements?.map((e) => ({ ...e, shape: strip(e.shape) })),
    };
  }
  return cmd;
}

/** Temporary ids of a create paired with the ids the server gave (from its event). */
export function pairIds(
  cmd: Extract<OpCommand, { type: "create" }>,
  event: { shapes: Shape[]; tracks: Track[]; tags: Tag[] },
): [number, number][] {
  const pairs: [number, number][] = [];
  cmd.shapes.forEach((s, i) => {
    const real = event.shapes[i];
    if (!real) return;
    pairs.push([s.id, real.id]);
    s.elements.forEach((e, j) => real.elements[j] && pairs.push([e.id, real.elements[j].id]));
  });
  cmd.tracks.forEach((t, i) => {
    const real = event.tracks[i];
    if (!real) return;
    pairs.push([t.id, real.id]);
    t.elements.forEach((e, j) => real.elements[j] && pairs.push([e.id, real.elements[j].id]));
  });
  cmd.tags.forEach((t, i) => event.tags[i] && pairs.push([t.id, event.tags[i].id]));
  return pairs;
}
