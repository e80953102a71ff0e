// The labels editor's working copy (drafts) and its conversions: from the API's labels, to
// the `labels` list of a new project/task, to the PATCH edits that turn the saved labels into
// the drafts, and to/from the "Raw" JSON text. Pure functions, unit-tested.
//
// What CVAT's server accepts, the editor offers: saved attributes cannot be removed, and a
// saved skeleton's points and layout cannot be changed (only its name, colour, attributes).

import {
  INPUT_TYPES,
  LABEL_TYPES,
  type Attribute,
  type AttributeEdit,
  type InputType,
  type Label,
  type LabelEdit,
  type LabelType,
} from "../../api/types";

export interface AttrDraft {
  key: string;
  id?: number;
  name: string;
  input_type: InputType;
  mutable: boolean;
  /** select/radio: the options; number: [min, max, step]; others: unused. */
  values: string[];
  default_value: string;
}

export interface PointDraft {
  key: string;
  id?: number;
  name: string;
  color: string;
  /** Position in the skeleton's 100 x 100 layout box. */
  x: number;
  y: number;
}

export interface LabelDraft {
  key: string;
  id?: number;
  name: string;
  color: string;
  type: LabelType;
  attributes: AttrDraft[];
  /** Skeleton points (sublabels) and edges between them (indexes into `points`). */
  points: PointDraft[];
  edges: [number, number][];
}

// CVAT's palette (the server hands out the same when a label has no colour).
export const PALETTE = [
  "#33ddff", "#fa3253", "#34d1b7", "#ff007c", "#ff6037", "#ddff33", "#24b353", "#b83df5",
  "#66ff66", "#32b7fa", "#ffcc33", "#83e070", "#fafa37", "#5986b3", "#8c78f0", "#ff6a4d",
];

let counter = 0;
export const newKey = (): string => `k${++counter}`;

export function nextColor(used: readonly string[]): string {
  const taken = new Set(used.map((c) => c.toLowerCase()));
  return PALETTE.find((c) => !taken.has(c)) ?? PALETTE[used.length % PALETTE.length];
}

export function newAttribute(): AttrDraft {
  return { key: newKey(), name: "", input_type: "select", mutable: false, values: [], default_value: "" };
}

export function newLabel(used: readonly string[]): LabelDraft {
  return { key: newKey(), name: "", color: nextColor(used), type: "any", attributes: [], points: [], edges: [] };
}

/** Attribute values when its input type changes: keep what still makes sense. */
export function retype(attr: AttrDraft, input_type: InputType): AttrDraft {
  if (input_type === attr.input_type) return attr;
  const lists = (t: InputType) => t === "select" || t === "radio";
  if (lists(input_type) && lists(attr.input_type)) return { ...attr, input_type };
  const fresh: Record<InputType, Pick<AttrDraft, "values" | "default_value">> = {
    select: { values: [], default_value: "" },
    radio: { values: [], default_value: "" },
    checkbox: { values: [], default_value: "false" },
    number: { values: ["0", "100", "1"], default_value: "0" },
    text: { values: [], default_value: "" },
  };
  return { ...attr, input_type, ...fresh[input_type] };
}

// --- skeleton layout (CVAT's svg) -------------------------------------------------------

function tagAttributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:-]+)="([^"]*)"/g)) out[m[1]] = m[2];
  return out;
}

const unescapeXml = (s: string) =>
  s.replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
const escapeXml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Points on a circle, for sublabels the svg does not place. */
export function defaultPosition(index: number, count: number): { x: number; y: number } {
  const angle = (2 * Math.PI * index) / Math.max(1, count) - Math.PI / 2;
  return { x: round(50 + 35 * Math.cos(angle)), y: round(50 + 35 * Math.sin(angle)) };
}

const round = (v: number) => Math.round(v * 100) / 100;

/** Positions and edges of a skeleton's points from CVAT's svg (circles name their point by
 * data-label-id or data-label-name; lines join data-node-from/to, 1-based node ids). */
