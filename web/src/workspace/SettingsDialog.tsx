// CVAT's Settings (F2): the player's speed and step, and how the workspace draws; saved in
// this browser (settings.ts) and applied as they change.
import { useCallback } from "react";
import { DEFAULTS, FPS_CHOICES, type Settings } from "./settings";
import { useDialog } from "./useDialog";
import type { Workspace } from "./workspace";

export function SettingsDialog({ ws }: { ws: Workspace }) {
  const ref = useDialog(ws, useCallback(() => { ws.showSettings = false; }, [ws])); // prettier-ignore
  const s = ws.settings;
  const set = (patch: Partial<Settings>) => ws.setSettings(patch);
  const num = (key: keyof Settings, label: string, min: number, max: number, suffix = "") => (
    <label className="ws-field">
      {label} {String(s[key])}{suffix}
      <input type="range" min={min} max={max} value={Number(s[key])} onChange={(e) => set({ [key]: Number(e.target.value) })} />
    </label>
  );
  return (
    <dialog ref={ref} className="ws-dialog" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <form method="dialog">
        <fieldset>
          <legend>Player</legend>
          <label className="ws-field">
            Frames per second
            <select value={s.fps} onChange={(e) => set({ fps: Number(e.target.value) })}>
              {FPS_CHOICES.map((f) => <option key={f} value={f}>{f}</option>)}
            </select>
          </label>
          <label className="ws-field">
            Frame step (V / C)
            <input type="number" min={1} max={1000} value={s.step} onChange={(e) => set({ step: Number(e.target.value) })} />
          </label>
          <label className="ws-field">
            Image rotation
            <select value={s.rotation} onChange={(e) => set({ rotation: Number(e.target.value) as Settings["rotation"] })}>
              {[0, 90, 180, 270].map((r) => <option key={r} value={r}>{r}°</option>)}
            </select>
          </label>
        </fieldset>
        <fieldset>
          <legend>Workspace</legend>
          <label><input type="checkbox" checked={s.grid} onChange={(e) => set({ grid: e.target.checked })} /> Show grid</label>
          {num("gridSize", "Grid size", 5, 500, " px")}
          <label className="ws-field">Grid colour<input type="color" value={s.gridColor} onChange={(e) => set({ gridColor: e.target.value })} /></label>
          {num("gridOpacity", "Grid opacity", 0, 100, "%")}
          {num("saturation", "Saturation", 0, 300, "%")}
          {num("opacity", "Opacity of shapes", 0, 100, "%")}
          {num("selectedOpacity", "Opacity of selected shapes", 0, 100, "%")}
          <label><input type="checkbox" checked={s.outline !== null} onChange={(e) => set({ outline: e.target.checked ? "#000000" : null })} /> Outlined borders</label>
          {s.outline !== null && (
            <label className="ws-field">Border colour<input type="color" value={s.outline} onChange={(e) => set({ outline: e.target.value })} /></label>
          )}
          <label><input type="checkbox" checked={s.showAllInterpolation} onChange={(e) => set({ showAllInterpolation: e.target.checked })} /> Show all interpolation tracks</label>
          {num("pointSize", "Point size", 1, 20, " px")}
        </fieldset>
        <div className="ws-row">
          <button type="button" onClick={() => set({ ...DEFAULTS })}>Reset to defaults</button>
          <span className="ws-grow" />
          <button type="submit" autoFocus>Close</button>
        </div>
      </form>
    </dialog>
  );
}
