import { useState, type RefObject } from "react";
import type { CanvasController } from "./canvas/controller";
import { labelColor } from "./canvas/renderer";
import type { SceneObject } from "./canvas/scene";
import { AttributeModePanel } from "./AttributeModePanel";
import { HistoryPanel } from "./HistoryPanel";
import { IssuesPanel } from "./IssuesPanel";
import type { AttributeSpec } from "./model/types";
import type { Panel, Workspace } from "./workspace";

const ROW = 34; // px: the objects list renders only the rows in view

export function Sidebar({ ws, controller }: { ws: Workspace; controller: RefObject<CanvasController | null> }) {
  const tabs: [Panel, string][] = [["objects", "Objects"], ["issues", "Issues"], ["history", "History"]];
  return (
    <aside className="ws-side" aria-label="Sidebar">
      <div role="tablist" className="ws-tabs">
        {tabs.map(([id, name]) => (
          <button key={id} type="button" role="tab" id={`tab-${id}`} aria-selected={ws.panel === id} aria-controls={`panel-${id}`}
            onClick={() => { ws.panel = id; ws.notify(); }}>{name}</button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${ws.panel}`} aria-labelledby={`tab-${ws.panel}`} className="ws-panel">
        {ws.panel === "objects" && <ObjectsPanel ws={ws} controller={controller} />}
        {ws.panel === "issues" && <IssuesPanel ws={ws} />}
        {ws.panel === "history" && <HistoryPanel ws={ws} />}
      </div>
    </aside>
  );
}

function ObjectsPanel({ ws }: { ws: Workspace; controller: RefObject<CanvasController | null> }) {
  // Tracks past an outside keyframe are listed only with "Show all interpolation tracks".
  const objects = ws.settings.showAllInterpolation ? ws.objects() : ws.objects().filter((o) => o.kind !== "track" || !o.outside);
  return (
    <>
      <div className="ws-row ws-objects-head">
        <strong>{objects.length} object{objects.length === 1 ? "" : "s"} on frame {ws.frame}{ws.filter.rules.length ? " (filtered)" : ""}</strong>
        <label className="ws-aam"><input type="checkbox" checked={ws.attributeMode} onChange={(e) => ws.setAttributeMode(e.target.checked)} /> Attribute mode</label>
      </div>
      {ws.attributeMode ? <AttributeModePanel ws={ws} /> : <ObjectList ws={ws} objects={objects} />}
    </>
  );
}

function ObjectList({ ws, objects }: { ws: Workspace; objects: SceneObject[] }) {
  const [scroll, setScroll] = useState(0);
  const height = 320;
  const first = Math.max(0, Math.floor(scroll / ROW) - 5);
  const visible = objects.slice(first, first + Math.ceil(height / ROW) + 10);
  const active = ws.active;
  return (
    <>
      <div className="ws-list" style={{ height }} onScroll={(e) => setScroll(e.currentTarget.scrollTop)} role="listbox" aria-label="Objects on this frame"
        aria-activedescendant={active ? `obj-${active.key.replace(":", "-")}` : undefined} tabIndex={0}
        onKeyDown={(e) => {
          if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
          e.preventDefault();
          e.stopPropagation();
          const i = objects.findIndex((o) => o.key === active?.key);
          const next = objects[Math.min(objects.length - 1, Math.max(0, i + (e.key === "ArrowDown" ? 1 : -1)))];
          if (next) ws.select(next.key);
        }}>
        <div style={{ height: objects.length * ROW, position: "relative" }}>
          {visible.map((o, i) => (
            <ObjectRow key={o.key} ws={ws} o={o} top={(first + i) * ROW} />
          ))}
        </div>
      </div>
      {active && <Details ws={ws} o={active} />}
      {!active && <p className="ws-muted">Click an object on the image or in the list to edit it.</p>}
    </>
  );
}

function ObjectRow({ ws, o, top }: { ws: Workspace; o: SceneObject; top: number }) {
  const label = ws.labelById.get(o.labelId);
  const selected = ws.selection.includes(o.key);
  return (
    <div id={`obj-${o.key.replace(":", "-")}`} role="option" aria-selected={selected} className={`ws-obj ${selected ? "ws-obj-sel" : ""}`} style={{ top, height: ROW }}
      onClick={(e) => ws.select(o.key, e.shiftKey || e.ctrlKey || ws.groupMode)} onMouseEnter={() => { ws.hoverKey = o.key; ws.notify(); }}
      data-key={o.key}>
      <span className="ws-swatch" style={{ background: labelColor(label, o.labelId) }} aria-hidden="true" />
      <span className="ws-obj-name">
        {o.id < 0 ? "new" : `#${o.id}`} {label?.name ?? o.labelId} <small>{o.kind === "track" ? `track · ${o.type}${o.keyframe ? " · key" : ""}` : o.type}</small>
      </span>
      <span className="ws-obj-flags">
        {ws.locked.has(o.key) && <span title="Locked">L</span>}
        {ws.hidden.has(o.key) && <span title="Hidden">H</span>}
        {o.occluded && <span title="Occluded">◐</span>}
        {o.group ? <span title={`Group ${o.group}`}>G{o.group}</span> : null}
      </span>
    </div>
  );
}

function Details({ ws, o }: { ws: Workspace; o: SceneObject }) {
  const label = ws.labelById.get(o.labelId);
  const labels = ws.labels.filter((l) => (o.kind === "tag" ? l.type === "tag" || l.type === "any" : l.type !== "tag") && (l.type !== "skeleton" || o.type === "skeleton"));
  const toggles = o.kind === "tag" ? [] : [
    { name: "Lock", on: ws.locked.has(o.key), run: () => ws.toggleLocal(ws.locked, [o.key]), key: "L", edits: false },
    { name: "Hide", on: ws.hidden.has(o.key), run: () => ws.toggleLocal(ws.hidden, [o.key]), key: "H", edits: false },
    { name: "Occluded", on: o.occluded, run: () => ws.toggleOccluded(o), key: "Q", edits: true },
    ...(o.kind === "track" ? [
      { name: "Outside", on: o.outside, run: () => ws.toggleOutside(o), key: "O", edits: true },
      { name: "Keyframe", on: o.keyframe, run: () => ws.toggleKeyframe(o), key: "K", edits: true },
    ] : []),
  ]; // prettier-ignore
  const values = new Map([...o.attributes, ...o.shapeAttributes].map((a) => [a.spec_id, a.value]));
  return (
    <section className="ws-details" aria-label={`Object ${o.id}`}>
      <h2>{o.kind} #{o.id} <small>{o.type}{o.source !== "manual" ? ` · ${o.source}` : ""}</small></h2>
      <label className="ws-field">
        Label
        <select aria-label="Object label" value={o.labelId} disabled={ws.readOnly} onChange={(e) => ws.setLabelOf(o, Number(e.target.value))}>
          {labels.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
          {!labels.some((l) => l.id === o.labelId) && <option value={o.labelId}>{label?.name ?? o.labelId}</option>}
        </select>
      </label>
      <div className="ws-toggles" role="group" aria-label="Object state">
        {toggles.map((t) => (
          <button key={t.name} type="button" aria-pressed={t.on} onClick={t.run} disabled={t.edits && ws.readOnly} title={`${t.name} (${t.key})`}>{t.name}</button>
        ))}
      </div>
      {o.kind !== "tag" && (
        <div className="ws-row" role="group" aria-label="Order and clipboard">
          <button type="button" disabled={ws.readOnly} onClick={() => ws.zOrder(1, o)} title="To foreground (+)">Front</button>
          <button type="button" disabled={ws.readOnly} onClick={() => ws.zOrder(-1, o)} title="To background (-)">Back</button>
          <button type="button" onClick={() => ws.copy(o)} title="Copy (Ctrl+C)">Copy</button>
          <button type="button" disabled={ws.readOnly} onClick={() => ws.askPropagate(o)} title="Propagate (Ctrl+B)">Propagate</button>
          {o.kind === "track" && <button type="button" disabled={ws.readOnly} onClick={() => ws.split(o)} title="Split the track here (Alt+M)">Split</button>}
        </div>
      )}
      {o.type === "skeleton" && (
        <fieldset className="ws-points">
          <legend>Points <small>(Shift+O / Shift+Q on the one under the pointer)</small></legend>
          {o.elements.map((e) => {
            const name = ws.labelById.get(e.labelId)?.name ?? `point ${e.id}`;
            return (
              <div key={e.id} className={`ws-row ws-point ${ws.activeElement === e.id ? "ws-point-active" : ""}`} role="group" aria-label={`Point ${name}`}
                onFocus={() => ws.setActiveElement(e.id)}>
                <span className="ws-grow">{name}</span>
                <button type="button" aria-pressed={e.outside} disabled={ws.readOnly} onClick={() => ws.setElementState(o, e.id, { outside: !e.outside })}>Outside</button>
                <button type="button" aria-pressed={e.occluded} disabled={ws.readOnly} onClick={() => ws.setElementState(o, e.id, { occluded: !e.occluded })}>Occluded</button>
              </div>
            );
          })}
        </fieldset>
      )}
      {(label?.attributes ?? []).map((spec) => (
        <AttributeInput key={spec.id} spec={spec} value={values.get(spec.id) ?? spec.default_value} disabled={ws.readOnly}
          onChange={(v) => ws.setAttribute(o, spec.id, v)} />
      ))}
      <button type="button" className="ws-danger" disabled={ws.readOnly} onClick={() => ws.remove([o.key], true)} title="Delete (Del)">Delete</button>
    </section>
  );
}

function AttributeInput({ spec, value, onChange, disabled }: { spec: AttributeSpec; value: string; onChange: (v: string) => void; disabled: boolean }) {
  const cls = "ws-field";
  const name = `${spec.name}${spec.mutable ? "" : " (fixed)"}`;
  if (spec.input_type === "checkbox") {
    return (
      <label className={`${cls} ws-check`}>
        <input type="checkbox" checked={value === "true"} disabled={disabled} onChange={(e) => onChange(String(e.target.checked))} /> {name}
      </label>
    );
  }
  if (spec.input_type === "select" || spec.input_type === "radio") {
    return (
      <label className={cls}>
        {name}
        <select value={value} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
          {spec.values.map((v) => <option key={v} value={v}>{v}</option>)}
        </select>
      </label>
    );
  }
  if (spec.input_type === "number") {
    const [min, max, step] = spec.values.map(Number);
    return (
      <label className={cls}>
        {name}
        <input type="number" min={min} max={max} step={step || 1} defaultValue={value} key={value} disabled={disabled}
          onBlur={(e) => e.target.value !== value && onChange(e.target.value)} />
      </label>
    );
  }
  return (
    <label className={cls}>
      {name}
      <input type="text" defaultValue={value} key={value} disabled={disabled} onBlur={(e) => e.target.value !== value && onChange(e.target.value)} />
    </label>
  );
}