export function parseSkeleton(
  svg: string,
  sublabels: readonly { id?: number; name: string }[],
): { positions: ({ x: number; y: number } | null)[]; edges: [number, number][] } {
  const positions: ({ x: number; y: number } | null)[] = sublabels.map(() => null);
  const nodeIndex = new Map<string, number>();
  for (const m of svg.matchAll(/<circle\b[^>]*>/g)) {
    const a = tagAttributes(m[0]);
    const byId = a["data-label-id"] !== undefined ? Number(a["data-label-id"]) : undefined;
    const byName = a["data-label-name"] !== undefined ? unescapeXml(a["data-label-name"]) : undefined;
    const index = sublabels.findIndex((s) => (byId !== undefined && s.id === byId) || s.name === byName);
    if (index < 0) continue;
    const x = Number(a.cx);
    const y = Number(a.cy);
    if (Number.isFinite(x) && Number.isFinite(y)) positions[index] = { x, y };
    if (a["data-node-id"]) nodeIndex.set(a["data-node-id"], index);
  }
  const edges: [number, number][] = [];
  for (const m of svg.matchAll(/<line\b[^>]*>/g)) {
    const a = tagAttributes(m[0]);
    const from = nodeIndex.get(a["data-node-from"] ?? "");
    const to = nodeIndex.get(a["data-node-to"] ?? "");
    if (from !== undefined && to !== undefined && from !== to) edges.push([from, to]);
  }
  return { positions, edges };
}

/** CVAT's svg for a new skeleton: a line per edge, then a circle per point (node id = index
 * + 1, named by data-label-name as CVAT's UI sends it before the points have ids). */
export function skeletonSvg(points: readonly PointDraft[], edges: readonly [number, number][]): string {
  const lines = edges
    .filter(([a, b]) => points[a] && points[b])
    .map(
      ([a, b]) =>
        `<line x1="${points[a].x}" y1="${points[a].y}" x2="${points[b].x}" y2="${points[b].y}" ` +
        `stroke="black" data-type="edge" data-node-from="${a + 1}" stroke-width="0.5" ` +
        `data-node-to="${b + 1}"></line>`,
    );
  const circles = points.map(
    (p, i) =>
      `<circle r="1.5" stroke="black" fill="#b3b3b3" cx="${p.x}" cy="${p.y}" stroke-width="0.1" ` +
      `data-type="element node" data-element-id="${i + 1}" data-node-id="${i + 1}" ` +
      `data-label-name="${escapeXml(p.name)}"></circle>`,
  );
  return [...lines, ...circles].join("");
}

// --- from the API -----------------------------------------------------------------------

function attrDraft(a: Attribute | AttributeEdit): AttrDraft {
  return {
    key: newKey(),
    id: a.id,
    name: a.name,
    input_type: a.input_type,
    mutable: a.mutable,
    values: [...a.values],
    default_value: a.default_value,
  };
}

export function fromApi(label: Label | LabelEdit): LabelDraft {
  const subs = label.sublabels ?? [];
  const { positions, edges } = parseSkeleton(label.svg ?? "", subs.map((s) => ({ id: s.id, name: s.name ?? "" })));
  return {
    key: newKey(),
    id: label.id,
    name: label.name ?? "",
    color: label.color ?? "",
    type: label.type ?? "any",
    attributes: (label.attributes ?? []).map(attrDraft),
    points: subs.map((s, i) => ({
      key: newKey(),
      id: s.id,
      name: s.name ?? "",
      color: s.color ?? "",
      ...(positions[i] ?? defaultPosition(i, subs.length)),
    })),
    edges,
  };
}

// --- to the API -------------------------------------------------------------------------

export function attributeEdit(a: AttrDraft): AttributeEdit {
  const name = a.name.trim();
  const base = { ...(a.id !== undefined ? { id: a.id } : {}), name, mutable: a.mutable, input_type: a.input_type };
  switch (a.input_type) {
    case "select":
    case "radio": {
      const values = a.values.map((v) => v.trim()).filter(Boolean);
      const def = values.includes(a.default_value) ? a.default_value : (values[0] ?? "");
      return { ...base, values, default_value: def };
    }
    case "checkbox": {
      const def = a.default_value === "true" ? "true" : "false";
      return { ...base, values: [def], default_value: def };
    }
    case "number": {
      const values = a.values.slice(0, 3).map((v) => v.trim());
      return { ...base, values, default_value: a.default_value.trim() || values[0] || "0" };
    }
    default:
      return { ...base, values: [], default_value: a.default_value };
  }
}

