import { describe, expect, it, vi } from "vitest";
import { FakeServer } from "./model/fakeServer.test-helper";
import { RealtimeClient } from "./model/realtime";
import { foldIssue } from "./IssuesPanel";
import { handleKey } from "./shortcuts";
import { stateFromData } from "./model/apply";
import { JobStore } from "./model/store";
import type { Label, LabeledData } from "./model/types";
import { Workspace } from "./workspace";

const LABELS = [
  { id: 1, name: "car", color: "#ff0000", type: "any", svg: "", sublabels: [], parent_id: null, project_id: null, task_id: 1, has_parent: false,
    attributes: [
      { id: 10, name: "color", mutable: false, input_type: "select", values: ["red", "blue"], default_value: "red" },
      { id: 11, name: "parked", mutable: true, input_type: "checkbox", values: ["false"], default_value: "false" },
    ] },
  { id: 2, name: "person", color: "#00ff00", type: "any", svg: "", sublabels: [], parent_id: null, project_id: null, task_id: 1, has_parent: false, attributes: [] },
] as Label[]; // prettier-ignore

function rect(id: number, frame: number, x: number) {
  return { id, type: "rectangle", frame, label_id: 1, points: [x, 0, x + 10, 10], elements: [] };
}

function workspace(data: Partial<LabeledData>) {
  const store = new JobStore();
  store.loadSnapshot(5, { shapes: [], tracks: [], tags: [], ...data } as LabeledData);
  const ws = new Workspace(
    { id: 1, task_id: 1, start_frame: 0, stop_frame: 9, mode: "annotation" },
    Array.from({ length: 10 }, (_, i) => i),
    () => ({ width: 100, height: 100, name: "f" }),
    LABELS,
    store,
    null,
  );
  return { ws, store };
}

const last = (store: JobStore) => store.pending[store.pending.length - 1].command;

