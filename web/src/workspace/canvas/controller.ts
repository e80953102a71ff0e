// The canvas's behaviour: the render loop (redraw on the next animation frame when
// something changed, never per React render), the view transform (wheel zoom at the
// cursor, drag to pan, fit), hit testing, selection, dragging objects and vertices,
// rotation, and drawing every shape type. React only mounts the canvas.
import type { Workspace } from "../workspace";
import { userColor, handles, Renderer, type Handle, type Overlay, type ViewTransform } from "./renderer";
import {
  bbox,
  cuboidFromRect,
  fromScreen,
  toScreen,
  encodeMask,
  decodeMask,
  hitShape,
  normRect,
  parseSkeleton,
  placeTemplate,
  rotate,
  translate,
  type Pt,
} from "./geometry";
import { dragCuboidFace, dragCuboidVertex } from "./cuboid";
import type { FrameCache } from "./frames";
import { keyOf, type SceneObject } from "./scene";

type Drag =
  | { kind: "pan"; start: Pt; origin: ViewTransform; moved: boolean }
  | { kind: "move"; key: string; start: Pt; obj: SceneObject; moved: boolean; additive: boolean }
  | { kind: "vertex"; key: string; obj: SceneObject; handle: Handle; start: Pt }
  | { kind: "box"; start: Pt; end: Pt }
  | { kind: "area"; start: Pt; end: Pt }
  | { kind: "paint"; last: Pt };

const MIN_POINTS: Record<string, number> = { polygon: 3, polyline: 2, points: 1 };

export class CanvasController {
  view: ViewTransform = { scale: 1, x: 0, y: 0 };
  overlay: Overlay = { others: [], issues: [] };
  private renderer: Renderer;
  private ctx: CanvasRenderingContext2D;
  private dirty = true;
  private raf = 0;
  private drag: Drag | null = null;
  private drawPoints: number[] = [];
  private cursor: Pt | null = null;
  private boxStart: Pt | null = null;
  private maskCanvas: HTMLCanvasElement | null = null;
  private maskTarget: SceneObject | null = null;
  brush = 10;
  eraser = false;
  private lastImage: ImageBitmap | null = null;
  private fitted = false;
  private rotation = 0;
  private size = { width: 0, height: 0, dpr: 1 };
  private disposers: (() => void)[] = [];
  /** Render times (ms) of the latest frames, for the performance check. */
  readonly drawTimes: number[] = [];
  onIssueBox?: (points: number[]) => void;
  onCursor?: (p: Pt | null) => void;

  constructor(
    readonly canvas: HTMLCanvasElement,
    readonly ws: Workspace,
    readonly frames: FrameCache,
  ) {
    this.ctx = canvas.getContext("2d")!;
    this.renderer = new Renderer(ws.labelById);
    this.disposers.push(ws.subscribe(() => { this.followCurrent(); this.invalidate(); })); // prettier-ignore
    this.disposers.push(ws.store.subscribe(() => this.invalidate()));
    this.disposers.push(frames.onLoad(() => this.invalidate()));
    if (ws.rt) this.disposers.push(ws.rt.subscribe(() => this.invalidate()));
    const on = <K extends keyof HTMLElementEventMap>(k: K, fn: (e: HTMLElementEventMap[K]) => void, opts?: AddEventListenerOptions) => {
      canvas.addEventListener(k, fn as EventListener, opts);
      this.disposers.push(() => canvas.removeEventListener(k, fn as EventListener));
    };
    on("pointerdown", (e) => this.down(e));
    on("pointermove", (e) => this.move(e));
    on("pointerup", (e) => this.up(e));
    on("pointerleave", () => {
      this.ws.hoverKey = null;
      this.onCursor?.(null);
      this.invalidate();
    });
    on("dblclick", (e) => {
      e.preventDefault();
      if (this.ws.tool.kind === "draw") this.finish();
    });
    on("wheel", (e) => this.wheel(e), { passive: false });
    on("contextmenu", (e) => e.preventDefault());
    const ro = new ResizeObserver(() => this.resize());
    ro.observe(canvas);
    this.disposers.push(() => ro.disconnect());
    this.resize();
  }

