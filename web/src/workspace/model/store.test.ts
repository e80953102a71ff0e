import { describe, expect, it } from "vitest";
import { applyEvent, decodeEvent, emptyState, stateFromData } from "./apply";
import { createCmd, deleteCmd, editCmd, updateCmd } from "./commands";
import { shapeAt } from "../../annotation/interpolation";
import { JobStore } from "./store";
import type { Shape } from "./types";

function rect(frame: number, points: number[], extra: Partial<Shape> = {}): Shape {
  return { type: "rectangle", frame, label_id: 1, points, elements: [], ...extra } as unknown as Shape;
}

function created(revision: number, opId: string | null, shapes: Shape[]) {
  return { revision, op_id: opId, event_type: "ObjectsCreated", data: { type: "ObjectsCreated", shapes, tracks: [], tags: [] } };
}

describe("apply", () => {
  it("patches only the given properties and merges attributes by spec", () => {
    let s = stateFromData(3, {
      shapes: [rect(0, [1, 2, 3, 4], { id: 7, attributes: [{ spec_id: 1, value: "a" }, { spec_id: 2, value: "b" }] })],
      tracks: [],
      tags: [],
    });
    s = applyEvent(s, decodeEvent("ObjectsUpdated", { shapes: [{ id: 7, occluded: true, attributes: [{ spec_id: 2, value: "c" }] }] }), 4);
    const shape = s.shapes.get(7)!;
    expect(shape.points).toEqual([1, 2, 3, 4]);
    expect(shape.occluded).toBe(true);
    expect(shape.attributes).toEqual([{ spec_id: 1, value: "a" }, { spec_id: 2, value: "c" }]);
    expect(s.revision).toBe(4);
  });

  it("a new label replaces the attributes", () => {
    let s = stateFromData(0, { shapes: [rect(0, [0, 0, 1, 1], { id: 1, attributes: [{ spec_id: 1, value: "a" }] })], tracks: [], tags: [] });
    s = applyEvent(s, decodeEvent("ObjectsUpdated", { shapes: [{ id: 1, label_id: 2 }] }));
    expect(s.shapes.get(1)!.attributes).toEqual([]);
    expect(s.shapes.get(1)!.label_id).toBe(2);
  });

  it("keyframes are upserted and removed by frame and the track starts at the first", () => {
    let s = stateFromData(0, {
      shapes: [],
      tags: [],
      tracks: [{ id: 5, frame: 2, label_id: 1, shapes: [{ frame: 2, type: "rectangle", points: [0, 0, 1, 1] }, { frame: 6, type: "rectangle", points: [5, 5, 6, 6] }] } as never],
    });
    s = applyEvent(s, decodeEvent("TrackKeyframesChanged", { tracks: [{ track_id: 5, upserted: [{ frame: 0, type: "rectangle", points: [1, 1, 2, 2] }], removed_frames: [6], elements: [] }] }));
    const t = s.tracks.get(5)!;
    expect(t.shapes.map((k) => k.frame)).toEqual([0, 2]);
    expect(t.frame).toBe(0);
  });

  it("replace and clear reset the job; a foreign event only moves the revision", () => {
    let s = stateFromData(0, { shapes: [rect(0, [0, 0, 1, 1], { id: 1 })], tracks: [], tags: [] });
    s = applyEvent(s, decodeEvent("AnnotationsReplaced", { shapes: [rect(1, [0, 0, 2, 2], { id: 9 })] }), 1);
    expect([...s.shapes.keys()]).toEqual([9]);
    const before = s.shapes;
    s = applyEvent(s, decodeEvent("IssueCreated", { issue_id: 1 }), 2);
    expect(s.shapes).toBe(before);
    s = applyEvent(s, decodeEvent("AnnotationsCleared", {}), 3);
    expect(s.shapes.size).toBe(0);
    expect(emptyState().revision).toBe(-1);
  });
});

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