describe("Workspace edits", () => {
  it("a track drawn in track mode keeps immutable attributes on the track, mutable on the keyframe", () => {
    const { ws, store } = workspace({});
    ws.create("rectangle", [1, 1, 5, 5], { track: true });
    const cmd = last(store);
    expect(cmd.type).toBe("create");
    if (cmd.type !== "create") return;
    expect(cmd.tracks[0].attributes).toEqual([{ spec_id: 10, value: "red" }]);
    expect(cmd.tracks[0].shapes[0].attributes).toEqual([{ spec_id: 11, value: "false" }]);
    expect(ws.objects()).toHaveLength(1); // shown at once
  });

  it("moving a track between keyframes sets a keyframe on this frame", () => {
    const { ws, store } = workspace({
      tracks: [{ id: 3, frame: 0, label_id: 1, shapes: [{ frame: 0, type: "rectangle", points: [0, 0, 10, 10] }], elements: [] } as never],
    });
    ws.goto(4);
    const [o] = ws.objects();
    expect(o.interpolated).toBe(true);
    ws.change(o, { points: [5, 5, 15, 15] }, "Move");
    expect(last(store)).toMatchObject({ type: "set_keyframe", track_id: 3, shape: { frame: 4, points: [5, 5, 15, 15] } });
    expect(ws.objects()[0].keyframe).toBe(true);
  });

  it("locked objects are not edited unless forced; time travel is read-only", () => {
    const { ws, store } = workspace({ shapes: [rect(1, 0, 0)] as never });
    ws.select("shape:1");
    ws.toggleLocal(ws.locked);
    ws.toggleOccluded();
    ws.remove();
    expect(store.pending).toHaveLength(0);
    ws.remove(ws.selection, true);
    expect(store.pending).toHaveLength(1);
    ws.past = { revision: 2, state: stateFromData(2, { shapes: [], tracks: [], tags: [] }) };
    ws.create("rectangle", [0, 0, 1, 1]);
    expect(store.pending).toHaveLength(1);
    expect(ws.messages.at(-1)!.text).toMatch(/read-only/);
  });

  it("merge turns shapes on several frames into one track and removes them", () => {
    const { ws, store } = workspace({ shapes: [rect(1, 0, 0), rect(2, 3, 30), rect(3, 6, 60)] as never });
    for (const [frame, id] of [[3, 2], [0, 1], [6, 3]]) {
      ws.goto(frame);
      ws.mergeSelection.push({ ...ws.find(`shape:${id}`)!, frameOf: frame });
    }
    ws.merge();
    expect(store.pending).toHaveLength(1); // one op: all of it or nothing
    const edit = store.pending[0].command;
    if (edit.type !== "edit") throw new Error(edit.type);
    expect(edit.create.tracks[0].shapes.map((s) => [s.frame, s.points[0]])).toEqual([[0, 0], [3, 30], [6, 60]]);
    expect(edit.delete).toMatchObject({ shapes: [{ id: 1 }, { id: 2 }, { id: 3 }] });
    expect(store.view.shapes.size).toBe(0);
    expect(store.view.tracks.size).toBe(1);
  });

  it("split ends the track here and continues it as a new one", () => {
    const kf = (frame: number, x: number) => ({ frame, type: "rectangle", points: [x, 0, x + 10, 10] });
    const { ws, store } = workspace({
      tracks: [{ id: 3, frame: 0, label_id: 1, shapes: [kf(0, 0), kf(4, 40), kf(8, 80)], elements: [] } as never],
    });
    ws.goto(2);
    ws.select("track:3");
    ws.split();
    expect(store.pending).toHaveLength(1);
    const edit = store.pending[0].command;
    if (edit.type !== "edit") throw new Error(edit.type);
    expect(edit.create.tracks[0].shapes.map((s) => [s.frame, s.points[0], s.outside])).toEqual([[2, 20, false], [4, 40, false], [8, 80, false]]);
    expect(edit.update.tracks).toMatchObject([{ id: 3, shapes: [{ frame: 0 }, { frame: 2, outside: true, points: [20, 0, 30, 10] }] }]);
    // shown at once: the old track ends here, the new one holds the rest
    expect(store.view.tracks.get(3)!.shapes.map((s) => [s.frame, s.outside])).toEqual([[0, false], [2, true]]);
    const [, added] = [...store.view.tracks.values()];
    expect(added.shapes.map((s) => s.frame)).toEqual([2, 4, 8]);
    ws.goto(6);
    expect(ws.objects().filter((o) => !o.outside).map((o) => [o.key, o.points[0]])).toEqual([[`track:${added.id}`, 60]]);
  });

  it("split of a skeleton track carries its points: ended here, continued in the new track", () => {
    const body = (frame: number) => ({ frame, type: "skeleton", points: [] });
    const point = (frame: number, x: number) => ({ frame, type: "points", points: [x, 1] });
    const { ws, store } = workspace({
      tracks: [{ id: 4, frame: 0, label_id: 1, shapes: [body(0), body(6)], elements: [
        { id: 5, frame: 0, label_id: 2, shapes: [point(0, 0), point(6, 60)] },
      ] } as never],
    }); // prettier-ignore
    ws.goto(3);
    ws.split(ws.find("track:4"));
    const edit = store.pending[0].command;
    if (edit.type !== "edit") throw new Error(edit.type);
    expect(edit.create.tracks[0].elements[0].shapes.map((s) => [s.frame, s.points[0]])).toEqual([[3, 30], [6, 60]]);
    expect(edit.update.tracks[0].elements).toMatchObject([{ id: 5, shapes: [{ frame: 0 }, { frame: 3, outside: true }] }]);
    expect(store.view.tracks.get(4)!.elements[0].shapes.map((s) => s.frame)).toEqual([0, 3]);
  });

  it("copy/paste, propagate and group", () => {
    const { ws, store } = workspace({ shapes: [rect(1, 0, 0), rect(2, 0, 50)] as never });
    ws.select("shape:1");
    ws.copy();
    ws.paste();
    const pasted = last(store);
    expect(pasted.type === "create" && pasted.shapes[0].points).toEqual([10, 10, 20, 20]); // offset on its own frame
    ws.propagate(3);
    const copies = last(store);
    expect(copies.type === "create" && copies.shapes.map((s) => s.frame)).toEqual([1, 2, 3]);
    ws.goto(0);
    ws.select("shape:1");
    ws.select("shape:2", true);
    ws.group();
    expect(last(store)).toMatchObject({ type: "update", shapes: [{ id: 1, group: 1 }, { id: 2, group: 1 }] });
  });

  it("a new label brings its default attributes", () => {
    const { ws, store } = workspace({ shapes: [rect(1, 0, 0)] as never });
    ws.setLabelOf(ws.find("shape:1")!, 2);
    expect(last(store)).toMatchObject({ type: "update", shapes: [{ id: 1, label_id: 2, attributes: [] }] });
  });

  it("a job that turns read-only stops drawing and editing shortcuts, and comes back", async () => {
    vi.useFakeTimers();
    try {
      const server = new FakeServer();
      const store = new JobStore();
      const rt = new RealtimeClient({ url: "ws://x", job: 1, store, makeSocket: server.socketFactory(2) });
      const ws = new Workspace(
        { id: 1, task_id: 1, start_frame: 0, stop_frame: 9, mode: "annotation" },
        [0, 1, 2], () => ({ width: 100, height: 100, name: "f" }), LABELS, store, rt,
      ); // prettier-ignore
      rt.start();
      await vi.advanceTimersByTimeAsync(0);
      ws.setTool({ kind: "draw", shape: "polygon", track: false });
      server.setAccess(2, "job is in validation");
      expect(ws.readOnly).toBe(true);
      expect(ws.accessReason).toBe("job is in validation");
      expect(ws.tool.kind).toBe("select");
      const event = (k: string) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, target: null }) as unknown as KeyboardEvent;
      const key = (k: string) => handleKey(event(k), ws, null, new Set());
      key("n"); // would draw again with the polygon
      key("m"); // would start merge mode
      expect(ws.tool.kind).toBe("select");
      expect(ws.mergeMode).toBe(false);
      expect(ws.messages.at(-1)!.text).toBe("Read-only: job is in validation");
      ws.create("rectangle", [0, 0, 5, 5]);
      expect(store.pending).toHaveLength(0);
      key("h"); // local view changes stay
      server.setAccess(2, null);
      expect(ws.readOnly).toBe(false);
      key("n");
      expect(ws.tool).toMatchObject({ kind: "draw", shape: "polygon" });
      rt.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it("keys pressed inside a dialog are left to it: Esc closes it, F and Del do nothing", () => {
    const { ws, store } = workspace({ shapes: [rect(1, 0, 0)] as never });
    ws.select("shape:1");
    const inDialog = { tagName: "BUTTON", isContentEditable: false, closest: (s: string) => (s === "dialog" ? {} : null) };
    const event = (k: string) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, target: inDialog }) as unknown as KeyboardEvent;
    for (const k of ["f", "Delete", "Escape"]) expect(handleKey(event(k), ws, null, new Set())).toBe(false);
    expect(ws.frame).toBe(0);
    expect(store.pending).toHaveLength(0);
    expect(ws.selection).toEqual(["shape:1"]);
  });

  it("Tab, Up, Down and digits are attribute annotation mode's only: elsewhere Tab leaves the canvas", () => {
    const { ws } = workspace({ shapes: [rect(1, 0, 0), rect(2, 0, 20)] as never });
    const canvas = { tagName: "CANVAS", isContentEditable: false, closest: (s: string) => (s === "canvas" ? {} : null) };
    const event = (k: string) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, target: canvas }) as unknown as KeyboardEvent;
    const key = (k: string) => handleKey(event(k), ws, null, new Set());
    expect(["Tab", "ArrowDown", "1"].map(key)).toEqual([false, false, false]);
    expect(ws.active).toBeUndefined();
    ws.attributeMode = true;
    expect(key("Tab")).toBe(true);
    expect(ws.active?.key).toBe("shape:1");
  });

  it("G starts a fresh group pick as in CVAT: a click on the active object adds it, a drag adds those inside", () => {
    const { ws, store } = workspace({ shapes: [rect(1, 0, 0), rect(2, 0, 20), rect(3, 0, 60)] as never });
    ws.select("shape:1");
    ws.toggleGroupMode();
    expect(ws.selection).toEqual([]);
    ws.select("shape:1", true); // the canvas's click in group mode
    expect(ws.selection).toEqual(["shape:1"]);
    ws.pickArea([15, -1, 40, 11]);
    expect(ws.selection).toEqual(["shape:1", "shape:2"]);
    ws.toggleGroupMode();
    expect(ws.groupMode).toBe(false);
    expect(last(store)).toMatchObject({ type: "update", shapes: [{ id: 1, group: 1 }, { id: 2, group: 1 }] });
  });

  it("one skeleton point goes outside or occluded alone, on a shape and as a track keyframe", () => {
    const pt = (id: number, x: number) => ({ id, type: "points", frame: 0, label_id: 1, points: [x, x], outside: false, occluded: false });
    const { ws, store } = workspace({
      shapes: [{ id: 5, type: "skeleton", frame: 0, label_id: 1, points: [], elements: [pt(6, 1), pt(7, 9)] }] as never,
      tracks: [{ id: 8, frame: 0, label_id: 1, shapes: [{ frame: 0, type: "skeleton", points: [] }],
        elements: [{ id: 9, frame: 0, label_id: 1, shapes: [{ frame: 0, type: "points", points: [2, 2] }] },
          { id: 10, frame: 0, label_id: 1, shapes: [{ frame: 0, type: "points", points: [8, 8] }] }] }] as never,
    }); // prettier-ignore
    ws.select("shape:5");
    ws.setActiveElement(7);
    ws.toggleElement("outside");
    expect(last(store)).toMatchObject({ type: "update", shapes: [{ id: 5, elements: [{ id: 7, outside: true }] }] });
    expect(ws.active!.elements.map((e) => e.outside)).toEqual([false, true]); // shown at once
    ws.select("track:8");
    ws.goto(3);
    ws.setActiveElement(9);
    ws.toggleElement("occluded");
    const cmd = last(store);
    expect(cmd).toMatchObject({ type: "set_keyframe", track_id: 8, shape: { frame: 3 } });
    if (cmd.type !== "set_keyframe") return;
    expect(cmd.elements!.map((e) => [e.element_id, e.shape.occluded, e.shape.outside])).toEqual([[9, true, false], [10, false, false]]);
  });

  it("review events show in the issue list before the API's list has them", () => {
    let issues = foldIssue([], "IssueCreated", { issue_id: 3, frame: 2, position: [1, 2, 3, 4] }, 7);
    expect(issues).toMatchObject([{ id: 3, frame: 2, job: 7, resolved: false }]);
    issues = foldIssue(issues, "IssueUpdated", { issue_id: 3, resolved: true }, 7);
    expect(issues[0].resolved).toBe(true);
    expect(foldIssue(issues, "CommentCreated", { issue_id: 3 }, 7)).toBe(issues);
    expect(foldIssue(issues, "IssueDeleted", { issue_id: 3 }, 7)).toEqual([]);
  });
});
