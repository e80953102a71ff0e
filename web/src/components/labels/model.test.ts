import { describe, expect, it } from "vitest";
import type { Label } from "../../api/types";
import {
  createEdits,
  freePair,
  fromApi,
  fromRaw,
  nextColor,
  parseSkeleton,
  patchEdits,
  PALETTE,
  problems,
  retype,
  saveProblems,
  skeletonSvg,
  toRaw,
  withoutPoint,
  type LabelDraft,
} from "./model";

function saved(overrides: Partial<Label> = {}): Label {
  return {
    id: 7,
    name: "car",
    color: "#33ddff",
    type: "rectangle",
    svg: "",
    attributes: [
      { id: 70, name: "color", mutable: false, input_type: "select", values: ["red", "blue"], default_value: "red" },
      { id: 71, name: "speed", mutable: true, input_type: "number", values: ["0", "200", "5"], default_value: "0" },
    ],
    sublabels: [],
    project_id: 1,
    task_id: null,
    parent_id: null,
    has_parent: false,
    ...overrides,
  };
}

function draft(overrides: Partial<LabelDraft> = {}): LabelDraft {
  return { key: "x", name: "person", color: "#fa3253", type: "any", attributes: [], points: [], edges: [], ...overrides };
}

describe("label drafts to the API", () => {
  it("creates labels with attributes of every input type, values normalised", () => {
    const [edit] = createEdits([
      draft({
        attributes: [
          { key: "a", name: " kind ", input_type: "radio", mutable: false, values: ["a", " ", "b"], default_value: "zzz" },
          { key: "b", name: "parked", input_type: "checkbox", mutable: true, values: [], default_value: "true" },
          { key: "c", name: "age", input_type: "number", values: ["1", "9", "2"], mutable: false, default_value: "" },
          { key: "d", name: "note", input_type: "text", values: ["x"], mutable: true, default_value: "hi" },
        ],
      }),
    ]);
    expect(edit).toEqual({
      name: "person",
      color: "#fa3253",
      type: "any",
      attributes: [
        { name: "kind", input_type: "radio", mutable: false, values: ["a", "b"], default_value: "a" },
        { name: "parked", input_type: "checkbox", mutable: true, values: ["true"], default_value: "true" },
        { name: "age", input_type: "number", mutable: false, values: ["1", "9", "2"], default_value: "1" },
        { name: "note", input_type: "text", mutable: true, values: [], default_value: "hi" },
      ],
    });
  });

  it("sends a skeleton's points as sublabels and its layout as CVAT's svg", () => {
    const d = draft({
      type: "skeleton",
      points: [
        { key: "p", name: "head", color: "#aaaaaa", x: 50, y: 10 },
        { key: "q", name: "hip", color: "#bbbbbb", x: 50, y: 60 },
      ],
      edges: [[0, 1]],
    });
    const [edit] = createEdits([d]);
    expect(edit.sublabels?.map((s) => [s.name, s.type])).toEqual([["head", "points"], ["hip", "points"]]);
    const back = parseSkeleton(edit.svg ?? "", [{ name: "head" }, { name: "hip" }]);
    expect(back.positions).toEqual([{ x: 50, y: 10 }, { x: 50, y: 60 }]);
    expect(back.edges).toEqual([[0, 1]]);
  });

  it("reads a saved skeleton whose svg names points by id", () => {
    const svg =
      '<line x1="1" y1="2" x2="3" y2="4" data-type="edge" data-node-from="2" data-node-to="1"></line>' +
      '<circle r="1" cx="10" cy="20" data-node-id="1" data-label-id="101"></circle>' +
      '<circle r="1" cx="30" cy="40" data-node-id="2" data-label-id="102"></circle>';
    const label = saved({
      type: "skeleton",
      svg,
      attributes: [],
      sublabels: [
        { ...saved(), id: 102, name: "b", attributes: [], parent_id: 7 },
        { ...saved(), id: 101, name: "a", attributes: [], parent_id: 7 },
      ],
    });
    const d = fromApi(label);
    expect(d.points.map((p) => [p.name, p.x, p.y])).toEqual([["b", 30, 40], ["a", 10, 20]]);
    expect(d.edges).toEqual([[0, 1]]);
  });

  it("escapes point names in the svg", () => {
    const svg = skeletonSvg([{ key: "k", name: 'a"b<c', color: "#000000", x: 1, y: 2 }], []);
    expect(svg).toContain('data-label-name="a&quot;b&lt;c"');
    expect(parseSkeleton(svg, [{ name: 'a"b<c' }]).positions).toEqual([{ x: 1, y: 2 }]);
  });
});

