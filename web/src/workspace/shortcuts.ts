// CVAT's default keyboard shortcuts (the seed's "Shortcuts" page), one table that both the
// key handler and the F1 help dialog read.
import type { CanvasController } from "./canvas/controller";
import type { Workspace } from "./workspace";

export interface Shortcut {
  keys: string; // as shown in the help
  what: string;
  group: "Main" | "Player" | "Modes" | "Objects" | "Tracks" | "Attribute annotation mode" | "Image";
  /** `ws` for keys that only mean something in a mode (attribute annotation mode's Tab, Up,
   * Down and digits): elsewhere they keep their browser meaning (Tab moves the focus on). */
  match: (e: KeyboardEvent, ws: Workspace) => boolean;
  run: (ws: Workspace, c: CanvasController | null, e: KeyboardEvent) => void;
  /** It changes the job's annotations: off while the job is read-only for this user. */
  edits?: true;
}

const plain = (key: string) => (e: KeyboardEvent) => e.key.toLowerCase() === key && !e.ctrlKey && !e.metaKey && !e.altKey;
const ctrl = (key: string, shift = false) => (e: KeyboardEvent) =>
  (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === key && e.shiftKey === shift && !e.altKey;

export const SHORTCUTS: Shortcut[] = [
  { keys: "F1", what: "Show or hide the shortcuts", group: "Main", match: (e) => e.key === "F1", run: (ws) => { ws.showHelp = !ws.showHelp; ws.notify(); } },
  { keys: "F2", what: "Settings", group: "Main", match: (e) => e.key === "F2", run: (ws) => { ws.showSettings = !ws.showSettings; ws.notify(); } },
  { edits: true, keys: "Ctrl+Z", what: "Undo your latest change", group: "Main", match: ctrl("z"), run: (ws) => ws.undo() },
  { edits: true, keys: "Ctrl+Shift+Z or Ctrl+Y", what: "Redo", group: "Main", match: (e) => ctrl("z", true)(e) || ctrl("y")(e), run: (ws) => ws.redo() },
  { keys: "F", what: "Next frame", group: "Player", match: plain("f"), run: (ws) => ws.stepBy(1) },
  { keys: "D", what: "Previous frame", group: "Player", match: plain("d"), run: (ws) => ws.stepBy(-1) },
  { keys: "V", what: "Forward by the player step", group: "Player", match: plain("v"), run: (ws) => ws.stepBy(ws.step) },
  { keys: "C", what: "Backward by the player step", group: "Player", match: plain("c"), run: (ws) => ws.stepBy(-ws.step) },
  { keys: "Right / Left", what: "Next / previous frame with an object matching the filter (any object without one)", group: "Player",
    match: (e) => (e.key === "ArrowRight" || e.key === "ArrowLeft") && !e.ctrlKey && !e.metaKey && !e.altKey && !e.shiftKey,
    run: (ws, _c, e) => ws.seek(e.key === "ArrowRight" ? 1 : -1) },
  { keys: "Space", what: "Play / pause", group: "Player", match: (e) => e.key === " " && !e.ctrlKey, run: (ws) => ws.togglePlay() },
  { keys: "` or ~", what: "Focus the frame number", group: "Player", match: (e) => e.key === "`" || e.key === "~", run: () => document.getElementById("frame-number")?.focus() },
  { edits: true, keys: "N", what: "Draw again with the latest tool / finish a polygon, polyline, points or mask", group: "Modes", match: plain("n"), run: (ws, c) => {
      if (c?.drawing && c.finish()) return;
      if (ws.tool.kind === "draw") return;
      ws.setTool({ kind: "draw", ...ws.lastDraw });
    } },
  { keys: "Enter", what: "Finish the shape being drawn", group: "Modes", match: (e) => e.key === "Enter" && !!(e.target as HTMLElement)?.closest?.("canvas"), run: (_ws, c) => void c?.finish() },
  { edits: true, keys: "M", what: "Merge mode: click shapes on several frames, M again merges them into a track", group: "Modes", match: plain("m"), run: (ws) => {
      if (ws.mergeMode) ws.merge();
      else { ws.mergeMode = true; ws.mergeSelection = []; ws.say("Merge: click shapes on frames of the track, then M"); ws.notify(); }
    } },
  { edits: true, keys: "Alt+M", what: "Split the active track at this frame", group: "Modes", match: (e) => e.altKey && e.key.toLowerCase() === "m", run: (ws) => ws.split() },
  { edits: true, keys: "G", what: "Group mode: click objects or drag around them, G again groups them", group: "Modes", match: (e) => plain("g")(e) && !e.shiftKey, run: (ws) => ws.toggleGroupMode() },
  { edits: true, keys: "Shift+G", what: "Reset the group of the selected objects", group: "Modes", match: (e) => e.shiftKey && e.key.toLowerCase() === "g" && !e.ctrlKey, run: (ws) => { ws.group(true); ws.groupMode = false; ws.notify(); } },
  { keys: "Esc", what: "Cancel drawing or any mode", group: "Modes", match: (e) => e.key === "Escape", run: (ws, c) => {
      if (c?.cancel()) return;
      ws.groupMode = ws.mergeMode = false;
      ws.showHelp = false;
      if (ws.tool.kind !== "select") ws.setTool({ kind: "select" });
      else ws.select(null);
      ws.notify();
    } },
  { keys: "Backspace", what: "Remove the last point drawn", group: "Modes", match: (e) => e.key === "Backspace", run: (_ws, c) => c?.undoPoint() },
  { keys: "L", what: "Lock / unlock the active object", group: "Objects", match: plain("l"), run: (ws) => ws.toggleLocal(ws.locked) },
  { keys: "H", what: "Hide / show the active object", group: "Objects", match: plain("h"), run: (ws) => ws.toggleLocal(ws.hidden) },
  { edits: true, keys: "Shift+O", what: "Outside on / off for the skeleton point under the pointer (or picked in the sidebar)", group: "Objects", match: (e) => e.shiftKey && e.key.toLowerCase() === "o" && !e.ctrlKey && !e.metaKey && !e.altKey, run: (ws) => ws.toggleElement("outside") },
  { edits: true, keys: "Shift+Q", what: "Occluded on / off for that skeleton point", group: "Objects", match: (e) => e.shiftKey && e.key.toLowerCase() === "q" && !e.ctrlKey && !e.metaKey && !e.altKey, run: (ws) => ws.toggleElement("occluded") },
  { edits: true, keys: "Q or /", what: "Occluded", group: "Objects", match: (e) => plain("q")(e) || e.key === "/", run: (ws) => ws.toggleOccluded() },
  { edits: true, keys: "Del, Shift+Del", what: "Delete the selected objects (Shift: locked ones too)", group: "Objects", match: (e) => e.key === "Delete", run: (ws, _c, e) => ws.remove(ws.selection, e.shiftKey) },
  { edits: true, keys: "- or _", what: "Send to background", group: "Objects", match: (e) => (e.key === "-" || e.key === "_") && !e.ctrlKey, run: (ws) => ws.zOrder(-1) },
  { edits: true, keys: "+ or =", what: "Bring to foreground", group: "Objects", match: (e) => (e.key === "+" || e.key === "=") && !e.ctrlKey, run: (ws) => ws.zOrder(1) },
  { keys: "Ctrl+C", what: "Copy the active object", group: "Objects", match: ctrl("c"), run: (ws) => ws.copy() },
  { edits: true, keys: "Ctrl+V", what: "Paste on this frame", group: "Objects", match: ctrl("v"), run: (ws) => ws.paste() },
  { edits: true, keys: "Ctrl+B", what: "Propagate the active object to the next frames", group: "Objects", match: ctrl("b"), run: (ws) => ws.askPropagate() },
  { edits: true, keys: "Ctrl+0..9", what: "Label of the active object (or of the next one drawn)", group: "Objects", match: (e) => (e.ctrlKey || e.metaKey) && /^[0-9]$/.test(e.key), run: (ws, _c, e) => {
      const label = ws.labels[(Number(e.key) + 9) % 10];
      if (!label) return;
      if (ws.active) ws.setLabelOf(ws.active, label.id);
      else ws.setLabel(label.id);
    } },
  { edits: true, keys: "K", what: "Keyframe on / off (tracks)", group: "Tracks", match: plain("k"), run: (ws) => ws.toggleKeyframe() },
  { edits: true, keys: "O", what: "Outside on / off (tracks)", group: "Tracks", match: plain("o"), run: (ws) => ws.toggleOutside() },
  { keys: "R", what: "Next keyframe of the active track", group: "Tracks", match: plain("r"), run: (ws) => jumpKeyframe(ws, 1) },
  { keys: "E", what: "Previous keyframe of the active track", group: "Tracks", match: plain("e"), run: (ws) => jumpKeyframe(ws, -1) },
  { keys: "Up / Down", what: "Previous / next attribute", group: "Attribute annotation mode", match: (e, ws) => ws.attributeMode && (e.key === "ArrowUp" || e.key === "ArrowDown"),
    run: (ws, _c, e) => ws.nextAttribute(e.key === "ArrowDown" ? 1 : -1) },
  { keys: "Tab / Shift+Tab", what: "Next / previous object", group: "Attribute annotation mode", match: (e, ws) => ws.attributeMode && e.key === "Tab" && !!(e.target as HTMLElement)?.closest?.("canvas"),
    run: (ws, _c, e) => ws.nextObject(e.shiftKey ? -1 : 1) },
  { edits: true, keys: "1..9, 0", what: "Set the current attribute to that value (the panel numbers them)", group: "Attribute annotation mode", match: (e, ws) => ws.attributeMode && /^[0-9]$/.test(e.key) && !e.ctrlKey,
    run: (ws, _c, e) => ws.pickValue(Number(e.key)) },
  { keys: "Ctrl+R / Ctrl+Shift+R", what: "Rotate the image clockwise / anticlockwise", group: "Image", match: (e) => ctrl("r")(e) || ctrl("r", true)(e), run: (ws, _c, e) => ws.rotate(e.shiftKey ? -90 : 90) },
  { keys: "Shift+B+= / Shift+B+-", what: "Brightness up / down (Shift+C: contrast)", group: "Image", match: () => false, run: () => undefined },
  { keys: "Alt+Click on a point", what: "Delete the point (polygon, polyline, points)", group: "Objects", match: () => false, run: () => undefined },
];

function jumpKeyframe(ws: Workspace, dir: 1 | -1): void {
  const o = ws.active;
  if (o?.kind !== "track") return;
  const frames = ws.state.tracks.get(o.id)?.shapes.map((s) => s.frame) ?? [];
  const target = dir > 0 ? frames.find((f) => f > ws.frame) : [...frames].reverse().find((f) => f < ws.frame);
  if (target !== undefined) ws.goto(target);
}

/** Handle a key press on the workspace; true when it was a shortcut. Keys typed into a
 * form field stay there (except F1 and Esc). */
export function handleKey(e: KeyboardEvent, ws: Workspace, c: CanvasController | null, held: Set<string>): boolean {
  const target = e.target as HTMLElement | null;
  const typing = !!target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
  if (typing && e.key !== "F1" && e.key !== "F2" && e.key !== "Escape") return false;
  // Inside a modal dialog (help, filter, settings) the dialog has the keys: Esc closes it
  // natively, and F, Del, Ctrl+Z... must not act on the job hidden behind it.
  if (target?.closest?.("dialog") && e.key !== "F1" && e.key !== "F2") return false;
  // Shift+B / Shift+C held with = or -: brightness and contrast, as CVAT has them.
  if (e.shiftKey && (e.key === "+" || e.key === "=" || e.key === "_" || e.key === "-")) {
    const delta = e.key === "+" || e.key === "=" ? 10 : -10;
    if (held.has("b")) return adjust(ws, "brightness", delta);
    if (held.has("c")) return adjust(ws, "contrast", delta);
  }
  if (e.shiftKey && (e.key === "B" || e.key === "C")) return true; // the modifier half
  // Buttons and links keep Space and Enter.
  if ((e.key === " " || e.key === "Enter") && target && (target.tagName === "BUTTON" || target.tagName === "A")) return false;
  for (const s of SHORTCUTS) {
    if (s.match(e, ws)) {
      if (s.edits && ws.readOnly) ws.sayReadOnly();
      else s.run(ws, c, e);
      return true;
    }
  }
  return false;
}

function adjust(ws: Workspace, what: "brightness" | "contrast", delta: number): boolean {
  ws[what] = Math.min(200, Math.max(0, ws[what] + delta));
  ws.notify();
  return true;
}
