import { useEffect, useState, type RefObject } from "react";
import { Link } from "react-router-dom";
import type { CanvasController } from "./canvas/controller";
import { userColor } from "./canvas/renderer";
import { useRealtime } from "./hooks";
import { countRules, describeFilter } from "./filters";
import { FPS_CHOICES } from "./settings";
import type { Workspace } from "./workspace";

const STATE_TEXT = { connecting: "Connecting…", live: "Connected", reconnecting: "Reconnecting…", offline: "Offline" };

export function TopBar({ ws, controller }: { ws: Workspace; controller: RefObject<CanvasController | null> }) {
  useRealtime(ws.rt);
  const [typed, setTyped] = useState(String(ws.frame));
  useEffect(() => setTyped(String(ws.frame)), [ws.frame]);
  const rt = ws.rt;
  const queued = ws.store.queued;
  const first = ws.frames[0];
  const last = ws.frames[ws.frames.length - 1];
  const state = rt?.state ?? "live";
  const people = rt ? [...rt.presence.values()] : [];
  return (
    <header className="ws-top">
      <nav aria-label="Breadcrumb" className="ws-crumbs">
        <Link to={`/tasks/${ws.job.task_id}`}>Task #{ws.job.task_id}</Link> / <span>Job #{ws.job.id}</span>
      </nav>
      <div className="ws-player" role="group" aria-label="Player">
        <button type="button" onClick={() => ws.goto(first)} aria-label="First frame" title="First frame">|◀</button>
        <button type="button" onClick={() => ws.stepBy(-ws.step)} aria-label={`Back ${ws.step} frames`} title="Back a step (C)">◀◀</button>
        <button type="button" onClick={() => ws.seek(-1)} aria-label="Previous frame with objects" title="Previous frame with objects, or matching the filter (Left)">⇤</button>
        <button type="button" onClick={() => ws.stepBy(-1)} aria-label="Previous frame" title="Previous frame (D)">◀</button>
        <button type="button" onClick={() => ws.togglePlay()} aria-label={ws.playing ? "Pause" : "Play"} title="Play / pause (Space)" aria-pressed={ws.playing}>
          {ws.playing ? "❚❚" : "▶"}
        </button>
        <button type="button" onClick={() => ws.stepBy(1)} aria-label="Next frame" title="Next frame (F)">▶</button>
        <button type="button" onClick={() => ws.seek(1)} aria-label="Next frame with objects" title="Next frame with objects, or matching the filter (Right)">⇥</button>
        <button type="button" onClick={() => ws.stepBy(ws.step)} aria-label={`Forward ${ws.step} frames`} title="Forward a step (V)">▶▶</button>
        <button type="button" onClick={() => ws.goto(last)} aria-label="Last frame" title="Last frame">▶|</button>
        <input
          type="range"
          aria-label="Frame slider"
          min={0}
          max={Math.max(0, ws.frames.length - 1)}
          value={ws.index}
          onChange={(e) => ws.goto(ws.frames[Number(e.target.value)])}
        />
        <form
          onSubmit={(e) => {
            e.preventDefault();
            ws.goto(Number(typed));
            (document.activeElement as HTMLElement | null)?.blur();
          }}
        >
          <label>
            <span className="sr-only">Frame number</span>
            <input id="frame-number" className="ws-frame-input" type="number" min={first} max={last} value={typed} onChange={(e) => setTyped(e.target.value)} />
          </label>
        </form>
        <span className="ws-muted" aria-label="Frame name">{ws.sizes(ws.frame).name}</span>
        <label className="ws-fps">
          FPS
          <select value={ws.fps} onChange={(e) => ws.setSettings({ fps: Number(e.target.value) })}>
            {FPS_CHOICES.map((f) => <option key={f} value={f}>{f}</option>)}
          </select>
        </label>
      </div>
      <div className="ws-actions">
        <button type="button" onClick={() => ws.undo()} title="Undo (Ctrl+Z)" disabled={ws.readOnly}>Undo</button>
        <button type="button" onClick={() => ws.redo()} title="Redo (Ctrl+Shift+Z)" disabled={ws.readOnly}>Redo</button>
        <button type="button" onClick={() => controller.current?.fit()} title="Fit the image">Fit</button>
        <button type="button" onClick={() => ws.rotate(-90)} aria-label="Rotate anticlockwise" title="Rotate the image anticlockwise (Ctrl+Shift+R)">⟲</button>
        <button type="button" onClick={() => ws.rotate(90)} aria-label="Rotate clockwise" title="Rotate the image clockwise (Ctrl+R)">⟳</button>
        <button type="button" aria-pressed={ws.filter.rules.length > 0} onClick={() => { ws.showFilter = true; ws.notify(); }}
          title={ws.filter.rules.length ? `Filter: ${describeFilter(ws.filter)}` : "Filter the objects shown"}>
          Filter{ws.filter.rules.length ? ` (${countRules(ws.filter)})` : ""}
        </button>
        <button type="button" onClick={() => { ws.showSettings = true; ws.notify(); }} title="Settings (F2)">Settings</button>
        <button type="button" onClick={() => { ws.showHelp = true; ws.notify(); }} title="Shortcuts (F1)">Shortcuts</button>
      </div>
      <ul className="ws-people" aria-label="People in this job">
        {rt?.me && (
          <li className="ws-avatar" style={{ background: userColor(rt.me.id) }} title={`${rt.me.username} (you), frame ${ws.frame}`}>
            {rt.me.username.slice(0, 2).toUpperCase()}
          </li>
        )}
        {people.map((p) => (
          <li key={p.session}>
            <button type="button" className="ws-avatar" style={{ background: userColor(p.user.id) }}
              title={`${p.user.username} on frame ${p.frame ?? "?"} — go there`}
              aria-label={`${p.user.username} on frame ${p.frame ?? "unknown"}`}
              onClick={() => p.frame !== null && ws.goto(p.frame)}>
              {p.user.username.slice(0, 2).toUpperCase()}
              <span className="ws-avatar-frame">{p.frame ?? "–"}</span>
            </button>
          </li>
        ))}
      </ul>
      <div className={`ws-conn ws-conn-${state}`} role="status" aria-live="polite" data-state={state} data-queued={queued}>
        <span className="ws-dot" aria-hidden="true" />
        {STATE_TEXT[state]}
        {queued > 0 && state !== "live" ? ` · ${queued} queued edit${queued > 1 ? "s" : ""}` : ""}
        {queued > 0 && state === "live" ? " · saving…" : ""}
      </div>
    </header>
  );
}