/** A whole label as a new one (no ids): for a new project/task or a label added by PATCH. */
export function labelCreate(d: LabelDraft): LabelEdit {
  const edit: LabelEdit = {
    name: d.name.trim(),
    color: d.color,
    type: d.type,
    attributes: d.attributes.map((a) => ({ ...attributeEdit(a), id: undefined })).map(dropUndefined),
  };
  if (d.type === "skeleton") {
    edit.sublabels = d.points.map((p) => ({ name: p.name.trim(), color: p.color, type: "points", attributes: [] }));
    edit.svg = skeletonSvg(d.points, d.edges);
  }
  return edit;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export const createEdits = (drafts: readonly LabelDraft[]): LabelEdit[] => drafts.map(labelCreate);

function sameAttribute(a: Attribute, e: AttributeEdit): boolean {
  return (
    a.name === e.name &&
    a.mutable === e.mutable &&
    a.input_type === e.input_type &&
    a.default_value === e.default_value &&
    a.values.join("\n") === e.values.join("\n")
  );
}

/** The PATCH `labels` edits that make `saved` into `drafts`: new labels in full, changed
 * fields of kept ones (attributes: changed and new only), `deleted` for the ones removed. */
export function patchEdits(saved: readonly Label[], drafts: readonly LabelDraft[]): LabelEdit[] {
  const edits: LabelEdit[] = [];
  const byId = new Map(saved.map((l) => [l.id, l]));
  const kept = new Set<number>();
  for (const d of drafts) {
    const before = d.id !== undefined ? byId.get(d.id) : undefined;
    if (!before) {
      edits.push(labelCreate(d));
      continue;
    }
    kept.add(before.id);
    const edit: LabelEdit = { id: before.id };
    if (d.name.trim() !== before.name) edit.name = d.name.trim();
    if (d.color.toLowerCase() !== before.color.toLowerCase()) edit.color = d.color;
    if (d.type !== before.type) edit.type = d.type;
    const savedAttrs = new Map(before.attributes.map((a) => [a.id, a]));
    const attrs = d.attributes
      .map(attributeEdit)
      .filter((a) => {
        const old = a.id !== undefined ? savedAttrs.get(a.id) : undefined;
        return !old || !sameAttribute(old, a);
      })
      .map(dropUndefined);
    if (attrs.length) edit.attributes = attrs;
    if (Object.keys(edit).length > 1) edits.push(edit);
  }
  for (const l of saved) if (!kept.has(l.id)) edits.push({ id: l.id, deleted: true });
  return edits;
}

// --- checks -----------------------------------------------------------------------------

const isNumber = (s: string) => s.trim() !== "" && Number.isFinite(Number(s));

/** What the server would refuse, said before saving (each message names the label). */
export function problems(drafts: readonly LabelDraft[]): string[] {
  const out: string[] = [];
  const names = new Set<string>();
  drafts.forEach((d, i) => {
    const who = d.name.trim() ? `Label "${d.name.trim()}"` : `Label ${i + 1}`;
    if (!d.name.trim()) out.push(`${who}: a name is required.`);
    else if (names.has(d.name.trim())) out.push(`${who}: the name is used twice.`);
    names.add(d.name.trim());
    if (!/^#[0-9a-fA-F]{6}$/.test(d.color)) out.push(`${who}: the colour must look like #rrggbb.`);
    if (d.type === "skeleton") {
      if (!d.points.length) out.push(`${who}: a skeleton needs at least one point.`);
      const pointNames = d.points.map((p) => p.name.trim());
      if (pointNames.some((n) => !n)) out.push(`${who}: every point needs a name.`);
      if (new Set(pointNames).size !== pointNames.length) out.push(`${who}: point names must differ.`);
    }
    const attrNames = new Set<string>();
    for (const a of d.attributes) {
      const name = a.name.trim();
      const where = `${who}, attribute "${name || "(unnamed)"}"`;
      if (!name) out.push(`${where}: a name is required.`);
      else if (attrNames.has(name)) out.push(`${where}: the name is used twice.`);
      attrNames.add(name);
      if ((a.input_type === "select" || a.input_type === "radio") && !a.values.some((v) => v.trim())) {
        out.push(`${where}: give at least one value.`);
      }
      if (a.input_type === "number") {
        const [min, max, step] = a.values;
        if (![min, max, step].every((v) => v !== undefined && isNumber(v))) {
          out.push(`${where}: min, max and step must be numbers.`);
        } else if (Number(min) > Number(max) || Number(step) <= 0) {
          out.push(`${where}: needs min <= max and a step above 0.`);
        } else if (a.default_value.trim() !== "") {
          const v = Number(a.default_value);
          if (!isNumber(a.default_value) || v < Number(min) || v > Number(max)) {
            out.push(`${where}: the default must lie between min and max.`);
          }
        }
      }
    }
  });
  return out;
}

/** What keeps the labels from being saved: JSON on the Raw tab that does not parse comes
 * first (saving would silently drop what was typed there), then `problems`. */
export function saveProblems(drafts: readonly LabelDraft[], rawError: string | null): string[] {
  if (rawError) return [`The labels on the Raw tab cannot be used (${rawError}): fix the JSON or press Reset.`];
  return problems(drafts);
}

// --- raw JSON ---------------------------------------------------------------------------

/** The drafts as CVAT's "Raw" tab shows them: the API's label list, ids included. */
export function toRaw(drafts: readonly LabelDraft[]): string {
  return JSON.stringify(
    drafts.map((d) => ({ ...(d.id !== undefined ? { id: d.id } : {}), ...labelCreate(d), attributes: d.attributes.map(attributeEdit).map(dropUndefined) })),
    null,
    2,
  );
}

function fail(message: string): never {
  throw new Error(message);
}

function readAttribute(raw: unknown, where: string): AttributeEdit {
  if (!raw || typeof raw !== "object") fail(`${where}: an attribute must be an object.`);
  const a = raw as Record<string, unknown>;
  if (typeof a.name !== "string") fail(`${where}: "name" must be a string.`);
  if (!INPUT_TYPES.includes(a.input_type as InputType)) {
    fail(`${where}: "input_type" must be one of ${INPUT_TYPES.join(", ")}.`);
  }
  const values = a.values ?? [];
  if (!Array.isArray(values)) fail(`${where}: "values" must be a list of strings.`);
  return {
    ...(typeof a.id === "number" ? { id: a.id } : {}),
    name: a.name,
    input_type: a.input_type as InputType,
    mutable: Boolean(a.mutable),
    values: values.map(String),
    default_value: a.default_value === undefined ? "" : String(a.default_value),
  };
}

function readLabel(raw: unknown, where: string): LabelEdit {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) fail(`${where}: a label must be an object.`);
  const l = raw as Record<string, unknown>;
  if (typeof l.name !== "string") fail(`${where}: "name" must be a string.`);
  const type = (l.type ?? "any") as LabelType;
  if (!LABEL_TYPES.includes(type)) fail(`${where}: "type" must be one of ${LABEL_TYPES.join(", ")}.`);
  if (l.color !== undefined && typeof l.color !== "string") fail(`${where}: "color" must be a string.`);
  const attributes = l.attributes ?? [];
  if (!Array.isArray(attributes)) fail(`${where}: "attributes" must be a list.`);
  const sublabels = l.sublabels ?? [];
  if (!Array.isArray(sublabels)) fail(`${where}: "sublabels" must be a list.`);
  return {
    ...(typeof l.id === "number" ? { id: l.id } : {}),
    name: l.name,
    color: (l.color as string | undefined) ?? "",
    type,
    svg: typeof l.svg === "string" ? l.svg : "",
    attributes: attributes.map((a, i) => readAttribute(a, `${where}.attributes[${i}]`)),
    sublabels: sublabels.map((s, i) => readLabel(s, `${where}.sublabels[${i}]`)),
  };
}

/** Drafts from Raw JSON text; an Error names what is wrong. Colourless labels get the next
 * free palette colour. */
export function fromRaw(text: string): LabelDraft[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail(`Not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) fail("The labels must be a JSON list.");
  const drafts = parsed.map((raw, i) => fromApi(readLabel(raw, `labels[${i}]`)));
  const used: string[] = [];
  for (const d of drafts) {
    if (!d.color) d.color = nextColor(used);
    used.push(d.color);
    d.points.forEach((p) => (p.color ||= "#b3b3b3"));
  }
  return drafts;
}

// --- skeleton edits -----------------------------------------------------------------------

/** The skeleton without point `index`: its edges go, the others keep their ends. */
export function withoutPoint(d: LabelDraft, index: number): LabelDraft {
  const shift = (i: number) => (i > index ? i - 1 : i);
  return {
    ...d,
    points: d.points.filter((_, i) => i !== index),
    edges: d.edges.filter(([a, b]) => a !== index && b !== index).map(([a, b]) => [shift(a), shift(b)]),
  };
}

/** The first pair of points not joined yet (either way round), or null when all are. */
export function freePair(d: LabelDraft): [number, number] | null {
  const joined = new Set(d.edges.flatMap(([a, b]) => [`${a}-${b}`, `${b}-${a}`]));
  for (let a = 0; a < d.points.length; a++) {
    for (let b = a + 1; b < d.points.length; b++) if (!joined.has(`${a}-${b}`)) return [a, b];
  }
  return null;
}
