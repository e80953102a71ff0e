// Op commands (backend/realtime/protocol.py: op.command) and what the client predicts they
// will do, so an edit shows at once and is rolled back if the server refuses it.
import { applyEvent, normShape, normTag, normTrack, type JobState } from "./apply";
import type {
  AttributeVal,
  JobEvent,
  Shape,
  ShapePatch,
  Tag,
  TagPatch,
  Track,
  TrackedShape,
  TrackPatch,
} from "./types";

/** A track update as sent: properties, and optionally its complete keyframe list (and its
 * skeleton points'), as CVAT's PATCH update takes it. */
export interface TrackUpdate extends Omit<TrackPatch, "elements"> {
  shapes?: TrackedShape[];
  elements?: { id: number; attributes?: AttributeVal[]; shapes?: TrackedShape[] }[];
}

export interface CreateBody {
  shapes: Shape[];
  tracks: Track[];
  tags: Tag[];
}
export interface UpdateBody {
  shapes: ShapePatch[];
  tracks: TrackUpdate[];
  tags: TagPatch[];
}
export interface DeleteBody {
  shapes: { id: number }[];
  tracks: { id: number }[];
  tags: { id: number }[];
}

export type OpCommand =
  | ({ type: "create" } & CreateBody)
  | ({ type: "update" } & UpdateBody)
  | ({ type: "delete" } & DeleteBody)
  /** A compound edit (merge, split): decided by the server as one batch, one undo step. */
  | { type: "edit"; create: CreateBody; update: UpdateBody; delete: DeleteBody }
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
  return { type: "delete", ...deleteBody(parts) };
}
function deleteBody(parts: Partial<{ shapes: number[]; tracks: number[]; tags: number[] }>): DeleteBody {
  const ids = (xs: number[] = []) => xs.map((id) => ({ id }));
  return { shapes: ids(parts.shapes), tracks: ids(parts.tracks), tags: ids(parts.tags) };
}
export function editCmd(parts: {
  create?: Partial<CreateBody>;
  update?: Partial<UpdateBody>;
  delete?: Partial<{ shapes: number[]; tracks: number[]; tags: number[] }>;
}): Extract<OpCommand, { type: "edit" }> {
  return {
    type: "edit",
    create: { ...NONE, ...parts.create },
    update: { ...NONE, ...parts.update },
    delete: deleteBody(parts.delete ?? {}),
  };
}

/** What a command creates (a create, or an edit's create part). */
export function createdBy(cmd: OpCommand): CreateBody | null {
  return cmd.type === "create" ? cmd : cmd.type === "edit" ? cmd.create : null;
}

/** Temporary ids of objects the server has not numbered yet: negative, never reused. */
let nextTemp = -1;
export function tempId(): number {
  return nextTemp--;
}

/** Give every new object, element and keyframe of a create (or an edit's) a temporary id. */
export function withTempIds(cmd: OpCommand): OpCommand {
  if (cmd.type === "edit") return { ...cmd, create: createWithTempIds(cmd.create) };
  return cmd.type === "create" ? { ...cmd, ...createWithTempIds(cmd) } : cmd;
}

function createWithTempIds(cmd: CreateBody): CreateBody {
  const tracked = (s: TrackedShape) => ({ ...s, id: tempId() });
  return {
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

/** Keyframe changes that turn a track's keyframes (or a point's) into `shapes`. */
function replacedKeyframes(current: TrackedShape[], shapes: TrackedShape[]) {
  const kept = new Set(shapes.map((k) => k.frame));
  return { upserted: shapes, removed_frames: current.map((k) => k.frame).filter((f) => !kept.has(f)) };
}

/** The events the server will most likely append for `cmd`, on the client's `state`, in
 * order (an edit is several; each applies on the state the previous ones left). */
export function predict(cmd: OpCommand, state: JobState): JobEvent[] {
  switch (cmd.type) {
    case "create":
      return [{ type: "ObjectsCreated", shapes: cmd.shapes, tracks: cmd.tracks, tags: cmd.tags }];
    case "update": {
      const tracks = cmd.tracks.map(({ shapes: _s, elements, ...patch }) => ({
        ...patch,
        ...(elements ? { elements: elements.map(({ shapes: _e, ...e }) => e) } : {}),
      }));
      const events: JobEvent[] = [{ type: "ObjectsUpdated", shapes: cmd.shapes, tracks, tags: cmd.tags }];
      const keyframes = cmd.tracks.flatMap((u) => {
        const track = state.tracks.get(u.id);
        const elements = (u.elements ?? []).flatMap((e) => {
          const current = track?.elements.find((x) => x.id === e.id);
          return e.shapes && current ? [{ element_id: e.id, ...replacedKeyframes(current.shapes, e.shapes) }] : [];
        });
        if (!track || (!u.shapes && !elements.length)) return [];
        const own = u.shapes ? replacedKeyframes(track.shapes, u.shapes) : { upserted: [], removed_frames: [] };
        return [{ track_id: u.id, ...own, elements }];
      });
      if (keyframes.length) events.push({ type: "TrackKeyframesChanged", tracks: keyframes });
      return events;
    }
    case "delete":
      return [{
        type: "ObjectsDeleted",
        shapes: cmd.shapes.map((o) => o.id),
        tracks: cmd.tracks.map((o) => o.id),
        tags: cmd.tags.map((o) => o.id),
      }]; // prettier-ignore
    case "edit": {
      const events: JobEvent[] = [];
      let at = state;
      for (const part of [{ type: "create", ...cmd.create }, { type: "update", ...cmd.update }, { type: "delete", ...cmd.delete }] as OpCommand[]) {
        for (const e of predict(part, at)) {
          events.push(e);
          at = applyEvent(at, e);
        }
      }
      return events;
    }
    case "set_keyframe":
      return [{
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
      }]; // prettier-ignore
    case "delete_keyframe": {
      const track = state.tracks.get(cmd.track_id);
      return [{
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
      }]; // prettier-ignore
    }
    default:
      return []; // undo/redo: only the server knows
  }
}

export function applyPredicted(state: JobState, cmd: OpCommand): JobState {
  if (cmd.type === "edit") return predict(cmd, state).reduce((s, e) => applyEvent(s, e), state);
  const [event] = predict(cmd, state);
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
  if (cmd.type === "edit") {
    // The create part's own ids are new (wire strips them); the rest name existing objects.
    const update = resolveIds({ type: "update", ...cmd.update }, idMap);
    const del = resolveIds({ type: "delete", ...cmd.delete }, idMap);
    const { type: _u, ...u } = update.cmd as Extract<OpCommand, { type: "update" }>;
    const { type: _d, ...d } = del.cmd as Extract<OpCommand, { type: "delete" }>;
    return { cmd: { ...cmd, update: u, delete: d }, unresolved: [...update.unresolved, ...del.unresolved] };
  }
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
  const created = (c: CreateBody): CreateBody => ({
    shapes: c.shapes.map((s) => ({ ...strip(s), elements: s.elements.map(strip) })),
    tracks: c.tracks.map((t) => ({
      ...strip(t),
      shapes: t.shapes.map(strip),
      elements: t.elements.map((e) => ({ ...strip(e), shapes: e.shapes.map(strip) })),
    })),
    tags: c.tags.map(strip),
  });
  if (cmd.type === "create") return { ...cmd, ...created(cmd) };
  if (cmd.type === "edit") return { ...cmd, create: created(cmd.create) };
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
  cmd: CreateBody,
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
