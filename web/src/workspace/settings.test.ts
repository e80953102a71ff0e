import { describe, expect, it } from "vitest";
import { fromScreen, toScreen, type Pt } from "./canvas/geometry";
import { DEFAULTS, KEY, loadSettings, sanitize, saveSettings } from "./settings";

class Memory {
  data = new Map<string, string>();
  getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.data.set(k, v);
  }
}

describe("settings", () => {
  it("are saved and loaded back; bad stored values fall back field by field", () => {
    const storage = new Memory();
    expect(loadSettings(storage)).toEqual(DEFAULTS);
    saveSettings(storage, { ...DEFAULTS, step: 25, grid: true, gridColor: "#00ff00", outline: "#000000", rotation: 270 });
    expect(loadSettings(storage)).toMatchObject({ step: 25, grid: true, gridColor: "#00ff00", outline: "#000000", rotation: 270 });
    storage.setItem(KEY, JSON.stringify({ step: -5, fps: 1e9, grid: "yes", gridColor: "red", rotation: 45, opacity: 40.4 }));
    expect(loadSettings(storage)).toEqual({ ...DEFAULTS, step: 1, fps: 60, opacity: 40 });
    storage.setItem(KEY, "{not json");
    expect(loadSettings(storage)).toEqual(DEFAULTS);
    expect(sanitize(null)).toEqual(DEFAULTS);
  });

  it("rotation turns image points about the centre and back", () => {
    const view = { scale: 2, x: 10, y: 20, rotation: 90 };
    const centre: Pt = [50, 25];
    const s = toScreen(view, centre, [100, 25]); // the right edge's middle goes to the bottom
    expect(s[0]).toBeCloseTo(10 + 50 * 2);
    expect(s[1]).toBeCloseTo(20 + 75 * 2);
    const back = fromScreen(view, centre, s);
    expect(back[0]).toBeCloseTo(100);
    expect(back[1]).toBeCloseTo(25);
  });
});
