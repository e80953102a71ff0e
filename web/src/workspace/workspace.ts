// The workspace's UI state and every editing action, outside React: the canvas reads it
// on each animation frame and the panels subscribe to it. Edits become op commands on the
// JobStore (shown at once, sent by the RealtimeClient).
import { createCmd, deleteCmd, editCmd, updateCmd, type OpCommand } from "./model/commands";
import type { JobState } from "./model/apply";
import type { RealtimeClient } from "./model/realtime";
import type { JobStore } from "./model/store";
import type { AttributeSpec, AttributeVal, Label, Shape, ShapeType, Track, TrackedShape } from "./model/types";
import { frameObjects, keyOf, type SceneObject } from "./canvas/scene";
import { bbox, translate } from "./canvas/geometry";
import { compile, NO_FILTER, type Filter, type Matcher } from "./filters";
import { loadSettings, sanitize, saveSettings, type Settings } from "./settings";

export interface JobInfo {
  id: number;
  task_id: number;
  start_frame: number;
  stop_frame: number;
  mode: string;
  stage?: string;
  state?: string;
  /** "imageset" (zip chunks) or "video" (mp4 chunks). */
  data_compressed_chunk_type?: string;
}

/** A skeleton point's own state. */
export type ElementState = { outside?: boolean; occluded?: boolean };

export interface FrameSize {
  width: number;
  height: number;
  name: string;
}

export type DrawKind = ShapeType | "tag";
export type Tool = { kind: "select" } | { kind: "draw"; shape: DrawKind; track: boolean } | { kind: "issue" };
export type Panel = "objects" | "history" | "issues";

export interface Issue {
  id: number;
  frame: number;
  position: number[];
  job: number;
  owner?: { id: number; username: string } | null;
  resolved: boolean;
  comments?: { count?: number } | unknown;
  message?: string;
}

/** An in-page question (the propagate count, an issue's text): PromptDialog shows it. */
export interface PromptRequest {
  title: string;
  label: string;
  value: string;
  input: "number" | "text" | "textarea";
  min?: number;
  submit: string;
  onSubmit: (value: string) => void;
}

export interface ClipboardItem {
  type: ShapeType;
  labelId: number;
  points: number[];
  rotation: number;
  occluded: boolean;
  zOrder: number;
  attributes: AttributeVal[];
  elements: { labelId: number; points: number[]; outside: boolean; occluded: boolean }[];
}

export class Workspace {
  frame: number;
  playing = false;
  direction: 1 | -1 = 1;
  /** Keys (kind:id) of the selected objects; `active` the one the sidebar details. */
  selection: string[] = [];
  hoverKey: string | null = null;
  tool: Tool = { kind: "select" };
  lastDraw: { shape: DrawKind; track: boolean } = { shape: "rectangle", track: false };
  labelId: number;
  hidden = new Set<string>();
  locked = new Set<string>();
  brightness = 100;
  contrast = 100;
  panel: Panel = "objects";
  attributeMode = false;
  activeAttribute = 0;
  groupMode = false;
  mergeMode = false;
  clipboard: ClipboardItem | null = null;
  messages: { id: number; text: string }[] = [];
  showHelp = false;
  /** The open in-page question, if any (replaces the browser's prompt()). */
  prompt: PromptRequest | null = null;
  /** Time travel: the job as it was at `revision` (read-only while set). */
  past: { revision: number; state: JobState } | null = null;
  issues: Issue[] = [];
  version = 0;
  private listeners = new Set<() => void>();
  private playTimer: ReturnType<typeof setInterval> | null = null;
  private msgId = 0;
  readonly labels: Label[];
  readonly labelById = new Map<number, Label>();

  /** CVAT's Settings (F2), kept in `storage` (localStorage in the browser). */
  settings: Settings;
  showSettings = false;
  showFilter = false;
  /** The annotation filter: objects that do not match are hidden (and Left/Right seek). */
  filter: Filter = NO_FILTER;
  private matcher: Matcher | null = null;
  private filtered = new WeakMap<SceneObject[], SceneObject[]>();

