// The workspace's settings (CVAT's Settings dialog, F2): the player's speed and step, and how
// objects and the image are drawn. Kept per browser in localStorage; whatever is stored is
// checked field by field, so an old or hand-edited value falls back to the default.
export interface Settings {
  /** Player: frames per second of Space/Play, and the step of V/C. */
  fps: number;
  step: number;
  /** Workspace: a grid over the image. */
  grid: boolean;
  gridSize: number; // px of the image
  gridColor: string;
  gridOpacity: number; // %
  /** Image saturation (%), as brightness and contrast. */
  saturation: number;
  /** Fill opacity of objects, and of selected ones (%). */
  opacity: number;
  selectedOpacity: number;
  /** Outline every object in one colour instead of its label's (null: the label's). */
  outline: string | null;
  /** List outside tracks (between an outside keyframe and the next) in the sidebar. */
  showAllInterpolation: boolean;
  /** Radius of points and skeleton points (screen px). */
  pointSize: number;
  /** Image rotation in degrees (Ctrl+R / Ctrl+Shift+R), the same for every frame. */
  rotation: 0 | 90 | 180 | 270;
}

export const DEFAULTS: Settings = {
  fps: 10,
  step: 10,
  grid: false,
  gridSize: 100,
  gridColor: "#ffffff",
  gridOpacity: 40,
  saturation: 100,
  opacity: 12,
  selectedOpacity: 30,
  outline: null,
  showAllInterpolation: false,
  pointSize: 3,
  rotation: 0,
};

export const KEY = "vellum.workspace.settings";
export const FPS_CHOICES = [1, 5, 10, 25, 30, 60];

const COLOR = /^#[0-9a-f]{6}$/i;
const RANGES: Partial<Record<keyof Settings, [number, number]>> = {
  fps: [1, 60], step: [1, 1000], gridSize: [5, 1000], gridOpacity: [0, 100], saturation: [0, 300],
  opacity: [0, 100], selectedOpacity: [0, 100], pointSize: [1, 20],
}; // prettier-ignore

/** `raw` made valid: every field of the right type and in range, else its default. */
export function sanitize(raw: unknown): Settings {
  const given = raw && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, fallback] of Object.entries(DEFAULTS) as [keyof Settings, unknown][]) {
    const v = given[key];
    const range = RANGES[key];
    if (range && typeof v === "number" && Number.isFinite(v)) out[key] = Math.min(range[1], Math.max(range[0], Math.round(v)));
    else if (typeof fallback === "boolean" && typeof v === "boolean") out[key] = v;
    else if ((key === "gridColor" || key === "outline") && typeof v === "string" && COLOR.test(v)) out[key] = v;
    else if (key === "outline" && v === null) out[key] = null;
    else if (key === "rotation" && (v === 0 || v === 90 || v === 180 || v === 270)) out[key] = v;
  }
  return out as unknown as Settings;
}

export function loadSettings(storage: Pick<Storage, "getItem"> | null): Settings {
  try {
    return sanitize(JSON.parse(storage?.getItem(KEY) ?? "null"));
  } catch {
    return { ...DEFAULTS };
  }
}

export function saveSettings(storage: Pick<Storage, "setItem"> | null, settings: Settings): void {
  try {
    storage?.setItem(KEY, JSON.stringify(settings));
  } catch {
    /* private mode or full: the settings last for this page */
  }
}
