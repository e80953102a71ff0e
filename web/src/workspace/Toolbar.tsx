import type { RefObject } from "react";
import type { CanvasController } from "./canvas/controller";
import type { DrawKind, Workspace } from "./workspace";

const TOOLS: { shape: DrawKind; name: string; icon: string }[] = [
  { shape: "rectangle", name: "Rectangle", icon: "▭" },
  { shape: "polygon", name: "Polygon", icon: "⬠" },
  { shape: "polyline", name: "Polyline", icon: "∧" },
  { shape: "points", name: "Points", icon: "⁘" },
  { shape: "ellipse", name: "Ellipse", icon: "◯" },
  { shape: "cuboid", name: "Cuboid", icon: "▣" },
  { shape: "mask", name: "Mask brush", icon: "●" },
  { shape: "skeleton", name: "Skeleton", icon: "✳" },
];

export function Toolbar({ ws, controller }: { ws: Workspace; controller: RefObject<CanvasController | null> }) {
  const tool = ws.tool;
  const trackMode = tool.kind === "draw" ? tool.track : ws.lastDraw.track;
  const c = controller.current;
  const off = ws.readOnlyText ?? undefined; // why the drawing controls are off
  const labels = ws.labels.filter((l) => l.type !== "tag" || (tool.kind === "draw" && tool.shape === "tag"));
  return (
    <aside className="ws-tools" aria-label="Tools">
      <button type="button" className="ws-tool" aria-pressed={tool.kind === "select"} onClick={() => ws.setTool({ kind: "select" })} title="Select and edit (Esc)">
        <span aria-hidden="true">➚</span> <span className="ws-tool-name">Select</span>
      </button>
      {TOOLS.map((t) => (
        <button key={t.shape} type="button" className="ws-tool" disabled={ws.readOnly}
          aria-pressed={tool.kind === "draw" && tool.shape === t.shape}
          onClick={() => { c?.cancel(); ws.setTool({ kind: "draw", shape: t.shape, track: trackMode }); }}
          title={`Draw ${t.name.toLowerCase()} (N repeats)`}>
          <span aria-hidden="true">{t.icon}</span> <span className="ws-tool-name">{t.name}</span>
        </button>
      ))}
      <button type="button" className="ws-tool" disabled={ws.readOnly} onClick={() => ws.create("tag", [])} title="Tag this frame with the current label">
        <span aria-hidden="true">#</span> <span className="ws-tool-name">Tag frame</span>
      </button>
      <button type="button" className="ws-tool" aria-pressed={tool.kind === "issue"} onClick={() => ws.setTool({ kind: "issue" })} title="Review: open an issue on a region">
        <span aria-hidden="true">⚑</span> <span className="ws-tool-name">Issue</span>
      </button>
      <fieldset className="ws-mode" disabled={ws.readOnly} title={off} aria-description={off}>
        <legend>Draw as</legend>
        <label><input type="radio" name="draw-mode" checked={!trackMode} onChange={() => setTrack(ws, false)} /> Shape</label>
        <label><input type="radio" name="draw-mode" checked={trackMode} onChange={() => setTrack(ws, true)} /> Track</label>
      </fieldset>
      <label className="ws-field">
        Label
        <select aria-label="Label to draw" value={ws.labelId} disabled={ws.readOnly} title={off} aria-description={off} onChange={(e) => ws.setLabel(Number(e.target.value))}>
          {labels.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
          {ws.labels.filter((l) => l.type === "tag" && !labels.includes(l)).map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
        </select>
      </label>
      {tool.kind === "draw" && tool.shape === "mask" && c && (
        <div className="ws-brush">
          <label className="ws-field">
            Brush {c.brush}px
            <input type="range" min={1} max={80} defaultValue={c.brush} onChange={(e) => { c.brush = Number(e.target.value); ws.notify(); }} />
          </label>
          <label><input type="checkbox" checked={c.eraser} onChange={(e) => { c.eraser = e.target.checked; ws.notify(); }} /> Eraser</label>
          <button type="button" onClick={() => c.finish()}>Finish mask (N)</button>
        </div>
      )}
      {tool.kind === "draw" && ["polygon", "polyline", "points"].includes(tool.shape) && (
        <p className="ws-hint">Click to add points; N, Enter or double click finishes.</p>
      )}
      <fieldset className="ws-mode">
        <legend>Image</legend>
        <label className="ws-field">
          Brightness {ws.brightness}%
          <input type="range" min={0} max={200} value={ws.brightness} onChange={(e) => { ws.brightness = Number(e.target.value); ws.notify(); }} />
        </label>
        <label className="ws-field">
          Contrast {ws.contrast}%
          <input type="range" min={0} max={200} value={ws.contrast} onChange={(e) => { ws.contrast = Number(e.target.value); ws.notify(); }} />
        </label>
        <div className="ws-row">
          <button type="button" onClick={() => c?.zoom(1.25)} aria-label="Zoom in">+</button>
          <button type="button" onClick={() => c?.zoom(0.8)} aria-label="Zoom out">−</button>
          <button type="button" onClick={() => c?.fit()}>Fit</button>
        </div>
      </fieldset>
      <div className="ws-modes-state" aria-live="polite">
        {ws.groupMode && <span>Group mode (G)</span>}
        {ws.mergeMode && <span>Merge mode: {ws.mergeSelection.length} picked (M)</span>}
      </div>
    </aside>
  );
}

function setTrack(ws: Workspace, track: boolean): void {
  ws.lastDraw = { ...ws.lastDraw, track };
  if (ws.tool.kind === "draw") ws.setTool({ ...ws.tool, track });
  else ws.notify();
}