  dispose(): void {
    cancelAnimationFrame(this.raf);
    this.disposers.forEach((d) => d());
  }

  invalidate(): void {
    this.dirty = true;
    if (!this.raf) this.raf = requestAnimationFrame(() => this.render());
  }

  private resize(): void {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.size = { width: rect.width, height: rect.height, dpr };
    this.canvas.width = Math.max(1, Math.round(rect.width * dpr));
    this.canvas.height = Math.max(1, Math.round(rect.height * dpr));
    if (!this.fitted && rect.width > 0) {
      this.fit();
      this.fitted = true;
    }
    this.invalidate();
  }

  fit(): void {
    const img = this.ws.sizes(this.ws.frame);
    const { width, height } = this.size;
    if (!width || !height || !img.width) return;
    const turned = this.ws.settings.rotation % 180 !== 0;
    const [w, h] = turned ? [img.height, img.width] : [img.width, img.height];
    const scale = Math.min(width / w, height / h) * 0.95;
    // the image's centre in the canvas's centre (rotation turns about it)
    this.view = { scale, x: width / 2 - (img.width / 2) * scale, y: height / 2 - (img.height / 2) * scale };
    this.invalidate();
  }

  /** AAM: the current object zoomed and centred (CVAT's AAM zoom margin, 100 px) whenever
   * it or the frame changes; leaving AAM fits the image again. */
  private aamKey: string | null = null;
  private followCurrent(): void {
    const o = this.ws.attributeMode ? this.ws.active : undefined;
    const key = o ? `${o.key}@${this.ws.frame}` : null;
    if (key === this.aamKey) return;
    const was = this.aamKey;
    this.aamKey = key;
    if (o) this.zoomTo(o, 100);
    else if (was) this.fit();
  }