describe("immutability (interpolation caches per track and `shapes` array)", () => {
  it("every event leaves the previous objects untouched and replaces a changed track's keyframes", () => {
    const box = (frame: number, x: number, outside = false) => ({ frame, type: "rectangle", points: [x, 0, x + 10, 10], outside });
    const skeleton = {
      id: 6, frame: 0, label_id: 2, shapes: [{ ...box(0, 0), type: "skeleton", points: [] }],
      elements: [{ id: 7, frame: 0, label_id: 3, shapes: [{ ...box(0, 0), type: "points", points: [1, 1] }] }],
    }; // prettier-ignore
    const start = stateFromData(0, {
      shapes: [rect(0, [0, 0, 1, 1], { id: 1 })],
      tracks: [{ id: 5, frame: 0, label_id: 1, shapes: [box(0, 0), box(10, 100)] } as never, skeleton as never],
      tags: [],
    });
    const track = start.tracks.get(5)!;
    const keyframes = track.shapes;
    // Maps are copied by applyEvent; freeze the objects in them (a write would throw).
    for (const m of [start.shapes, start.tracks, start.tags]) for (const v of m.values()) deepFreeze(v);
    expect(shapeAt(track, 5)!.points).toEqual([50, 0, 60, 10]);
    const events: [string, object][] = [
      ["TrackKeyframesChanged", { tracks: [{ track_id: 5, upserted: [box(5, 20)], removed_frames: [], elements: [] },
        { track_id: 6, upserted: [], removed_frames: [], elements: [{ element_id: 7, upserted: [{ ...box(4, 0), type: "points", points: [4, 4] }], removed_frames: [] }] }] }],
      ["ObjectsUpdated", { shapes: [{ id: 1, points: [2, 2, 3, 3] }], tracks: [{ id: 5, label_id: 2 }, { id: 6, elements: [{ id: 7, attributes: [{ spec_id: 1, value: "x" }] }] }] }],
      ["ObjectsDeleted", { shapes: [1], tracks: [6] }],
    ]; // prettier-ignore
    let s = start;
    for (const [type, data] of events) s = applyEvent(s, decodeEvent(type, data));
    const changed = s.tracks.get(5)!;
    expect(changed.shapes).not.toBe(keyframes);
    expect(keyframes.map((k) => k.frame)).toEqual([0, 10]);
    expect(shapeAt(changed, 5)!.points).toEqual([20, 0, 30, 10]);
    expect(shapeAt(changed, 5)!.keyframe).toBe(true);
    expect(shapeAt(track, 5)!.points).toEqual([50, 0, 60, 10]); // the old object still says so
    expect(start.shapes.get(1)!.points).toEqual([0, 0, 1, 1]);
    expect(start.tracks.get(6)!.elements[0].shapes).toHaveLength(1);
  });
});

