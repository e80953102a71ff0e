import { describe, expect, it } from "vitest";
import { compile, describeFilter, type Filter } from "./filters";
import { JobStore } from "./model/store";
import type { Label, LabeledData } from "./model/types";
import { Workspace } from "./workspace";

const LABELS = [
  { id: 1, name: "car", color: "#ff0000", type: "any", svg: "", sublabels: [], parent_id: null, project_id: null, task_id: 1, has_parent: false,
    attributes: [{ id: 10, name: "color", mutable: false, input_type: "select", values: ["red", "blue"], default_value: "red" }] },
  { id: 2, name: "person", color: "#00ff00", type: "any", svg: "", sublabels: [], parent_id: null, project_id: null, task_id: 1, has_parent: false, attributes: [] },
] as Label[]; // prettier-ignore

const box = (id: number, frame: number, label: number, w: number, extra: object = {}) =>
  ({ id, type: "rectangle", frame, label_id: label, points: [0, 0, w, 10], elements: [], ...extra });

function workspace(data: Partial<LabeledData>) {
  const store = new JobStore();
  store.loadSnapshot(1, { shapes: [], tracks: [], tags: [], ...data } as LabeledData);
  const ws = new Workspace(
    { id: 1, task_id: 1, start_frame: 0, stop_frame: 9, mode: "annotation" },
    Array.from({ length: 10 }, (_, i) => i), () => ({ width: 100, height: 100, name: "f" }), LABELS, store, null,
  ); // prettier-ignore
  return ws;
}

describe("filters", () => {
  const ws = workspace({
    shapes: [box(1, 0, 1, 50, { attributes: [{ spec_id: 10, value: "blue" }] }), box(2, 0, 1, 5, { occluded: true }), box(3, 0, 2, 20)] as never,
    tags: [{ id: 4, frame: 0, label_id: 2 }] as never,
  });
  const ids = (f: Filter) => {
    const match = compile(f, ws.labelById);
    return ws.objects().filter((o) => match?.(o) ?? true).map((o) => o.id);
  };

  it("matches label, kind, shape, occluded, attribute values (default included), size and id", () => {
    expect(ids({ join: "and", rules: [{ field: "label", op: "==", value: "Car" }] })).toEqual([1, 2]);
    expect(ids({ join: "and", rules: [{ field: "type", op: "==", value: "tag" }] })).toEqual([4]);
    expect(ids({ join: "and", rules: [{ field: "shape", op: "!=", value: "rectangle" }] })).toEqual([4]);
    expect(ids({ join: "and", rules: [{ field: "occluded", op: "==", value: "true" }] })).toEqual([2]);
    expect(ids({ join: "and", rules: [{ field: "attribute", attribute: "color", op: "==", value: "red" }] })).toEqual([2]);
    expect(ids({ join: "and", rules: [{ field: "width", op: ">=", value: "20" }] })).toEqual([1, 3]);
    expect(ids({ join: "or", rules: [{ field: "id", op: "<", value: "2" }, { field: "label", op: "==", value: "person" }] })).toEqual([1, 3, 4]);
    expect(ids({ join: "and", rules: [{ field: "label", op: "==", value: "car" }, { field: "width", op: "<", value: "10" }] })).toEqual([2]);
    expect(compile({ join: "and", rules: [{ field: "label", op: "==", value: " " }] }, ws.labelById)).toBeNull();
    expect(describeFilter({ join: "or", rules: [{ field: "attribute", attribute: "color", op: "==", value: "red" }, { field: "id", op: ">", value: "3" }] }))
      .toBe("color == red or id > 3");
  });

  it("CVAT's other operators: between, in, like, starts / ends with, is empty", () => {
    const one = (r: object) => ids({ join: "and", rules: [r as never] });
    expect(one({ field: "width", op: "between", value: "20", value2: "5" })).toEqual([2, 3]);
    expect(one({ field: "width", op: "not between", value: "5", value2: "20" })).toEqual([1]);
    expect(one({ field: "width", op: "between", value: "5" })).toEqual([1, 2, 3, 4]); // incomplete: ignored
    expect(one({ field: "id", op: "in", value: "1, 3" })).toEqual([1, 3]);
    expect(one({ field: "label", op: "not in", value: "car,nothing" })).toEqual([3, 4]);
    expect(one({ field: "label", op: "like", value: "ERS" })).toEqual([3, 4]);
    expect(one({ field: "shape", op: "starts with", value: "rect" })).toEqual([1, 2, 3]);
    expect(one({ field: "shape", op: "ends with", value: "ag" })).toEqual([4]);
    expect(one({ field: "width", op: "is empty", value: "" })).toEqual([4]); // a tag has no size
    expect(one({ field: "attribute", attribute: "color", op: "is not empty", value: "" })).toEqual([1, 2]);
  });

  it("groups nest with their own join and Not", () => {
    const f: Filter = { join: "and", rules: [
      { field: "shape", op: "==", value: "rectangle" },
      { join: "or", not: true, rules: [{ field: "id", op: "==", value: "1" }, { field: "label", op: "==", value: "person" }] },
    ] }; // prettier-ignore
    expect(ids(f)).toEqual([2]);
    expect(describeFilter(f)).toBe("shape == rectangle and not (id == 1 or label == person)");
    expect(compile({ join: "and", rules: [{ join: "or", rules: [] }] }, ws.labelById)).toBeNull();
  });

  it("hides what does not match, and Left/Right seek frames with a match, else with objects", () => {
    const w = workspace({ shapes: [box(1, 0, 1, 5), box(2, 3, 2, 5), box(3, 6, 1, 5), box(4, 8, 2, 5)] as never });
    w.setFilter({ join: "and", rules: [{ field: "label", op: "==", value: "person" }] });
    expect(w.objects(0)).toEqual([]);
    expect(w.objects(3).map((o) => o.id)).toEqual([2]);
    w.seek(1);
    expect(w.frame).toBe(3);
    w.seek(1);
    expect(w.frame).toBe(8);
    w.seek(1); // nothing later at all
    expect(w.frame).toBe(8);
    expect(w.messages.at(-1)!.text).toMatch(/No later frame/);
    w.seek(-1);
    expect(w.frame).toBe(3);
    w.setFilter({ join: "and", rules: [{ field: "label", op: "==", value: "nothing" }] });
    w.seek(-1); // no match anywhere: the previous frame with objects
    expect(w.frame).toBe(0);
  });
});
