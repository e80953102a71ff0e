// The filter builder (CVAT's): rules (field, operator, value) and groups of rules, each group
// joined by "and" or "or" and negated with "Not", applied to the objects shown and to
// Left/Right seeking (filters.ts).
import { useCallback, useState } from "react";
import { FIELDS, NO_FILTER, NO_VALUE, NUMERIC, isGroup, opsFor, type Field, type Filter, type Group, type Rule } from "./filters";
import { useDialog } from "./useDialog";
import type { Workspace } from "./workspace";

const FIELD_NAMES: Record<Field, string> = {
  label: "Label", type: "Type (shape, track, tag)", shape: "Shape", occluded: "Occluded",
  attribute: "Attribute", width: "Width", height: "Height", id: "Object id",
}; // prettier-ignore
const SHAPES = ["rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton", "tag"];
const NEW_RULE: Rule = { field: "label", op: "==", value: "" };

export function FilterDialog({ ws }: { ws: Workspace }) {
  const ref = useDialog(ws, useCallback(() => { ws.showFilter = false; }, [ws])); // prettier-ignore
  const [draft, setDraft] = useState<Filter>(ws.filter.rules.length ? ws.filter : { join: "and", rules: [NEW_RULE] });
  return (
    <dialog ref={ref} className="ws-dialog" aria-labelledby="filter-title">
      <h2 id="filter-title">Filter objects</h2>
      <form method="dialog" onSubmit={() => ws.setFilter(draft)}>
        <GroupEditor ws={ws} group={draft} path="" onChange={setDraft} />
        <div className="ws-row">
          <span className="ws-grow" />
          <button type="button" onClick={() => { ws.setFilter(NO_FILTER); ref.current?.close(); }}>Clear filter</button>
          <button type="submit">Apply</button>
        </div>
      </form>
    </dialog>
  );
}

/** One group: its join, Not, its rules and groups (numbered "2", "2.1"... in their names). */
function GroupEditor({ ws, group, path, onChange, onRemove }: { ws: Workspace; group: Group; path: string; onChange: (g: Group) => void; onRemove?: () => void }) {
  const name = path ? `group ${path}` : "the filter";
  const set = (i: number, n: Rule | Group) => onChange({ ...group, rules: group.rules.map((r, k) => (k === i ? n : r)) });
  const remove = (i: number) => onChange({ ...group, rules: group.rules.filter((_, k) => k !== i) });
  return (
    <fieldset className={path ? "ws-group" : "ws-group ws-group-top"}>
      <legend>{path ? `Group ${path}` : "Show objects matching"}</legend>
      <div className="ws-row" role="group" aria-label={`Join of ${name}`}>
        <label><input type="radio" name={`join-${path}`} checked={group.join === "and"} onChange={() => onChange({ ...group, join: "and" })} /> all</label>
        <label><input type="radio" name={`join-${path}`} checked={group.join === "or"} onChange={() => onChange({ ...group, join: "or" })} /> any</label>
        <label><input type="checkbox" checked={!!group.not} onChange={(e) => onChange({ ...group, not: e.target.checked })} /> Not</label>
        {onRemove && <button type="button" aria-label={`Remove ${name}`} onClick={onRemove}>✕</button>}
      </div>
      <ol className="ws-rules">
        {group.rules.map((n, i) => {
          const at = path ? `${path}.${i + 1}` : String(i + 1);
          return (
            <li key={i}>
              {isGroup(n) ? (
                <GroupEditor ws={ws} group={n} path={at} onChange={(g) => set(i, g)} onRemove={() => remove(i)} />
              ) : (
                <RuleEditor ws={ws} rule={n} n={at} onChange={(r) => set(i, r)} onRemove={() => remove(i)} />
              )}
            </li>
          );
        })}
      </ol>
      <div className="ws-row">
        <button type="button" onClick={() => onChange({ ...group, rules: [...group.rules, NEW_RULE] })}>Add rule{path ? ` to group ${path}` : ""}</button>
        <button type="button" onClick={() => onChange({ ...group, rules: [...group.rules, { join: "and", rules: [NEW_RULE] }] })}>Add group{path ? ` to group ${path}` : ""}</button>
      </div>
    </fieldset>
  );
}

function RuleEditor({ ws, rule: r, n, onChange, onRemove }: { ws: Workspace; rule: Rule; n: string; onChange: (r: Rule) => void; onRemove: () => void }) {
  const attributes = [...new Set(ws.labels.flatMap((l) => l.attributes.map((a) => a.name)))];
  const set = (patch: Partial<Rule>) => onChange({ ...r, ...patch });
  const values = choices(ws, r);
  const type = NUMERIC.has(r.field) ? "number" : "text";
  const many = r.op === "in" || r.op === "not in";
  const range = r.op === "between" || r.op === "not between";
  return (
    <div className="ws-row">
      <select aria-label={`Rule ${n} field`} value={r.field} onChange={(e) => set({ field: e.target.value as Field, op: "==", value: "", value2: undefined, attribute: e.target.value === "attribute" ? attributes[0] : undefined })}>
        {FIELDS.map((f) => <option key={f} value={f}>{FIELD_NAMES[f]}</option>)}
      </select>
      {r.field === "attribute" && (
        <select aria-label={`Rule ${n} attribute`} value={r.attribute ?? ""} onChange={(e) => set({ attribute: e.target.value, value: "" })}>
          {attributes.map((a) => <option key={a} value={a}>{a}</option>)}
        </select>
      )}
      <select aria-label={`Rule ${n} operator`} value={r.op} onChange={(e) => set({ op: e.target.value as Rule["op"] })}>
        {opsFor(r.field).map((op) => <option key={op} value={op}>{op}</option>)}
      </select>
      {NO_VALUE.has(r.op) ? null : values && !many ? (
        <select aria-label={`Rule ${n} value`} value={r.value} onChange={(e) => set({ value: e.target.value })}>
          <option value="">…</option>
          {values.map((v) => <option key={v} value={v}>{v}</option>)}
        </select>
      ) : (
        <input aria-label={`Rule ${n} ${range ? "from" : "value"}`} type={many ? "text" : type} value={r.value} onChange={(e) => set({ value: e.target.value })}
          placeholder={many ? (values ? values.slice(0, 2).join(", ") : "a, b, c") : undefined} title={many ? "Values separated by commas" : undefined} />
      )}
      {range && <input aria-label={`Rule ${n} to`} type={type} value={r.value2 ?? ""} onChange={(e) => set({ value2: e.target.value })} />}
      <button type="button" aria-label={`Remove rule ${n}`} onClick={onRemove}>✕</button>
    </div>
  );
}

function choices(ws: Workspace, r: Rule): string[] | null {
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
}
