// The filter builder: rules (field, operator, value) joined by "and" or "or", applied to the
// objects shown and to Left/Right seeking (filters.ts).
import { useCallback, useState } from "react";
import { FIELDS, NUMERIC, NO_FILTER, OPS, type Field, type Filter, type Rule } from "./filters";
import { useDialog } from "./useDialog";
import type { Workspace } from "./workspace";

const FIELD_NAMES: Record<Field, string> = {
  label: "Label", type: "Type (shape, track, tag)", shape: "Shape", occluded: "Occluded",
  attribute: "Attribute", width: "Width", height: "Height", id: "Object id",
}; // prettier-ignore
const SHAPES = ["rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton", "tag"];

export function FilterDialog({ ws }: { ws: Workspace }) {
  const ref = useDialog(ws, useCallback(() => { ws.showFilter = false; }, [ws])); // prettier-ignore
  const [draft, setDraft] = useState<Filter>(ws.filter.rules.length ? ws.filter : { join: "and", rules: [{ field: "label", op: "==", value: "" }] });
  const attributes = [...new Set(ws.labels.flatMap((l) => l.attributes.map((a) => a.name)))];
  const set = (i: number, patch: Partial<Rule>) => setDraft({ ...draft, rules: draft.rules.map((r, k) => (k === i ? { ...r, ...patch } : r)) });
  const choices = (r: Rule): string[] | null => {
    if (r.field === "label") return ws.labels.map((l) => l.name);
    if (r.field === "type") return ["shape", "track", "tag"];
    if (r.field === "shape") return SHAPES;
    if (r.field === "occluded") return ["true", "false"];
    if (r.field === "attribute") {
      const spec = ws.labels.flatMap((l) => l.attributes).find((a) => a.name === r.attribute);
      if (spec?.input_type === "checkbox") return ["true", "false"];
      if (spec?.input_type === "select" || spec?.input_type === "radio") return spec.values;
    }
    return null;
  };
  return (
    <dialog ref={ref} className="ws-dialog" aria-labelledby="filter-title">
      <h2 id="filter-title">Filter objects</h2>
      <form method="dialog" onSubmit={() => ws.setFilter(draft)}>
        <fieldset className="ws-row">
          <legend>Show objects matching</legend>
          <label><input type="radio" name="join" checked={draft.join === "and"} onChange={() => setDraft({ ...draft, join: "and" })} /> all rules</label>
          <label><input type="radio" name="join" checked={draft.join === "or"} onChange={() => setDraft({ ...draft, join: "or" })} /> any rule</label>
        </fieldset>
        <ol className="ws-rules">
          {draft.rules.map((r, i) => {
            const values = choices(r);
            const n = i + 1;
            return (
              <li key={i} className="ws-row">
                <select aria-label={`Rule ${n} field`} value={r.field} onChange={(e) => set(i, { field: e.target.value as Field, op: "==", value: "", attribute: e.target.value === "attribute" ? attributes[0] : undefined })}>
                  {FIELDS.map((f) => <option key={f} value={f}>{FIELD_NAMES[f]}</option>)}
                </select>
                {r.field === "attribute" && (
                  <select aria-label={`Rule ${n} attribute`} value={r.attribute ?? ""} onChange={(e) => set(i, { attribute: e.target.value, value: "" })}>
                    {attributes.map((a) => <option key={a} value={a}>{a}</option>)}
                  </select>
                )}
                <select aria-label={`Rule ${n} operator`} value={r.op} onChange={(e) => set(i, { op: e.target.value as Rule["op"] })}>
                  {OPS.filter((op) => NUMERIC.has(r.field) || op === "==" || op === "!=").map((op) => <option key={op} value={op}>{op}</option>)}
                </select>
                {values ? (
                  <select aria-label={`Rule ${n} value`} value={r.value} onChange={(e) => set(i, { value: e.target.value })}>
                    <option value="">…</option>
                    {values.map((v) => <option key={v} value={v}>{v}</option>)}
                  </select>
                ) : (
                  <input aria-label={`Rule ${n} value`} type={NUMERIC.has(r.field) ? "number" : "text"} value={r.value} onChange={(e) => set(i, { value: e.target.value })} />
                )}
                <button type="button" aria-label={`Remove rule ${n}`} onClick={() => setDraft({ ...draft, rules: draft.rules.filter((_, k) => k !== i) })}>✕</button>
              </li>
            );
          })}
        </ol>
        <div className="ws-row">
          <button type="button" onClick={() => setDraft({ ...draft, rules: [...draft.rules, { field: "label", op: "==", value: "" }] })}>Add rule</button>
          <span className="ws-grow" />
          <button type="button" onClick={() => { ws.setFilter(NO_FILTER); ref.current?.close(); }}>Clear filter</button>
          <button type="submit">Apply</button>
        </div>
      </form>
    </dialog>
  );
}
