// CVAT's attribute annotation mode panel: the current object (label switchable, Tab /
// Shift+Tab or the arrows here step through the frame's objects), the current attribute
// (Up / Down) with its values as large numbered buttons (the digit keys pick them), and
// every attribute of the object with its value. The canvas zooms to the current object.
import { labelColor } from "./canvas/renderer";
import { Workspace } from "./workspace";

export function AttributeModePanel({ ws }: { ws: Workspace }) {
  const objs = ws.aamObjects();
  const o = ws.active;
  if (!o) return <p className="ws-muted">No objects on this frame: Left / Right go to frames with objects.</p>;
  const label = ws.labelById.get(o.labelId);
  const specs = label?.attributes ?? [];
  const spec = specs[ws.activeAttribute];
  const values = new Map([...o.attributes, ...o.shapeAttributes].map((a) => [a.spec_id, a.value]));
  const value = spec ? (values.get(spec.id) ?? spec.default_value) : "";
  const choices = spec ? Workspace.choices(spec) : null;
  const labels = ws.labels.filter((l) => (o.kind === "tag" ? l.type === "tag" || l.type === "any" : l.type !== "tag") && (l.type !== "skeleton" || o.type === "skeleton"));
  const off = ws.readOnlyText ?? undefined;
  return (
    <section className="ws-aam-panel" aria-label="Attribute annotation">
      <div className="ws-row ws-aam-nav" role="group" aria-label="Object">
        <button type="button" onClick={() => ws.nextObject(-1)} aria-label="Previous object (Shift+Tab)" title="Previous object (Shift+Tab)">◀</button>
        <span className="ws-grow ws-aam-title">
          <span className="ws-swatch" style={{ background: labelColor(label, o.labelId) }} aria-hidden="true" />{" "}
          {o.kind} #{o.id} · {objs.findIndex((x) => x.key === o.key) + 1} of {objs.length}
        </span>
        <button type="button" onClick={() => ws.nextObject(1)} aria-label="Next object (Tab)" title="Next object (Tab)">▶</button>
      </div>
      <label className="ws-field">
        Label
        <select aria-label="Current object's label" value={o.labelId} disabled={ws.readOnly} title={off} aria-description={off}
          onChange={(e) => { ws.setLabelOf(o, Number(e.target.value)); ws.activeAttribute = 0; ws.notify(); }}>
          {labels.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
          {!labels.some((l) => l.id === o.labelId) && <option value={o.labelId}>{label?.name ?? o.labelId}</option>}
        </select>
      </label>
      {spec ? (
        <>
          <div className="ws-row ws-aam-nav" role="group" aria-label="Attribute">
            <button type="button" onClick={() => ws.nextAttribute(-1)} aria-label="Previous attribute (Up)" title="Previous attribute (Up)">▲</button>
            <h3 className="ws-grow ws-aam-attr" id="aam-attr">{spec.name} <small>{ws.activeAttribute + 1} of {specs.length}</small></h3>
            <button type="button" onClick={() => ws.nextAttribute(1)} aria-label="Next attribute (Down)" title="Next attribute (Down)">▼</button>
          </div>
          {choices ? (
            <div className="ws-aam-values" role="group" aria-labelledby="aam-attr">
              {choices.map((v, i) => (
                <button key={v} type="button" aria-pressed={v === value} disabled={ws.readOnly} title={off ?? `Key ${(i + 1) % 10}`}
                  onClick={() => ws.setAttribute(o, spec.id, v)}>
                  <kbd aria-hidden="true">{(i + 1) % 10}</kbd> {v}
                </button>
              ))}
            </div>
          ) : (
            <label className="ws-field">
              Value
              <input type={spec.input_type === "number" ? "number" : "text"} defaultValue={value} key={`${o.key}:${spec.id}:${value}`} disabled={ws.readOnly}
                onBlur={(e) => e.target.value !== value && ws.setAttribute(o, spec.id, e.target.value)}
                onKeyDown={(e) => e.key === "Enter" && e.currentTarget.blur()} />
            </label>
          )}
          <ol className="ws-aam-list" aria-label="Attributes of the object">
            {specs.map((a, i) => (
              <li key={a.id} className={i === ws.activeAttribute ? "ws-attr-active" : ""} aria-current={i === ws.activeAttribute || undefined}>
                <button type="button" onClick={() => { ws.activeAttribute = i; ws.notify(); }}>{a.name}: <strong>{values.get(a.id) ?? a.default_value}</strong></button>
              </li>
            ))}
          </ol>
        </>
      ) : (
        <p className="ws-muted">The label {label?.name ?? ""} has no attributes.</p>
      )}
      <p className="ws-hint">Tab / Shift+Tab on the image: next / previous object; Up / Down: attribute; digits: value; Left / Right: frames with objects.</p>
    </section>
  );
}