  /** Zoom and pan so that `o` fills the canvas but for `margin` screen pixels around it. */
  zoomTo(o: SceneObject, margin: number): void {
    const { width, height } = this.size;
    if (!width || !height) return;
    const b = this.imageBox(o);
    const unit = { scale: 1, x: 0, y: 0, rotation: this.ws.settings.rotation };
    const corners = ([[b.x1, b.y1], [b.x2, b.y1], [b.x1, b.y2], [b.x2, b.y2]] as Pt[]).map((p) => toScreen(unit, this.centre, p));
    const [xs, ys] = [corners.map((p) => p[0]), corners.map((p) => p[1])];
    const [w, h] = [Math.max(1, Math.max(...xs) - Math.min(...xs)), Math.max(1, Math.max(...ys) - Math.min(...ys))];
    const scale = Math.min(64, Math.max(0.02, Math.min((width - 2 * margin) / w, (height - 2 * margin) / h)));
    const mid = toScreen({ ...unit, scale }, this.centre, [(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2]);
    this.view = { scale, x: width / 2 - mid[0], y: height / 2 - mid[1] };
    this.invalidate();
  }

  private imageBox(o: SceneObject) {
    return o.type === "skeleton" ? boxObj(o.elements.filter((e) => !e.outside).flatMap((e) => e.points)) : bbox(o.type as never, o.points, o.rotation);
  }

  /** What is drawn and can be clicked: in AAM only the current object (as CVAT). */
  private shown(): SceneObject[] {
    const ws = this.ws;
    const current = ws.attributeMode ? ws.active : undefined;
    return current ? [current] : ws.objects();
  }

  /** The view with the image's rotation, as drawn. */
  private get turned(): ViewTransform {
    return { ...this.view, rotation: this.ws.settings.rotation };
  }

  private get centre(): Pt {
    const img = this.ws.sizes(this.ws.frame);
    return [img.width / 2, img.height / 2];
  }

  /** Where image point `p` is, in page coordinates (for the cursor of tests and tools). */
  pagePoint(p: Pt): Pt {
    const r = this.canvas.getBoundingClientRect();
    const [x, y] = toScreen(this.turned, this.centre, p);
    return [r.left + x, r.top + y];
  }

  zoom(factor: number, at?: Pt): void {
    const [sx, sy] = at ?? [this.size.width / 2, this.size.height / 2];
    const scale = Math.min(64, Math.max(0.02, this.view.scale * factor));
    const k = scale / this.view.scale;
    this.view = { scale, x: sx - (sx - this.view.x) * k, y: sy - (sy - this.view.y) * k };
    this.invalidate();
  }

  toImage(e: { clientX: number; clientY: number }): Pt {
    const r = this.canvas.getBoundingClientRect();
    return fromScreen(this.turned, this.centre, [e.clientX - r.left, e.clientY - r.top]);
  }

  private render(): void {
    this.raf = 0;
    if (!this.dirty) return;
    this.dirty = false;
    const t0 = performance.now();
    const ws = this.ws;
    const img = this.frames.get(ws.frame);
    if (img) this.lastImage = img;
    const others = ws.rt
      ? [...ws.rt.presence.values()]
          .filter((p) => p.frame === ws.frame)
          .map((p) => ({
            color: userColor(p.user.id),
            name: p.user.username,
            cursor: p.cursor,
            selection: new Set(p.selection.flatMap((id) => [keyOf("shape", id), keyOf("track", id)])),
          }))
      : [];
    const overlay: Overlay = {
      ...this.overlay,
      others,
      issues: ws.issues
        .filter((i) => i.frame === ws.frame && (!i.resolved || ws.panel === "issues"))
        .map((i) => ({ id: i.id, position: i.position, resolved: i.resolved, active: false })),
      mask: this.maskCanvas,
      drawing: this.drawingOverlay(),
    };
    const objects = this.shown();
    if (ws.settings.rotation !== this.rotation) {
      this.rotation = ws.settings.rotation;
      this.fit();
      this.aamKey = null;
      this.followCurrent();
    }
    this.renderer.draw(
      this.ctx, this.size, this.turned, img ?? this.lastImage, ws.sizes(ws.frame),
      { brightness: ws.brightness, contrast: ws.contrast, saturation: ws.settings.saturation }, objects,
      { selection: ws.selection, hover: ws.hoverKey, hidden: ws.hidden, locked: ws.locked, activeKey: ws.selection.at(-1) ?? null },
      overlay, ws.settings,
    ); // prettier-ignore
    this.drawTimes.push(performance.now() - t0);
    if (this.drawTimes.length > 600) this.drawTimes.splice(0, 300);
  }

  private drawingOverlay(): Overlay["drawing"] {
    if (this.drag?.kind === "area") return { type: "rectangle", color: "#ffffff", points: [...this.drag.start, ...this.drag.end] };
    const tool = this.ws.tool;
    if (tool.kind === "select") return undefined;
    const color = tool.kind === "issue" ? "#ff3b30" : this.renderer.color(this.ws.labelId);
    const type = tool.kind === "issue" ? "issue" : tool.shape;
    if (this.drag?.kind === "box") return { type, color, points: [...this.drag.start, ...this.drag.end] };
    if (this.boxStart && this.cursor) return { type, color, points: [...this.boxStart, ...this.cursor] };
    if (this.drawPoints.length) return { type, color, points: this.drawPoints, cursor: type === "points" ? undefined : (this.cursor ?? undefined) };
    return undefined;
  }

  // --- hit testing --------------------------------------------------------------------------

  /** The topmost visible object under `p` (smallest area first among equals in z). */
  hit(p: Pt): SceneObject | undefined {
    const tol = 4 / this.view.scale;
    const objs = this.shown();
    for (let i = objs.length - 1; i >= 0; i--) {
      const o = objs[i];
      if (o.type === "tag" || o.outside || this.ws.hidden.has(o.key)) continue;
      if (o.type === "skeleton") {
        if (o.elements.some((e) => !e.outside && Math.hypot(e.points[0] - p[0], e.points[1] - p[1]) <= tol * 2)) return o;
        const pts = o.elements.filter((e) => !e.outside).flatMap((e) => e.points);
        if (pts.length && hitShape("rectangle", [...boxOf(pts)], 0, p, tol)) return o;
        continue;
      }
      if (hitShape(o.type, o.points, o.rotation, p, tol)) return o;
    }
    return undefined;
  }

  private hitHandle(p: Pt): { obj: SceneObject; handle: Handle } | undefined {
    const o = this.ws.active;
    if (!o || this.ws.locked.has(o.key) || this.ws.readOnly) return undefined;
    const px = 1 / this.view.scale;
    for (const h of handles(o, o.points, o.rotation, px)) {
      if (Math.hypot(h.p[0] - p[0], h.p[1] - p[1]) <= 7 * px) return { obj: o, handle: h };
    }
    return undefined;
  }

  // --- pointer ---------------------------------------------------------------------------------

  private down(e: PointerEvent): void {
    this.canvas.focus({ preventScroll: true });
    const p = this.toImage(e);
    if (e.button === 1 || (e.button === 0 && e.altKey && this.ws.tool.kind !== "select")) {
      this.drag = { kind: "pan", start: [e.clientX, e.clientY], origin: { ...this.view }, moved: false };
      this.canvas.setPointerCapture(e.pointerId);
      return;
    }
    if (e.button !== 0) return;
    this.canvas.setPointerCapture(e.pointerId);
    const tool = this.ws.tool;
    if (tool.kind === "issue" || (tool.kind === "draw" && ["rectangle", "ellipse", "cuboid", "skeleton"].includes(tool.shape))) {
      if (this.boxStart) {
        this.finishBox(this.boxStart, p);
        this.boxStart = null;
      } else this.drag = { kind: "box", start: p, end: p };
      return;
    }
    if (tool.kind === "draw" && tool.shape === "mask") {
      this.paint(p, p);
      this.drag = { kind: "paint", last: p };
      return;
    }
    if (tool.kind === "draw") {
      this.drawPoints = [...this.drawPoints, p[0], p[1]];
      this.invalidate();
      return;
    }
    // select tool
    const h = this.hitHandle(p);
    if (h && e.altKey && h.handle.kind === "vertex" && MIN_POINTS[h.obj.type] !== undefined) {
      // Alt+click on a point deletes it (as CVAT), keeping the shape's minimum
      if (h.obj.points.length / 2 > MIN_POINTS[h.obj.type]) {
        const points = h.obj.points.filter((_, i) => Math.floor(i / 2) !== h.handle.index);
        this.ws.change(h.obj, { points }, "Delete point");
      } else this.ws.say(`A ${h.obj.type} keeps at least ${MIN_POINTS[h.obj.type]} points`);
      return;
    }
    if (h) {
      this.drag = { kind: "vertex", key: h.obj.key, obj: h.obj, handle: h.handle, start: p };
      if (h.handle.kind === "element") this.ws.setActiveElement(h.handle.index);
      return;
    }
    const o = this.hit(p);
    if (o) {
      const additive = e.shiftKey || e.ctrlKey || e.metaKey || this.ws.groupMode || this.ws.mergeMode;
      if (this.ws.mergeMode) {
        this.ws.mergeSelection = [...this.ws.mergeSelection.filter((m) => m.key !== o.key), { ...o, frameOf: this.ws.frame }];
      }
      if (!additive || !this.ws.selection.includes(o.key)) this.ws.select(o.key, additive);
      else if (additive) this.ws.select(o.key, true);
      this.drag = { kind: "move", key: o.key, start: p, obj: o, moved: false, additive };
      return;
    }
    // Group mode: a drag on the background picks the objects inside (CVAT).
    if (this.ws.groupMode) this.drag = { kind: "area", start: p, end: p };
    else this.drag = { kind: "pan", start: [e.clientX, e.clientY], origin: { ...this.view }, moved: false };
  }

  private move(e: PointerEvent): void {
    const p = this.toImage(e);
    this.cursor = p;
    this.onCursor?.(p);
    const d = this.drag;
    if (!d) {
      if (this.ws.tool.kind === "select") {
        const h = this.ws.active?.type === "skeleton" ? this.hitHandle(p) : undefined;
        if (h?.handle.kind === "element") this.ws.setActiveElement(h.handle.index);
        const key = this.hit(p)?.key ?? null;
        if (key !== this.ws.hoverKey) {
          this.ws.hoverKey = key;
          this.canvas.style.cursor = key ? "move" : "default";
        }
      }
      if (this.ws.tool.kind !== "select") this.invalidate();
      else this.invalidate();
      return;
    }
    switch (d.kind) {
      case "pan": {
        const [dx, dy] = [e.clientX - d.start[0], e.clientY - d.start[1]];
        if (Math.abs(dx) + Math.abs(dy) > 2) d.moved = true;
        this.view = { ...d.origin, x: d.origin.x + dx, y: d.origin.y + dy };
        break;
      }
      case "move": {
        if (this.ws.locked.has(d.key) || this.ws.readOnly) break;
        const [dx, dy] = [p[0] - d.start[0], p[1] - d.start[1]];
        if (Math.abs(dx) + Math.abs(dy) > 1 / this.view.scale) d.moved = true;
        if (!d.moved) break;
        const o = d.obj;
        if (o.type === "skeleton") {
          const elements = new Map(o.elements.map((el) => [el.id, [el.points[0] + dx, el.points[1] + dy]]));
          this.overlay.drag = { key: d.key, points: o.points, rotation: o.rotation, elements };
        } else {
          this.overlay.drag = { key: d.key, points: translate(o.type as never, o.points, dx, dy), rotation: o.rotation };
        }
        break;
      }
      case "vertex":
        this.overlay.drag = { key: d.key, ...this.reshape(d.obj, d.handle, p, e.shiftKey, d.start) };
        break;
      case "box":
      case "area":
        d.end = p;
        break;
      case "paint":
        this.paint(d.last, p);
        d.last = p;
        break;
    }
    this.invalidate();
  }

  private up(e: PointerEvent): void {
    const d = this.drag;
    this.drag = null;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    if (!d) return;
    const p = this.toImage(e);
    const ws = this.ws;
    switch (d.kind) {
      case "pan":
        if (!d.moved && ws.tool.kind === "select" && !(e.shiftKey || e.ctrlKey)) ws.select(null);
        break;
      case "move": {
        const drag = this.overlay.drag;
        this.overlay.drag = undefined;
        if (!d.moved || !drag) break;
        if (d.obj.type === "skeleton" && drag.elements) {
          ws.moveSkeleton(d.obj, p[0] - d.start[0], p[1] - d.start[1]);
        } else ws.change(d.obj, { points: drag.points }, `Move ${d.obj.type}`);
        break;
      }
      case "vertex": {
        const drag = this.overlay.drag;
        this.overlay.drag = undefined;
        if (!drag) break;
        if (d.handle.kind === "element") ws.moveElement(d.obj, d.handle.index, drag.elements?.get(d.handle.index) ?? []);
        else if (d.handle.kind === "rotate") ws.change(d.obj, { rotation: drag.rotation }, "Rotate");
        else ws.change(d.obj, { points: drag.points }, `Reshape ${d.obj.type}`);
        break;
      }
      case "box": {
        const moved = Math.hypot(p[0] - d.start[0], p[1] - d.start[1]) * this.view.scale > 3;
        if (moved) this.finishBox(d.start, p);
        else this.boxStart = d.start; // click, click: the second click finishes the box
        break;
      }
      case "area":
        this.ws.pickArea(normRect([...d.start, ...p]));
        break;
      case "paint":
        break;
    }
    this.invalidate();
  }

  private wheel(e: WheelEvent): void {
    e.preventDefault();
    const r = this.canvas.getBoundingClientRect();
    this.zoom(Math.exp(-e.deltaY * 0.0015), [e.clientX - r.left, e.clientY - r.top]);
  }

  /** New geometry of `o` while its handle is dragged to `p`. */
  private reshape(o: SceneObject, h: Handle, p: Pt, shift: boolean, start: Pt): { points: number[]; rotation: number; elements?: Map<number, number[]> } {
    if (h.kind === "element") return { points: o.points, rotation: o.rotation, elements: new Map([[h.index, [p[0], p[1]]]]) };
    if (o.type === "cuboid") {
      const points = h.kind === "face" ? dragCuboidFace(o.points, h.index, p[0] - start[0], p[1] - start[1]) : dragCuboidVertex(o.points, h.index, p, shift);
      return { points, rotation: 0 };
    }
    if (o.type === "rectangle") {
      const [x1, y1, x2, y2] = o.points;
      const c: Pt = [(x1 + x2) / 2, (y1 + y2) / 2];
      if (h.kind === "rotate") {
        const deg = (Math.atan2(p[1] - c[1], p[0] - c[0]) * 180) / Math.PI + 90;
        return { points: o.points, rotation: ((Math.round(deg * 10) / 10) % 360 + 360) % 360 };
      }
      const q = rotate(p, c, -o.rotation); // into the rectangle's own axes
      const corners: Pt[] = [[x1, y1], [x2, y1], [x2, y2], [x1, y2]];
      const opposite = corners[(h.index + 2) % 4];
      return { points: normRect([opposite[0], opposite[1], q[0], q[1]]), rotation: o.rotation };
    }
    const points = [...o.points];
    points[h.index * 2] = p[0];
    points[h.index * 2 + 1] = p[1];
    return { points, rotation: o.rotation };
  }

  // --- drawing -----------------------------------------------------------------------------------

  private clampToImage(p: Pt): Pt {
    const s = this.ws.sizes(this.ws.frame);
    return [Math.min(s.width, Math.max(0, p[0])), Math.min(s.height, Math.max(0, p[1]))];
  }

  private finishBox(a: Pt, b: Pt): void {
    const tool = this.ws.tool;
    const [p, q] = [this.clampToImage(a), this.clampToImage(b)];
    const box = normRect([p[0], p[1], q[0], q[1]]);
    if (box[2] - box[0] < 1 || box[3] - box[1] < 1) return;
    if (tool.kind === "issue") {
      this.onIssueBox?.(box);
      return;
    }
    if (tool.kind !== "draw") return;
    const track = tool.track;
    if (tool.shape === "rectangle") this.ws.create("rectangle", box, { track });
    else if (tool.shape === "ellipse") {
      const [cx, cy] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2];
      this.ws.create("ellipse", [cx, cy, box[2], box[3]], { track });
    } else if (tool.shape === "cuboid") this.ws.create("cuboid", cuboidFromRect(box), { track });
    else if (tool.shape === "skeleton") {
      const label = this.ws.labelById.get(this.ws.labelId);
      if (!label || label.type !== "skeleton") {
        this.ws.say("Pick a skeleton label to draw a skeleton");
        return;
      }
      const tpl = parseSkeleton(label.svg);
      const placed = placeTemplate(tpl.points, { x1: box[0], y1: box[1], x2: box[2], y2: box[3] });
      const elements = tpl.points.map((t, i) => ({
        labelId: label.sublabels.find((s) => s.name === t.labelName)?.id ?? 0,
        points: placed[i],
      }));
      this.ws.create("skeleton", [], { track, elements: elements.filter((e) => e.labelId) });
    }
    this.invalidate();
  }