  constructor(
    readonly job: JobInfo,
    readonly frames: number[],
    readonly sizes: (frame: number) => FrameSize,
    labels: Label[],
    readonly store: JobStore,
    readonly rt: RealtimeClient | null,
    private readonly storage: Pick<Storage, "getItem" | "setItem"> | null = null,
  ) {
    this.settings = loadSettings(storage);
    this.frame = frames[0] ?? job.start_frame;
    this.labels = labels;
    for (const l of labels) {
      this.labelById.set(l.id, l);
      for (const s of l.sublabels ?? []) this.labelById.set(s.id, s);
    }
    this.labelId = labels.find((l) => l.type !== "tag")?.id ?? labels[0]?.id ?? 0;
    store.subscribe(() => this.pruneSelection());
    // Write access can change live (a stage or assignee change): drawing stops at once.
    let wasReadOnly = rt !== null && !rt.canWrite;
    rt?.subscribe(() => {
      const now = !rt.canWrite;
      if (now === wasReadOnly) return;
      wasReadOnly = now;
      if (now && this.tool.kind === "draw") this.tool = { kind: "select" };
      if (now) this.groupMode = this.mergeMode = false;
      this.notify();
    });
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getVersion = () => this.version;

  notify(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }

  /** The state shown: the live job, or the past revision while time travelling. */
  get state(): JobState {
    return this.past?.state ?? this.store.view;
  }

  get readOnly(): boolean {
    return this.past !== null || this.accessReason !== null;
  }

  /** Why this user may not edit the live job (the server's reason), or null. Issues and
   * comments are not annotation edits: reviewers keep them. */
  get accessReason(): string | null {
    return this.rt && !this.rt.canWrite ? (this.rt.readOnlyReason ?? "you may not edit this job") : null;
  }

  get fps(): number {
    return this.settings.fps;
  }

  get step(): number {
    return this.settings.step;
  }

  setSettings(patch: Partial<Settings>): void {
    const fpsChanged = patch.fps !== undefined && patch.fps !== this.settings.fps;
    this.settings = sanitize({ ...this.settings, ...patch });
    saveSettings(this.storage, this.settings);
    if (fpsChanged && this.playing) {
      this.togglePlay();
      this.togglePlay();
    }
    this.notify();
  }

  /** Turn the image (and what is drawn on it) by 90 degrees (Ctrl+R; -90: Ctrl+Shift+R). */
  rotate(delta: 90 | -90): void {
    this.setSettings({ rotation: (((this.settings.rotation + delta) % 360) + 360) % 360 as Settings["rotation"] });
  }

  setFilter(filter: Filter): void {
    this.filter = filter;
    this.matcher = compile(filter, this.labelById);
    this.filtered = new WeakMap();
    if (this.selection.length) this.selection = this.selection.filter((k) => this.find(k));
    this.notify();
  }

  /** The objects on `frame` that the filter lets through (all of them without one). */
  objects(frame = this.frame): SceneObject[] {
    const all = frameObjects(this.state, frame);
    const match = this.matcher;
    if (!match) return all;
    let shown = this.filtered.get(all);
    if (!shown) this.filtered.set(all, (shown = all.filter(match)));
    return shown;
  }

  /** Left/Right (CVAT): the previous/next frame with an object the filter lets through;
   * without a match (or a filter), the previous/next frame with any object. */
  seek(dir: 1 | -1): void {
    const visible = (o: SceneObject) => !o.outside;
    const from = this.index;
    const search = (ok: (o: SceneObject) => boolean) => {
      for (let i = from + dir; i >= 0 && i < this.frames.length; i += dir) {
        if (frameObjects(this.state, this.frames[i]).some((o) => visible(o) && ok(o))) return this.frames[i];
      }
      return undefined;
    };
    const match = this.matcher;
    const target = (match && search(match)) ?? search(() => true);
    if (target === undefined) return this.say(`No ${dir > 0 ? "later" : "earlier"} frame with ${match ? "a match or " : ""}objects`);
    this.goto(target, dir);
  }

  find(key: string | null, frame = this.frame): SceneObject | undefined {
    if (!key) return undefined;
    return this.objects(frame).find((o) => o.key === key);
  }

  get active(): SceneObject | undefined {
    return this.find(this.selection[this.selection.length - 1] ?? null);
  }

  /** Why editing is off (time travel or the server's reason), or null while it is on. */
  get readOnlyText(): string | null {
    if (this.past) return "Time travel is read-only: return to the present to edit";
    return this.accessReason ? `Read-only: ${this.accessReason}` : null;
  }

  sayReadOnly(): void {
    this.say(this.readOnlyText ?? "Read-only");
  }

  say(text: string): void {
    const id = ++this.msgId;
    this.messages = [...this.messages, { id, text }].slice(-4);
    this.notify();
    setTimeout(() => {
      this.messages = this.messages.filter((m) => m.id !== id);
      this.notify();
    }, 6000);
  }

  ask(request: PromptRequest): void {
    this.prompt = request;
    this.notify();
  }

  /** Ctrl+B and the sidebar's Propagate: ask how many frames, then copy there. */
  askPropagate(o = this.active): void {
    if (!o || o.kind === "tag") return;
    this.ask({
      title: "Propagate", label: "Following frames to copy the object to", value: "5", input: "number", min: 1, submit: "Propagate",
      onSubmit: (v) => { const n = Math.floor(Number(v)); if (n > 0) this.propagate(n, o); },
    }); // prettier-ignore
  }

  // --- player ------------------------------------------------------------------------------

  get index(): number {
    return Math.max(0, this.frames.indexOf(this.frame));
  }

  goto(frame: number, direction?: 1 | -1): void {
    const clamped = this.frames.includes(frame)
      ? frame
      : this.frames.reduce((best, f) => (Math.abs(f - frame) < Math.abs(best - frame) ? f : best), this.frames[0]);
    if (direction) this.direction = direction;
    else if (clamped !== this.frame) this.direction = clamped > this.frame ? 1 : -1;
    if (clamped === this.frame) return;
    this.frame = clamped;
    this.hoverKey = null;
    if (this.attributeMode) this.ensureCurrent();
    this.notify();
  }

  stepBy(n: number): void {
    const i = Math.min(this.frames.length - 1, Math.max(0, this.index + n));
    this.goto(this.frames[i], n >= 0 ? 1 : -1);
  }

  togglePlay(): void {
    if (this.playing) {
      this.playing = false;
      if (this.playTimer) clearInterval(this.playTimer);
      this.playTimer = null;
    } else {
      this.playing = true;
      this.playTimer = setInterval(() => {
        if (this.index >= this.frames.length - 1) this.togglePlay();
        else this.stepBy(1);
      }, 1000 / this.fps);
    }
    this.notify();
  }

  /** The player waits for a frame that is not decoded yet instead of skipping it. */
  stopTimers(): void {
    if (this.playTimer) clearInterval(this.playTimer);
  }

  // --- selection and tools ---------------------------------------------------------------------

  select(key: string | null, add = false): void {
    if (key === null) this.selection = add ? this.selection : [];
    else if (add) this.selection = this.selection.includes(key) ? this.selection.filter((k) => k !== key) : [...this.selection, key];
    else this.selection = [key];
    this.activeAttribute = 0;
    this.notify();
  }

  private pruneSelection(): void {
    // An object this client created got its server id: follow it.
    const renamed = this.selection.map((k) => {
      const [kind, id] = k.split(":");
      const n = Number(id);
      return n < 0 ? keyOf(kind, this.store.realId(n)) : k;
    });
    if (renamed.some((k, i) => k !== this.selection[i])) this.selection = renamed;
    this.notify();
  }

  setTool(tool: Tool): void {
    if (tool.kind === "draw") this.lastDraw = { shape: tool.shape, track: tool.track };
    this.tool = tool;
    this.notify();
  }

  setLabel(id: number): void {
    this.labelId = id;
    this.notify();
  }

  // --- edits ---------------------------------------------------------------------------------

  private edit(cmd: OpCommand, what: string): boolean {
    if (this.readOnly) {
      this.sayReadOnly();
      return false;
    }
    this.store.local(cmd, what);
    return true;
  }

  private guard(o: SceneObject | undefined, force = false): o is SceneObject {
    if (!o) return false;
    if (this.locked.has(o.key) && !force) {
      this.say("The object is locked (L to unlock)");
      return false;
    }
    return true;
  }

  /** A new object drawn on the current frame (a track when `track`). */
  create(type: DrawKind, points: number[], opts: { track?: boolean; rotation?: number; elements?: { labelId: number; points: number[] }[] } = {}): void {
    const label = this.labelId;
    if (type === "tag") {
      this.edit(createCmd({ tags: [{ frame: this.frame, label_id: label } as never] }), "Add tag");
      return;
    }
    const attributes = this.defaultAttributes(label);
    const base = { type, points, rotation: opts.rotation ?? 0, occluded: false, outside: false, z_order: this.topZ() + 1, attributes };
    if (opts.track) {
      // Immutable attributes belong to the track, mutable ones to its keyframes.
      const mutable = new Set(this.labelById.get(label)?.attributes.filter((a) => a.mutable).map((a) => a.id));
      const track = {
        frame: this.frame, label_id: label, group: 0, source: "manual",
        attributes: attributes.filter((a) => !mutable.has(a.spec_id)),
        shapes: [{ ...base, attributes: attributes.filter((a) => mutable.has(a.spec_id)), frame: this.frame }],
        elements: (opts.elements ?? []).map((e) => ({
          frame: this.frame, label_id: e.labelId, group: 0, source: "manual", attributes: [],
          shapes: [{ type: "points", points: e.points, frame: this.frame, occluded: false, outside: false, z_order: 0, rotation: 0, attributes: [] }],
        })),
      }; // prettier-ignore
      this.edit(createCmd({ tracks: [track as unknown as Track] }), `Draw ${type} track`);
    } else {
      const shape = {
        ...base, frame: this.frame, label_id: label, group: 0, source: "manual",
        elements: (opts.elements ?? []).map((e) => ({ type: "points", points: e.points, label_id: e.labelId, frame: this.frame, occluded: false, outside: false })),
      }; // prettier-ignore
      this.edit(createCmd({ shapes: [shape as unknown as Shape] }), `Draw ${type}`);
    }
    this.lastCreatedFrame = this.frame;
  }
  lastCreatedFrame = -1;

  private defaultAttributes(labelId: number): AttributeVal[] {
    return (this.labelById.get(labelId)?.attributes ?? []).map((a) => ({ spec_id: a.id, value: a.default_value }));
  }

  private topZ(): number {
    const objs = this.objects();
    return objs.length ? objs[objs.length - 1].zOrder : 0;
  }

  /** The keyframe shape of a track at the current frame (as interpolation shows it there,
   * carried attributes included), with `changes` on top. */
  private keyframe(o: SceneObject, changes: Partial<TrackedShape>): TrackedShape {
    return {
      type: o.type as ShapeType, points: o.points, rotation: o.rotation, occluded: o.occluded,
      outside: o.outside, z_order: o.zOrder, attributes: o.shapeAttributes,
      ...changes, frame: this.frame,
    } as TrackedShape; // prettier-ignore
  }

  /** Change geometry or per-frame properties of a shape, or set a keyframe of a track. */
  change(o: SceneObject, changes: { points?: number[]; rotation?: number; occluded?: boolean; outside?: boolean; z_order?: number }, what: string, force = false): void {
    if (!this.guard(o, force)) return;
    if (o.kind === "shape") {
      this.edit(updateCmd({ shapes: [{ id: o.id, ...changes }] }), what);
    } else if (o.kind === "track") {
      if (o.type === "skeleton") {
        this.edit(this.skeletonKeyframe(o, new Map(), changes), what);
        return;
      }
      this.edit({ type: "set_keyframe", track_id: o.id, shape: this.keyframe(o, changes) }, what);
    }
  }

  moveElement(o: SceneObject, elementId: number, points: number[]): void {
    if (!this.guard(o)) return;
    if (o.kind === "shape") {
      this.edit(updateCmd({ shapes: [{ id: o.id, elements: [{ id: elementId, points }] }] }), "Move skeleton point");
    } else {
      this.edit(this.skeletonKeyframe(o, new Map([[elementId, points]]), {}), "Move skeleton point");
    }
  }

  /** A keyframe of a skeleton track here: its body and every point (moved ones at `moved`,
   * one point's own outside/occluded in `own`). */
  private skeletonKeyframe(o: SceneObject, moved: Map<number, number[]>, changes: { occluded?: boolean; outside?: boolean }, own?: { id: number } & ElementState): OpCommand {
    const elements = o.elements.map((e) => ({
      element_id: e.id,
      shape: {
        type: "points", points: moved.get(e.id) ?? e.points,
        outside: (own?.id === e.id ? own.outside : undefined) ?? changes.outside ?? e.outside,
        occluded: (own?.id === e.id ? own.occluded : undefined) ?? changes.occluded ?? e.occluded,
        z_order: 0, rotation: 0, attributes: [], frame: this.frame,
      } as unknown as TrackedShape,
    })); // prettier-ignore
    return { type: "set_keyframe", track_id: o.id, shape: this.keyframe(o, { ...changes, points: [] }), elements };
  }

  /** The skeleton point that Shift+O / Shift+Q act on: the one last hovered or dragged on
   * the image, or picked in the sidebar. */
  activeElement: number | null = null;

  setActiveElement(id: number | null): void {
    if (id === this.activeElement) return;
    this.activeElement = id;
    this.notify();
  }

  /** One skeleton point's outside or occluded (the others stay as they are). */
  setElementState(o: SceneObject, elementId: number, state: ElementState): void {
    if (!this.guard(o) || o.type !== "skeleton") return;
    const what = state.outside !== undefined ? "Point outside" : "Point occluded";
    if (o.kind === "shape") this.edit(updateCmd({ shapes: [{ id: o.id, elements: [{ id: elementId, ...state }] }] }), what);
    else this.edit(this.skeletonKeyframe(o, new Map(), {}, { id: elementId, ...state }), what);
  }

  /** Shift+O / Shift+Q: toggle the active skeleton point's outside / occluded. */
  toggleElement(what: keyof ElementState, o = this.active): void {
    const e = o?.type === "skeleton" ? o.elements.find((x) => x.id === this.activeElement) : undefined;
    if (!o || !e) return this.say("Point at a skeleton's point (or pick one in the sidebar) first");
    this.setElementState(o, e.id, { [what]: !e[what] });
  }

  moveSkeleton(o: SceneObject, dx: number, dy: number): void {
    if (!this.guard(o)) return;
    const moved = (e: { points: number[] }) => [e.points[0] + dx, e.points[1] + dy];
    if (o.kind === "shape") {
      this.edit(updateCmd({ shapes: [{ id: o.id, elements: o.elements.map((e) => ({ id: e.id, points: moved(e) })) }] }), "Move skeleton");
    } else {
      this.edit(this.skeletonKeyframe(o, new Map(o.elements.map((e) => [e.id, moved(e)])), {}), "Move skeleton");
    }
  }

  setLabelOf(o: SceneObject, labelId: number): void {
    if (!this.guard(o) || labelId === o.labelId) return;
    const attributes = this.defaultAttributes(labelId);
    const kind = o.kind === "shape" ? "shapes" : o.kind === "track" ? "tracks" : "tags";
    this.edit(updateCmd({ [kind]: [{ id: o.id, label_id: labelId, attributes }] }), "Change label");
  }

  setAttribute(o: SceneObject, specId: number, value: string): void {
    if (!this.guard(o)) return;
    const spec = this.labelById.get(o.labelId)?.attributes.find((a) => a.id === specId);
    if (o.kind === "track" && spec?.mutable) {
      const attrs = [...o.shapeAttributes.filter((a) => a.spec_id !== specId), { spec_id: specId, value }];
      this.edit({ type: "set_keyframe", track_id: o.id, shape: this.keyframe(o, { attributes: attrs }) }, "Change attribute");
      return;
    }
    const kind = o.kind === "shape" ? "shapes" : o.kind === "track" ? "tracks" : "tags";
    this.edit(updateCmd({ [kind]: [{ id: o.id, attributes: [{ spec_id: specId, value }] }] }), "Change attribute");
  }

  remove(keys = this.selection, force = false): void {
    const objs = keys.map((k) => this.find(k)).filter((o): o is SceneObject => o !== undefined);
    const allowed = objs.filter((o) => force || !this.locked.has(o.key));
    if (allowed.length < objs.length) this.say("Locked objects stay (Shift+Del removes them)");
    if (!allowed.length) return;
    const ids = (kind: string) => allowed.filter((o) => o.kind === kind).map((o) => o.id);
    if (this.edit(deleteCmd({ shapes: ids("shape"), tracks: ids("track"), tags: ids("tag") }), allowed.length > 1 ? `Delete ${allowed.length} objects` : "Delete")) {
      this.selection = this.selection.filter((k) => !allowed.some((o) => o.key === k));
      this.notify();
    }
  }

  toggleLocal(set: Set<string>, keys = this.selection): void {
    const on = keys.some((k) => !set.has(k));
    for (const k of keys) (on ? set.add(k) : set.delete(k));
    this.notify();
  }

  toggleOccluded(o = this.active): void {
    if (o && o.kind !== "tag") this.change(o, { occluded: !o.occluded }, "Occluded");
  }

  toggleOutside(o = this.active): void {
    if (o?.kind === "track") this.change(o, { outside: !o.outside }, "Outside");
  }

  toggleKeyframe(o = this.active): void {
    if (o?.kind !== "track" || !this.guard(o)) return;
    const track = this.state.tracks.get(o.id);
    if (o.keyframe) {
      if ((track?.shapes.length ?? 0) <= 1) return this.say("A track keeps at least one keyframe");
      this.edit({ type: "delete_keyframe", track_id: o.id, frame: this.frame }, "Remove keyframe");
    } else this.change(o, {}, "Set keyframe");
  }

  zOrder(delta: 1 | -1, o = this.active): void {
    if (!o || o.kind === "tag") return;
    const objs = this.objects();
    const z = delta > 0 ? (objs.at(-1)?.zOrder ?? 0) + 1 : (objs[0]?.zOrder ?? 0) - 1;
    this.change(o, { z_order: z }, delta > 0 ? "To foreground" : "To background");
  }

  // --- attribute annotation mode (CVAT's AAM) ---------------------------------------------

  /** Turn AAM on or off; on, some object of the frame is the current one. */
  setAttributeMode(on: boolean): void {
    this.attributeMode = on;
    this.activeAttribute = 0;
    if (on) this.ensureCurrent();
    this.notify();
  }

  /** AAM: the current object, or the frame's first one when there is none here. */
  private ensureCurrent(): void {
    if (this.active) return;
    const first = this.aamObjects()[0];
    this.selection = first ? [first.key] : [];
  }

  /** The objects AAM steps through: the frame's visible ones (the filter applies). */
  aamObjects(): SceneObject[] {
    return this.objects().filter((o) => !o.outside && !this.hidden.has(o.key));
  }

  /** Tab / Shift+Tab: the next / previous object on the frame. */
  nextObject(dir: 1 | -1): void {
    const objs = this.aamObjects();
    if (!objs.length) return;
    const i = objs.findIndex((o) => o.key === this.active?.key);
    const next = i < 0 ? (dir > 0 ? 0 : objs.length - 1) : (i + dir + objs.length) % objs.length;
    this.select(objs[next].key);
  }

  /** Up / Down: the previous / next attribute of the current object's label. */
  nextAttribute(dir: 1 | -1): void {
    const n = this.labelById.get(this.active?.labelId ?? -1)?.attributes.length ?? 0;
    if (n) this.activeAttribute = (this.activeAttribute + dir + n) % n;
    this.notify();
  }

  /** The values the digits pick for an attribute (1 the first, ..., 0 the tenth), or null for
   * number and text attributes. */
  static choices(spec: AttributeSpec): string[] | null {
    if (spec.input_type === "checkbox") return ["false", "true"];
    return spec.input_type === "select" || spec.input_type === "radio" ? spec.values.slice(0, 10) : null;
  }

  /** A digit in AAM: that value for the current attribute of the current object. */
  pickValue(digit: number): void {
    const o = this.active;
    const spec = o && this.labelById.get(o.labelId)?.attributes[this.activeAttribute];
    const v = spec && Workspace.choices(spec)?.[(digit + 9) % 10];
    if (o && spec && v !== undefined) this.setAttribute(o, spec.id, v);
  }

  /** G (CVAT): start picking a new group (nothing picked yet, so a click on the active
   * object adds it), or group what was picked and leave the mode. */
  toggleGroupMode(): void {
    if (this.groupMode) {
      this.group();
      this.groupMode = false;
    } else {
      this.groupMode = true;
      this.selection = [];
      this.say("Group: click objects or drag around them, then G");
    }
    this.notify();
  }

  /** Group mode's area pick: the objects lying wholly inside `box` join the picked ones. */
  pickArea([x1, y1, x2, y2]: number[]): void {
    const inside = this.objects().filter((o) => {
      if (o.kind === "tag" || o.outside || this.hidden.has(o.key)) return false;
      const b = o.type === "skeleton" ? bbox("points", o.elements.flatMap((e) => e.points)) : bbox(o.type as ShapeType, o.points, o.rotation);
      return b.x1 >= x1 && b.y1 >= y1 && b.x2 <= x2 && b.y2 <= y2;
    });
    this.selection = [...new Set([...this.selection, ...inside.map((o) => o.key)])];
    this.notify();
  }

  /** Put the selected objects in one new group (G), or out of any group (Shift+G). */
  group(reset = false): void {
    const objs = this.selection.map((k) => this.find(k)).filter((o): o is SceneObject => !!o && o.kind !== "tag");
    if (!objs.length) return;
    let group = 0;
    if (!reset) {
      for (const s of this.state.shapes.values()) group = Math.max(group, s.group ?? 0);
      for (const t of this.state.tracks.values()) group = Math.max(group, t.group ?? 0);
      group++;
    }
    this.edit(updateCmd({
      shapes: objs.filter((o) => o.kind === "shape").map((o) => ({ id: o.id, group })),
      tracks: objs.filter((o) => o.kind === "track").map((o) => ({ id: o.id, group })),
    }), reset ? "Ungroup" : "Group"); // prettier-ignore
  }

  copy(o = this.active): void {
    if (!o || o.kind === "tag") return;
    this.clipboard = {
      type: o.type as ShapeType, labelId: o.labelId, points: o.points, rotation: o.rotation, occluded: o.occluded,
      zOrder: o.zOrder, attributes: [...o.attributes, ...o.shapeAttributes],
      elements: o.elements.map((e) => ({ labelId: e.labelId, points: e.points, outside: e.outside, occluded: e.occluded })),
    }; // prettier-ignore
    this.say("Copied");
  }

  private shapeFrom(c: ClipboardItem, frame: number, points = c.points): Shape {
    return {
      type: c.type, frame, label_id: c.labelId, points, rotation: c.rotation, occluded: c.occluded,
      outside: false, z_order: c.zOrder, group: 0, source: "manual", attributes: c.attributes,
      elements: c.elements.map((e) => ({ type: "points", frame, label_id: e.labelId, points: e.points, outside: e.outside, occluded: e.occluded })),
    } as unknown as Shape; // prettier-ignore
  }

  /** Paste the clipboard on this frame (moved a little when pasted on its own frame). */
  paste(): void {
    const c = this.clipboard;
    if (!c) return this.say("Nothing copied (Ctrl+C copies the active object)");
    const same = this.objects().some((o) => o.points.join() === c.points.join());
    const points = same ? translate(c.type, c.points, 10, 10) : c.points;
    this.edit(createCmd({ shapes: [this.shapeFrom(c, this.frame, points)] }), "Paste");
  }

  /** Copies of the active object on the next `count` frames (Ctrl+B). */
  propagate(count: number, o = this.active): void {
    if (!o || o.kind === "tag") return;
    this.copy(o);
    const c = this.clipboard!;
    const targets = this.frames.slice(this.index + 1, this.index + 1 + count);
    if (!targets.length) return this.say("No later frames to propagate to");
    this.edit(createCmd({ shapes: targets.map((f) => this.shapeFrom(c, f)) }), `Propagate to ${targets.length} frames`);
  }

  /** Merge the selected shapes (one label and type, on different frames) into one track. */
  merge(): void {
    const objs = this.mergeSelection;
    const shapes = objs.filter((o) => o.kind === "shape");
    if (shapes.length < 2) return this.say("Select shapes of one label on different frames to merge them");
    const first = shapes[0];
    if (shapes.some((s) => s.type !== first.type || s.labelId !== first.labelId)) {
      return this.say("Merged shapes must have the same label and type");
    }
    const sorted = [...shapes].sort((a, b) => a.frameOf - b.frameOf);
    const track = {
      frame: sorted[0].frameOf, label_id: first.labelId, group: 0, source: "manual", attributes: [], elements: [],
      shapes: sorted.map((s) => ({ type: s.type, frame: s.frameOf, points: s.points, rotation: s.rotation, occluded: s.occluded, outside: false, z_order: s.zOrder, attributes: [] })),
    }; // prettier-ignore
    // One op: the server creates the track and deletes the shapes together or not at all.
    this.edit(editCmd({ create: { tracks: [track as unknown as Track] }, delete: { shapes: sorted.map((s) => s.id) } }), "Merge into a track");
    this.mergeSelection = [];
    this.mergeMode = false;
    this.notify();
  }
  mergeSelection: (SceneObject & { frameOf: number })[] = [];

  /** Split the active track at this frame: it ends here (an outside keyframe), a new track
   * continues from here with the later keyframes. One op, so nobody sees half a split. */
  split(o = this.active): void {
    if (o?.kind !== "track" || !this.guard(o)) return;
    const track = this.state.tracks.get(o.id);
    if (!track) return;
    const frame = this.frame;
    if (!track.shapes.some((k) => k.frame < frame)) return this.say("Split a track after its first frame");
    // Keyframes are matched by frame: no ids (a temporary one would never resolve).
    const bare = ({ id: _id, ...k }: TrackedShape): TrackedShape => k;
    const before = (ks: TrackedShape[]) => ks.filter((k) => k.frame < frame).map(bare);
    const after = (ks: TrackedShape[]) => ks.filter((k) => k.frame > frame).map(bare);
    const skeleton = o.type === "skeleton";
    const here = this.keyframe(o, skeleton ? { outside: false, points: [] } : { outside: false });
    const points = new Map(o.elements.map((e) => [e.id, e]));
    const pointHere = (id: number, outside: boolean): TrackedShape => {
      const e = points.get(id);
      return { type: "points", frame, points: e?.points ?? [], occluded: e?.occluded ?? false, outside: outside || (e?.outside ?? true), z_order: 0, rotation: 0, attributes: [] } as TrackedShape; // prettier-ignore
    };
    const next = {
      frame, label_id: track.label_id, group: track.group ?? 0, source: "manual", attributes: track.attributes,
      shapes: [here, ...after(track.shapes)],
      elements: track.elements.map((e) => ({
        frame, label_id: e.label_id, group: e.group ?? 0, source: "manual", attributes: e.attributes,
        shapes: [pointHere(e.id, false), ...after(e.shapes)],
      })),
    }; // prettier-ignore
    const ended = {
      id: o.id,
      shapes: [...before(track.shapes), { ...here, outside: true }],
      ...(track.elements.length
        ? { elements: track.elements.map((e) => ({ id: e.id, shapes: [...before(e.shapes), pointHere(e.id, true)] })) }
        : {}),
    };
    this.edit(editCmd({ create: { tracks: [next as unknown as Track] }, update: { tracks: [ended] } }), "Split track");
  }

  // --- undo / redo --------------------------------------------------------------------------

  undo(): void {
    if (this.readOnly) return;
    this.store.local({ type: "undo" }, "Undo");
  }

  redo(): void {
    if (this.readOnly) return;
    this.store.local({ type: "redo" }, "Redo");
  }
}