describe("JobStore", () => {
  it("shows a local edit at once and keeps one copy when its event arrives", () => {
    const store = new JobStore();
    store.loadSnapshot(0, { shapes: [], tracks: [], tags: [] });
    const op = store.local(createCmd({ shapes: [rect(0, [1, 1, 5, 5])] }), "Draw rectangle");
    expect(store.view.shapes.size).toBe(1);
    const temp = [...store.view.shapes.keys()][0];
    expect(temp).toBeLessThan(0);
    store.ack({ op_id: op.opId, revision: 1, position: 10, ids: { shapes: [42] } });
    expect(store.realId(temp)).toBe(42);
    expect(store.queued).toBe(1); // its event is still to come
    expect(store.applyServerEvent(created(1, op.opId, [rect(0, [1, 1, 5, 5], { id: 42 })]))).toBe("applied");
    expect([...store.view.shapes.keys()]).toEqual([42]);
    expect(store.queued).toBe(0);
  });

  it("an edit of an object being created waits for its id and is sent with it", () => {
    const store = new JobStore();
    store.loadSnapshot(0, { shapes: [], tracks: [], tags: [] });
    const create = store.local(createCmd({ shapes: [rect(0, [1, 1, 5, 5])] }), "Draw");
    const temp = [...store.view.shapes.keys()][0];
    store.local(updateCmd({ shapes: [{ id: temp, points: [2, 2, 6, 6] }] }), "Move");
    expect(store.view.shapes.get(temp)!.points).toEqual([2, 2, 6, 6]);
    let ready = store.sendable();
    expect(ready.map((r) => r.op.opId)).toEqual([create.opId]);
    expect((ready[0].command as { shapes: object[] }).shapes[0]).not.toHaveProperty("id");
    store.markSent(create.opId);
    store.applyServerEvent(created(1, create.opId, [rect(0, [1, 1, 5, 5], { id: 77 })]));
    ready = store.sendable();
    expect(ready).toHaveLength(1);
    expect(ready[0].command).toMatchObject({ type: "update", shapes: [{ id: 77, points: [2, 2, 6, 6] }] });
    // the view already shows the real object with the pending move on top
    expect(store.view.shapes.get(77)!.points).toEqual([2, 2, 6, 6]);
  });

  it("a nack rolls the edit back, and the queued edits of what it would have created", () => {
    const store = new JobStore();
    store.loadSnapshot(0, { shapes: [rect(0, [0, 0, 9, 9], { id: 1 })], tracks: [], tags: [] });
    const move = store.local(updateCmd({ shapes: [{ id: 1, points: [1, 1, 8, 8] }] }), "Move");
    const create = store.local(createCmd({ shapes: [rect(0, [1, 1, 5, 5])] }), "Draw");
    const temp = [...store.view.shapes.keys()].find((k) => k < 0)!;
    store.local(updateCmd({ shapes: [{ id: temp, occluded: true }] }), "Occlude");
    store.local(deleteCmd({ shapes: [1] }), "Delete");
    expect(store.view.shapes.has(1)).toBe(false);
    expect(store.nack(move.opId).map((o) => o.what)).toEqual(["Move"]);
    expect(store.nack(create.opId).map((o) => o.what)).toEqual(["Draw", "Occlude"]);
    expect(store.pending.map((p) => p.what)).toEqual(["Delete"]);
    expect(store.base.shapes.get(1)!.points).toEqual([0, 0, 9, 9]);
  });

  it("skips duplicates and reports gaps", () => {
    const store = new JobStore();
    store.loadSnapshot(5, { shapes: [], tracks: [], tags: [] });
    expect(store.applyServerEvent(created(5, null, []))).toBe("duplicate");
    expect(store.applyServerEvent(created(7, null, []))).toBe("gap");
    expect(store.applyServerEvent(created(6, null, [rect(0, [0, 0, 1, 1], { id: 3 })]))).toBe("applied");
    expect(store.revision).toBe(6);
  });

  it("an ack without an event (nothing changed) ends the edit", () => {
    const store = new JobStore();
    store.loadSnapshot(2, { shapes: [rect(0, [0, 0, 1, 1], { id: 1 })], tracks: [], tags: [] });
    const op = store.local(updateCmd({ shapes: [{ id: 1, points: [0, 0, 1, 1] }] }), "Move");
    store.ack({ op_id: op.opId, revision: 2, position: 0 });
    expect(store.queued).toBe(0);
  });

  it("an edit is one op: sent with the server's ids, its creations numbered from its first event", () => {
    const store = new JobStore();
    store.loadSnapshot(0, { shapes: [], tracks: [], tags: [] });
    const draw = store.local(createCmd({ shapes: [rect(0, [0, 0, 5, 5])] }), "Draw");
    const temp = [...store.view.shapes.keys()][0];
    const track = { frame: 0, label_id: 1, shapes: [{ frame: 0, type: "rectangle", points: [0, 0, 5, 5] }], elements: [] };
    const edit = store.local(editCmd({ create: { tracks: [track as never] }, delete: { shapes: [temp] } }), "Merge");
    expect(store.view.shapes.size).toBe(0);
    expect(store.view.tracks.size).toBe(1);
    expect(store.sendable().map((r) => r.op.opId)).toEqual([draw.opId]); // the edit waits for the shape's id
    store.markSent(draw.opId);
    store.applyServerEvent(created(1, draw.opId, [rect(0, [0, 0, 5, 5], { id: 9 })]));
    const [ready] = store.sendable();
    expect(ready.op.opId).toBe(edit.opId);
    expect(ready.command).toMatchObject({ type: "edit", delete: { shapes: [{ id: 9 }] } });
    const sent = ready.command as Extract<typeof ready.command, { type: "edit" }>;
    expect(sent.create.tracks[0]).not.toHaveProperty("id");
    const tempTrack = [...store.view.tracks.keys()][0];
    store.markSent(edit.opId);
    const real = { ...track, id: 20, shapes: [{ ...track.shapes[0], id: 21 }] };
    store.applyServerEvent({ revision: 2, op_id: edit.opId, event_type: "ObjectsCreated", data: { shapes: [], tracks: [real], tags: [] } });
    store.applyServerEvent({ revision: 3, op_id: edit.opId, event_type: "ObjectsDeleted", data: { shapes: [9] } });
    expect(store.realId(tempTrack)).toBe(20);
    expect(store.queued).toBe(0);
    expect([...store.view.tracks.keys()]).toEqual([20]);
    expect(store.view.shapes.size).toBe(0);
  });
});