  /** Finish the polygon/polyline/points/mask being drawn (N, Enter, double click). */
  finish(): boolean {
    const tool = this.ws.tool;
    if (tool.kind !== "draw") return false;
    if (tool.shape === "mask") {
      this.finishMask();
      return true;
    }
    const min = MIN_POINTS[tool.shape];
    if (min === undefined) return false;
    // a double click adds the same point twice: drop the repeat
    const pts = dedupe(this.drawPoints);
    this.drawPoints = [];
    if (pts.length / 2 >= min) this.ws.create(tool.shape, pts.map((v, i) => (i % 2 ? Math.max(0, v) : Math.max(0, v))), { track: tool.track });
    else if (pts.length) this.ws.say(`A ${tool.shape} needs at least ${min} points`);
    this.invalidate();
    return true;
  }

  /** Drop the shape being drawn (Esc); true when there was one. */
  cancel(): boolean {
    const had = this.drawPoints.length > 0 || this.boxStart !== null || this.maskCanvas !== null || this.drag !== null;
    this.drawPoints = [];
    this.boxStart = null;
    this.maskCanvas = null;
    this.maskTarget = null;
    this.drag = null;
    this.overlay.drag = undefined;
    this.invalidate();
    return had;
  }

  undoPoint(): void {
    this.drawPoints = this.drawPoints.slice(0, -2);
    this.invalidate();
  }