describe("PATCH edits", () => {
  it("is empty when nothing changed", () => {
    const label = saved();
    expect(patchEdits([label], [fromApi(label)])).toEqual([]);
  });

  it("sends changed fields, changed and new attributes, new and deleted labels", () => {
    const car = saved();
    const bus = saved({ id: 8, name: "bus", attributes: [] });
    const d = fromApi(car);
    d.name = "automobile";
    d.attributes[0] = { ...d.attributes[0], values: ["red", "blue", "green"] };
    d.attributes.push({ key: "n", name: "plate", input_type: "text", mutable: false, values: [], default_value: "" });
    const added = draft({ name: "bike" });
    const edits = patchEdits([car, bus], [d, added]);
    expect(edits).toEqual([
      {
        id: 7,
        name: "automobile",
        attributes: [
          { id: 70, name: "color", mutable: false, input_type: "select", values: ["red", "blue", "green"], default_value: "red" },
          { name: "plate", mutable: false, input_type: "text", values: [], default_value: "" },
        ],
      },
      { name: "bike", color: "#fa3253", type: "any", attributes: [] },
      { id: 8, deleted: true },
    ]);
  });
});

describe("checks", () => {
  it("names every problem the server would refuse", () => {
    const out = problems([
      draft({ name: "" }),
      draft({ name: "a", color: "red" }),
      draft({ name: "a" }),
      draft({
        name: "b",
        attributes: [
          { key: "1", name: "s", input_type: "select", mutable: false, values: [" "], default_value: "" },
          { key: "2", name: "n", input_type: "number", mutable: false, values: ["5", "1", "1"], default_value: "" },
          { key: "3", name: "m", input_type: "number", mutable: false, values: ["0", "10", "1"], default_value: "11" },
        ],
      }),
      draft({ name: "sk", type: "skeleton" }),
    ]);
    expect(out).toEqual([
      "Label 1: a name is required.",
      'Label "a": the colour must look like #rrggbb.',
      'Label "a": the name is used twice.',
      'Label "b", attribute "s": give at least one value.',
      'Label "b", attribute "n": needs min <= max and a step above 0.',
      'Label "b", attribute "m": the default must lie between min and max.',
      'Label "sk": a skeleton needs at least one point.',
    ]);
  });

  it("passes good labels", () => {
    expect(problems([fromApi(saved())])).toEqual([]);
  });

  it("refuses to save while the Raw tab's JSON does not parse, naming why", () => {
    let why = "";
    try {
      fromRaw('[{"name": "a"');
    } catch (e) {
      why = (e as Error).message;
    }
    const out = saveProblems([draft({ name: "" })], why);
    expect(out).toHaveLength(1); // the drafts' own problems wait: they are not what was typed
    expect(out[0]).toContain(why);
    expect(saveProblems([draft({ name: "" })], null)).toEqual(problems([draft({ name: "" })]));
  });
});

describe("raw JSON", () => {
  it("round-trips the drafts", () => {
    const drafts = [fromApi(saved())];
    const again = fromRaw(toRaw(drafts));
    expect(patchEdits([saved()], again)).toEqual([]);
  });

  it("names what is wrong", () => {
    expect(() => fromRaw("{")).toThrow(/Not valid JSON/);
    expect(() => fromRaw("{}")).toThrow("The labels must be a JSON list.");
    expect(() => fromRaw('[{"name": "a", "type": "blob"}]')).toThrow(/labels\[0\]: "type" must be one of/);
    expect(() => fromRaw('[{"name": "a", "attributes": [{"name": "x", "input_type": "slider"}]}]')).toThrow(
      /labels\[0\]\.attributes\[0\]: "input_type"/,
    );
  });

  it("gives colourless labels free palette colours", () => {
    const drafts = fromRaw('[{"name": "a", "color": "#33ddff"}, {"name": "b"}]');
    expect(drafts[1].color).toBe(PALETTE[1]);
  });
});

describe("helpers", () => {
  it("picks the first unused palette colour", () => {
    expect(nextColor([PALETTE[0].toUpperCase()])).toBe(PALETTE[1]);
  });
  it("keeps select values when switching to radio, resets them for number", () => {
    const a = { key: "k", name: "a", input_type: "select" as const, mutable: false, values: ["x"], default_value: "x" };
    expect(retype(a, "radio").values).toEqual(["x"]);
    expect(retype(a, "number")).toMatchObject({ values: ["0", "100", "1"], default_value: "0" });
  });
});

describe("skeleton edits", () => {
  const sk = draft({
    type: "skeleton",
    points: ["a", "b", "c"].map((name, i) => ({ key: name, name, color: "#000000", x: i, y: i })),
    edges: [[0, 1], [1, 2], [0, 2]],
  });
  it("drops a point with its edges and renumbers the rest", () => {
    const out = withoutPoint(sk, 1);
    expect(out.points.map((p) => p.name)).toEqual(["a", "c"]);
    expect(out.edges).toEqual([[0, 1]]);
  });
  it("finds a pair not joined yet", () => {
    expect(freePair(sk)).toBeNull();
    expect(freePair({ ...sk, edges: [[1, 0]] })).toEqual([0, 2]);
  });
});
