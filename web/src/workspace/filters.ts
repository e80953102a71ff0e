// Annotation filters (CVAT's "Filter" in the top bar): rules on an object's label, kind
// (shape, track, tag), shape type, occluded flag, an attribute's value, its size or id,
// joined by "and" or "or". Objects that do not match are hidden; Left/Right go to the
// previous/next frame with a match. Pure: the workspace compiles a filter once per change.
import { bbox } from "./canvas/geometry";
import type { SceneObject } from "./canvas/scene";
import type { Label } from "./model/types";

export const FIELDS = ["label", "type", "shape", "occluded", "attribute", "width", "height", "id"] as const;
export type Field = (typeof FIELDS)[number];
/** CVAT's operators: comparisons, ranges ("between": `value`..`value2`), lists ("in": values
 * separated by commas), text ("like": contains), and emptiness (no value). */
export const OPS = [
  "==", "!=", ">", ">=", "<", "<=", "between", "not between", "in", "not in",
  "like", "starts with", "ends with", "is empty", "is not empty",
] as const; // prettier-ignore
export type Op = (typeof OPS)[number];
/** Fields compared as numbers (ranges and order); the others as text. */
export const NUMERIC: ReadonlySet<Field> = new Set(["width", "height", "id"]);
const ORDER: ReadonlySet<Op> = new Set([">", ">=", "<", "<=", "between", "not between"]);
const TEXT: ReadonlySet<Op> = new Set(["like", "starts with", "ends with"]);
export const NO_VALUE: ReadonlySet<Op> = new Set(["is empty", "is not empty"]);

/** The operators that make sense for `field`. */
export function opsFor(field: Field): Op[] {
  return OPS.filter((op) => (NUMERIC.has(field) ? !TEXT.has(op) : !ORDER.has(op)));
}

export interface Rule {
  field: Field;
  op: Op;
  value: string;
  /** The upper bound of "between" and "not between". */
  value2?: string;
  /** For field "attribute": the attribute's name (any label's attribute of that name). */
  attribute?: string;
}

/** Rules and groups joined by one operator; `not` keeps what does not match (CVAT's groups). */
export interface Group {
  join: "and" | "or";
  not?: boolean;
  rules: (Rule | Group)[];
}

export type Filter = Group;

export const isGroup = (n: Rule | Group): n is Group => "join" in n;

export const NO_FILTER: Filter = { join: "and", rules: [] };

export type Matcher = (o: SceneObject) => boolean;

const list = (v: string) => v.split(",").map((x) => x.trim().toLowerCase()).filter(Boolean);

function compare(actual: string | number | undefined, r: Rule, numeric: boolean): boolean {
  const { op } = r;
  const empty = actual === undefined || String(actual) === "";
  if (op === "is empty" || op === "is not empty") return empty === (op === "is empty");
  if (empty) return op === "!=" || op === "not in"; // no size (a tag) is in no range
  if (op === "in" || op === "not in") {
    const hit = numeric ? list(r.value).map(Number).includes(Number(actual)) : list(r.value).includes(String(actual).toLowerCase());
    return hit === (op === "in");
  }
  if (numeric || ORDER.has(op)) {
    const [a, b, c] = [Number(actual), Number(r.value), Number(r.value2)];
    if (Number.isNaN(b) || Number.isNaN(a)) return false;
    switch (op) {
      case "==": return a === b;
      case "!=": return a !== b;
      case ">": return a > b;
      case ">=": return a >= b;
      case "<": return a < b;
      case "<=": return a <= b;
      case "between": return !Number.isNaN(c) && a >= Math.min(b, c) && a <= Math.max(b, c);
      case "not between": return !Number.isNaN(c) && !(a >= Math.min(b, c) && a <= Math.max(b, c));
      default: return false;
    } // prettier-ignore
  }
  const [text, wanted] = [String(actual).toLowerCase(), r.value.trim().toLowerCase()];
  switch (op) {
    case "==": return text === wanted;
    case "!=": return text !== wanted;
    case "like": return text.includes(wanted);
    case "starts with": return text.startsWith(wanted);
    case "ends with": return text.endsWith(wanted);
    default: return false;
  } // prettier-ignore
}

/** Whether a rule is filled in enough to apply (a value, both bounds, or none needed). */
function complete(r: Rule): boolean {
  if (NO_VALUE.has(r.op) || r.field === "occluded") return true;
  if (r.value.trim() === "") return false;
  return !(r.op === "between" || r.op === "not between") || (r.value2 ?? "").trim() !== "";
}

function size(o: SceneObject): { width: number; height: number } | undefined {
  if (o.type === "tag") return undefined;
  const points = o.type === "skeleton" ? o.elements.flatMap((e) => e.points) : o.points;
  if (!points.length) return undefined;
  const b = bbox(o.type === "skeleton" ? "points" : o.type, points, o.rotation);
  return { width: b.x2 - b.x1, height: b.y2 - b.y1 };
}

/** A predicate for `filter`, or null when it has no complete rule (everything shows). */
export function compile(filter: Filter, labelById: ReadonlyMap<number, Label>): Matcher | null {
  const rule = (r: Rule): Matcher => {
    const numeric = NUMERIC.has(r.field);
    const value = (o: SceneObject): string | number | undefined => {
      switch (r.field) {
        case "label": return labelById.get(o.labelId)?.name;
        case "type": return o.kind;
        case "shape": return o.type;
        case "occluded": return String(o.occluded);
        case "width": return size(o)?.width;
        case "height": return size(o)?.height;
        case "id": return o.id;
        case "attribute": {
          const spec = labelById.get(o.labelId)?.attributes.find((a) => a.name === r.attribute);
          if (!spec) return undefined;
          return [...o.attributes, ...o.shapeAttributes].find((a) => a.spec_id === spec.id)?.value ?? spec.default_value;
        }
      } // prettier-ignore
    };
    return (o) => compare(value(o), r, numeric);
  };
  const group = (g: Group): Matcher | null => {
    const tests = g.rules.map((n) => (isGroup(n) ? group(n) : complete(n) ? rule(n) : null)).filter((t): t is Matcher => t !== null);
    if (!tests.length) return null;
    const match: Matcher = g.join === "and" ? (o) => tests.every((t) => t(o)) : (o) => tests.some((t) => t(o));
    return g.not ? (o) => !match(o) : match;
  };
  return group(filter);
}

/** A short text for the top bar ("label == car and (not (id > 3 or width between 1 and 5))"). */
export function describeFilter(filter: Filter, top = true): string {
  const text = filter.rules
    .map((n) => {
      if (isGroup(n)) return describeFilter(n, false);
      const what = n.field === "attribute" ? (n.attribute ?? "?") : n.field;
      if (NO_VALUE.has(n.op)) return `${what} ${n.op}`;
      if (n.op === "between" || n.op === "not between") return `${what} ${n.op} ${n.value} and ${n.value2 ?? ""}`;
      return `${what} ${n.op} ${n.value}`;
    })
    .join(` ${filter.join} `);
  const inner = top && !filter.not ? text : `(${text})`;
  return filter.not ? `not ${inner}` : inner;
}

/** How many rules the filter holds, groups' included (the top bar's count). */
export function countRules(filter: Filter): number {
  return filter.rules.reduce((n, r) => n + (isGroup(r) ? countRules(r) : 1), 0);
}