  get drawing(): boolean {
    return this.drawPoints.length > 0 || this.boxStart !== null || this.maskCanvas !== null;
  }

  private paint(from: Pt, to: Pt): void {
    const size = this.ws.sizes(this.ws.frame);
    if (!this.maskCanvas) {
      const c = document.createElement("canvas");
      c.width = size.width;
      c.height = size.height;
      this.maskCanvas = c;
      // Editing an existing mask: start from its pixels.
      const active = this.ws.active;
      if (active?.type === "mask" && !this.ws.locked.has(active.key)) {
        this.maskTarget = active;
        const bm = decodeMask(active.points);
        const ctx = c.getContext("2d")!;
        const img = ctx.createImageData(Math.max(1, bm.width), Math.max(1, bm.height));
        bm.data.forEach((v, i) => v && img.data.set([255, 255, 255, 255], i * 4));
        ctx.putImageData(img, bm.left, bm.top);
      }
    }
    const ctx = this.maskCanvas.getContext("2d")!;
    ctx.globalCompositeOperation = this.eraser ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = this.renderer.color(this.ws.labelId);
    ctx.lineWidth = this.brush * 2;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(to[0], to[1], this.brush, 0, Math.PI * 2);
    ctx.fill();
    this.invalidate();
  }

  private finishMask(): void {
    const c = this.maskCanvas;
    const target = this.maskTarget;
    this.maskCanvas = null;
    this.maskTarget = null;
    if (!c) return;
    const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    const bits = new Uint8Array(c.width * c.height);
    for (let i = 0; i < bits.length; i++) bits[i] = data[i * 4 + 3] > 0 ? 1 : 0;
    const rle = encodeMask({ width: c.width, height: c.height, left: 0, top: 0, data: bits });
    if (target) {
      if (rle) this.ws.change(target, { points: rle }, "Edit mask");
      else this.ws.remove([target.key]);
    } else if (rle) this.ws.create("mask", rle, { track: this.ws.tool.kind === "draw" && this.ws.tool.track });
    this.invalidate();
  }

  /** Where the canvas shows an object (for the "fit selected" action and tests). */
  screenBox(o: SceneObject): { x1: number; y1: number; x2: number; y2: number } {
    const b = this.imageBox(o);
    const corners = ([[b.x1, b.y1], [b.x2, b.y2]] as Pt[]).map((p) => toScreen(this.turned, this.centre, p));
    const [xs, ys] = [corners.map((p) => p[0]), corners.map((p) => p[1])];
    return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) };
  }
}

function boxOf(points: number[]): [number, number, number, number] {
  const b = boxObj(points);
  return [b.x1, b.y1, b.x2, b.y2];
}

function boxObj(points: number[]) {
  const xs = points.filter((_, i) => i % 2 === 0);
  const ys = points.filter((_, i) => i % 2 === 1);
  return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) };
}

function dedupe(points: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < points.length; i += 2) {
    const [x, y] = [points[i], points[i + 1]];
    if (out.length && Math.hypot(out[out.length - 2] - x, out[out.length - 1] - y) < 0.5) continue;
    out.push(x, y);
  }
  return out;
}
