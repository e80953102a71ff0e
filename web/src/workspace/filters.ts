// Annotation filters (CVAT's "Filter" in the top bar): rules on an object's label, kind
// (shape, track, tag), shape type, occluded flag, an attribute's value, its size or id,
// joined by "and" or "or". Objects that do not match are hidden; Left/Right go to the
// previous/next frame with a match. Pure: the workspace compiles a filter once per change.
import { bbox } from "./canvas/geometry";
import type { SceneObject } from "./canvas/scene";
import type { Label } from "./model/types";

export const FIELDS = ["label", "type", "shape", "occluded", "attribute", "width", "height", "id"] as const;
export type Field = (typeof FIELDS)[number];
export const OPS = ["==", "!=", ">", ">=", "<", "<="] as const;
export type Op = (typeof OPS)[number];
/** Fields compared as numbers (every operator); the others take == and != only. */
export const NUMERIC: ReadonlySet<Field> = new Set(["width", "height", "id"]);

export interface Rule {
  field: Field;
  op: Op;
  value: string;
  /** For field "attribute": the attribute's name (any label's attribute of that name). */
  attribute?: string;
}

export interface Filter {
  join: "and" | "or";
  rules: Rule[];
}

export const NO_FILTER: Filter = { join: "and", rules: [] };

export type Matcher = (o: SceneObject) => boolean;

function compare(actual: string | number | undefined, op: Op, wanted: string, numeric: boolean): boolean {
  if (actual === undefined) return op === "!=";
  if (numeric) {
    const [a, b] = [Number(actual), Number(wanted)];
    if (Number.isNaN(b)) return false;
    switch (op) {
      case "==": return a === b;
      case "!=": return a !== b;
      case ">": return a > b;
      case ">=": return a >= b;
      case "<": return a < b;
      case "<=": return a <= b;
    } // prettier-ignore
  }
  const equal = String(actual).toLowerCase() === wanted.trim().toLowerCase();
  return op === "==" ? equal : op === "!=" ? !equal : false;
}

function size(o: SceneObject): { width: number; height: number } | undefined {
  if (o.type === "tag") return undefined;
  const points = o.type === "skeleton" ? o.elements.flatMap((e) => e.points) : o.points;
  if (!points.length) return undefined;
  const b = bbox(o.type === "skeleton" ? "points" : o.type, points, o.rotation);
  return { width: b.x2 - b.x1, height: b.y2 - b.y1 };
}

/** A predicate for `filter`, or null when it has no rules (everything shows). */
export function compile(filter: Filter, labelById: ReadonlyMap<number, Label>): Matcher | null {
  const rules = filter.rules.filter((r) => r.value.trim() !== "" || r.field === "occluded");
  if (!rules.length) return null;
  const tests = rules.map((r): Matcher => {
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
    return (o) => compare(value(o), r.op, r.value, numeric);
  });
  return filter.join === "and" ? (o) => tests.every((t) => t(o)) : (o) => tests.some((t) => t(o));
}

/** A short text for the top bar ("label == car and occluded == true"). */
export function describeFilter(filter: Filter): string {
  return filter.rules
    .map((r) => `${r.field === "attribute" ? (r.attribute ?? "?") : r.field} ${r.op} ${r.value}`)
    .join(` ${filter.join} `);
}
