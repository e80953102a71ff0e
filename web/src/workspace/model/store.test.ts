import { describe, expect, it } from "vitest";
import { applyEvent, decodeEvent, emptyState, stateFromData } from "./apply";
import { createCmd, deleteCmd, updateCmd } from "./commands";
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
});
