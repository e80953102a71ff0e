// Draws a frame on a 2D canvas: the image (brightness/contrast as a canvas filter), then
// every object batched into one Path2D per colour and style (a few strokes for thousands
// of objects), masks from cached bitmaps, then the active object's handles, other
// participants' selections (solid in their colour, with a name tag) and cursors, and the
// shape being drawn.
import type { Label } from "../model/types";
import type { Settings } from "../settings";
import { bbox, cuboidEdges, decodeMask, pairs, parseSkeleton, rectCorners, toScreen, type Pt, type ViewTransform } from "./geometry";
import { cuboidFaceHandles } from "./cuboid";
import type { SceneObject } from "./scene";

export type { ViewTransform };

/** What the settings change in drawing. */
export type Style = Pick<Settings, "opacity" | "selectedOpacity" | "outline" | "pointSize" | "grid" | "gridSize" | "gridColor" | "gridOpacity">;

export interface Overlay {
  /** Geometry of an object being dragged (before the edit is committed). */
  drag?: { key: string; points: number[]; rotation: number; elements?: Map<number, number[]> };
  /** The shape being drawn, in image coordinates. */
  drawing?: { type: string; points: number[]; color: string; cursor?: Pt };
  mask?: HTMLCanvasElement | OffscreenCanvas | null;
  others: { color: string; name: string; cursor: number[] | null; selection: Set<string> }[];
  issues: { id: number; position: number[]; resolved: boolean; active: boolean }[];
}

const FALLBACK = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c"];

export function labelColor(label: Label | undefined, id: number): string {
  return label?.color && /^#[0-9a-f]{6}$/i.test(label.color) ? label.color : FALLBACK[Math.abs(id) % FALLBACK.length];
}

export function userColor(id: number): string {
  return `hsl(${(id * 137) % 360} 80% 45%)`;
}

const maskCache = new WeakMap<number[], Map<string, HTMLCanvasElement>>();

function maskCanvas(points: number[], color: string): HTMLCanvasElement | null {
  let byColor = maskCache.get(points);
  if (!byColor) maskCache.set(points, (byColor = new Map()));
  const hit = byColor.get(color);
  if (hit) return hit;
  const bm = decodeMask(points);
  if (bm.width <= 0 || bm.height <= 0) return null;
  const c = document.createElement("canvas");
  c.width = bm.width;
  c.height = bm.height;
  const ctx = c.getContext("2d")!;
  const img = ctx.createImageData(bm.width, bm.height);
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  for (let i = 0; i < bm.data.length; i++) {
    if (!bm.data[i]) continue;
    img.data.set([r, g, b, 110], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  byColor.set(color, c);
  return c;
}

export class Renderer {
  private skeletonEdges = new Map<number, [number, number][]>();

  constructor(private readonly labels: Map<number, Label>) {
    for (const l of labels.values()) {
      if (l.type !== "skeleton" || !l.svg) continue;
      const t = parseSkeleton(l.svg);
      const idOf = (name: string) => l.sublabels.find((s) => s.name === name)?.id ?? -1;
      this.skeletonEdges.set(l.id, t.edges.map(([a, b]) => [idOf(t.points[a].labelName), idOf(t.points[b].labelName)]));
    }
  }

  color(labelId: number): string {
    return labelColor(this.labels.get(labelId), labelId);
  }

  /** Add the outline of `o` (with `points`) to `path`; `r` is a point's radius. */
  outline(path: Path2D, o: SceneObject, points: number[], rotation: number, r: number, elements?: Map<number, number[]>): void {
    switch (o.type) {
      case "rectangle": {
        if (!rotation) {
          const [x1, y1, x2, y2] = points;
          path.rect(x1, y1, x2 - x1, y2 - y1);
          break;
        }
        const c = rectCorners(points, rotation);
        path.moveTo(c[0][0], c[0][1]);
        for (const p of c.slice(1)) path.lineTo(p[0], p[1]);
        path.closePath();
        break;
      }
      case "polygon":
      case "polyline": {
        const p = pairs(points);
        if (!p.length) break;
        path.moveTo(p[0][0], p[0][1]);
        for (const q of p.slice(1)) path.lineTo(q[0], q[1]);
        if (o.type === "polygon") path.closePath();
        break;
      }
      case "points":
        for (const [x, y] of pairs(points)) {
          path.moveTo(x + r, y);
          path.arc(x, y, r, 0, Math.PI * 2);
        }
        break;
      case "ellipse": {
        const [cx, cy, x2, y2] = points;
        path.moveTo(cx + Math.abs(x2 - cx), cy);
        path.ellipse(cx, cy, Math.abs(x2 - cx), Math.abs(y2 - cy), (rotation * Math.PI) / 180, 0, Math.PI * 2);
        break;
      }
      case "cuboid":
        for (const [a, b] of cuboidEdges(points)) {
          path.moveTo(a[0], a[1]);
          path.lineTo(b[0], b[1]);
        }
        break;
      case "skeleton": {
        const at = new Map<number, number[]>();
        for (const e of o.elements) if (!e.outside) at.set(e.labelId, elements?.get(e.id) ?? e.points);
        for (const [a, b] of this.skeletonEdges.get(o.labelId) ?? []) {
          const [pa, pb] = [at.get(a), at.get(b)];
          if (pa && pb) {
            path.moveTo(pa[0], pa[1]);
            path.lineTo(pb[0], pb[1]);
          }
        }
        for (const p of at.values()) {
          path.moveTo(p[0] + r, p[1]);
          path.arc(p[0], p[1], r, 0, Math.PI * 2);
        }
        break;
      }
      default:
        break;
    }
  }

  draw(
    ctx: CanvasRenderingContext2D,
    size: { width: number; height: number; dpr: number },
    view: ViewTransform,
    image: CanvasImageSource | null,
    imageSize: { width: number; height: number },
    filter: { brightness: number; contrast: number; saturation: number },
    objects: SceneObject[],
    state: { selection: string[]; hover: string | null; hidden: Set<string>; locked: Set<string>; activeKey: string | null },
    overlay: Overlay,
    style: Style,
  ): void {
    const { dpr } = size;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#30343b";
    ctx.fillRect(0, 0, size.width, size.height);
    ctx.setTransform(dpr * view.scale, 0, 0, dpr * view.scale, dpr * view.x, dpr * view.y);
    const centre: Pt = [imageSize.width / 2, imageSize.height / 2];
    if (view.rotation) {
      // The image and everything on it turn about the image's centre (geometry.toScreen).
      ctx.translate(centre[0], centre[1]);
      ctx.rotate((view.rotation * Math.PI) / 180);
      ctx.translate(-centre[0], -centre[1]);
    }
    if (image) {
      if (filter.brightness !== 100 || filter.contrast !== 100 || filter.saturation !== 100) {
        ctx.filter = `brightness(${filter.brightness}%) contrast(${filter.contrast}%) saturate(${filter.saturation}%)`;
      }
      ctx.drawImage(image, 0, 0, imageSize.width, imageSize.height);
      ctx.filter = "none";
    } else {
      ctx.fillStyle = "#1b1e22";
      ctx.fillRect(0, 0, imageSize.width, imageSize.height);
    }
    const px = 1 / view.scale; // one screen pixel in image units
    if (style.grid && style.gridSize > 0) {
      const grid = new Path2D();
      for (let x = style.gridSize; x < imageSize.width; x += style.gridSize) {
        grid.moveTo(x, 0);
        grid.lineTo(x, imageSize.height);
      }
      for (let y = style.gridSize; y < imageSize.height; y += style.gridSize) {
        grid.moveTo(0, y);
        grid.lineTo(imageSize.width, y);
      }
      ctx.strokeStyle = style.gridColor;
      ctx.globalAlpha = style.gridOpacity / 100;
      ctx.lineWidth = px;
      ctx.stroke(grid);
      ctx.globalAlpha = 1;
    }
    const r = style.pointSize * px;
    // Batches: colour|dashed -> outline paths; closed shapes also get a faint fill.
    const strokes = new Map<string, Path2D>();
    const fills = new Map<string, Path2D>();
    const selected = new Set(state.selection);
    for (const o of objects) {
      if (o.type === "tag" || o.outside || state.hidden.has(o.key)) continue;
      const drag = overlay.drag?.key === o.key ? overlay.drag : undefined;
      const points = drag?.points ?? o.points;
      const rotation = drag?.rotation ?? o.rotation;
      const color = this.color(o.labelId);
      if (o.type === "mask") {
        const m = maskCanvas(points, color);
        if (m) {
          const [left, top] = points.slice(-4);
          ctx.globalAlpha = state.locked.has(o.key) ? 0.4 : 1;
          ctx.drawImage(m, left, top);
          ctx.globalAlpha = 1;
        }
        if (!selected.has(o.key) && state.hover !== o.key) continue;
      }
      const batch = `${color}|${o.occluded ? "d" : ""}|${state.locked.has(o.key) ? "l" : ""}`;
      let path = strokes.get(batch);
      if (!path) strokes.set(batch, (path = new Path2D()));
      if (o.type === "mask") {
        const [l, t, rr, b] = points.slice(-4);
        path.rect(l, t, rr - l + 1, b - t + 1);
      } else this.outline(path, o, points, rotation, r, drag?.elements);
      if (o.type === "rectangle" || o.type === "polygon" || o.type === "ellipse" || o.type === "cuboid") {
        let fill = fills.get(color);
        if (!fill) fills.set(color, (fill = new Path2D()));
        this.outline(fill, o, points, rotation, r);
      }
    }
    ctx.globalAlpha = style.opacity / 100;
    for (const [color, path] of fills) {
      ctx.fillStyle = color;
      ctx.fill(path, "evenodd");
    }
    // Selected objects are filled more (CVAT's "selected opacity").
    if (style.selectedOpacity > 0) {
      ctx.globalAlpha = style.selectedOpacity / 100;
      for (const key of selected) {
        const o = objects.find((x) => x.key === key);
        if (!o || o.outside || state.hidden.has(key) || !["rectangle", "polygon", "ellipse", "cuboid"].includes(o.type)) continue;
        const drag = overlay.drag?.key === key ? overlay.drag : undefined;
        const fill = new Path2D();
        this.outline(fill, o, drag?.points ?? o.points, drag?.rotation ?? o.rotation, r);
        ctx.fillStyle = this.color(o.labelId);
        ctx.fill(fill, "evenodd");
      }
    }
    ctx.globalAlpha = 1;
    ctx.lineWidth = 2 * px;
    for (const [key, path] of strokes) {
      const [color, dashed, locked] = key.split("|");
      ctx.strokeStyle = style.outline ?? color;
      ctx.globalAlpha = locked ? 0.45 : 1;
      ctx.setLineDash(dashed ? [6 * px, 4 * px] : []);
      ctx.stroke(path);
    }
    ctx.globalAlpha = 1;
    ctx.setLineDash([]);

    // Hovered and selected objects, then the active one's handles.
    const byKey = new Map(objects.map((o) => [o.key, o]));
    const emphasise = (key: string, color: string, width: number, dash: number[] = []) => {
      const o = byKey.get(key);
      if (!o || o.type === "tag" || o.outside || state.hidden.has(key)) return;
      const drag = overlay.drag?.key === key ? overlay.drag : undefined;
      const path = new Path2D();
      if (o.type === "mask") {
        const [l, t, rr, b] = (drag?.points ?? o.points).slice(-4);
        path.rect(l, t, rr - l + 1, b - t + 1);
      } else this.outline(path, o, drag?.points ?? o.points, drag?.rotation ?? o.rotation, r * 1.3, drag?.elements);
      ctx.strokeStyle = color;
      ctx.lineWidth = width * px;
      ctx.setLineDash(dash.map((d) => d * px));
      ctx.stroke(path);
      ctx.setLineDash([]);
    };
    if (state.hover && !selected.has(state.hover)) emphasise(state.hover, "#ffffff", 2.5);
    // Another user's selection: solid, in their avatar colour, with a name tag (below);
    // dashed lines mean "occluded".
    for (const other of overlay.others) for (const key of other.selection) emphasise(key, other.color, 3);
    for (const key of state.selection) emphasise(key, "#ffffff", 3);
    const active = state.activeKey ? byKey.get(state.activeKey) : undefined;
    if (active && !state.hidden.has(active.key) && !active.outside) {
      const drag = overlay.drag?.key === active.key ? overlay.drag : undefined;
      ctx.fillStyle = "#ffffff";
      ctx.strokeStyle = "#000000";
      ctx.lineWidth = px;
      for (const h of handles(active, drag?.points ?? active.points, drag?.rotation ?? active.rotation, px, drag?.elements)) {
        ctx.beginPath();
        if (h.kind === "face") ctx.rect(h.p[0] - 3.5 * px, h.p[1] - 3.5 * px, 7 * px, 7 * px);
        else ctx.arc(h.p[0], h.p[1], 4 * px, 0, Math.PI * 2);
        ctx.fill();
        ctx.stroke();
      }
    }

    // Review issues: red regions.
    for (const issue of overlay.issues) {
      const p = pairs(issue.position);
      if (!p.length) continue;
      const path = new Path2D();
      const [x1, y1] = [Math.min(...p.map((q) => q[0])), Math.min(...p.map((q) => q[1]))];
      const [x2, y2] = [Math.max(...p.map((q) => q[0])), Math.max(...p.map((q) => q[1]))];
      path.rect(x1, y1, x2 - x1, y2 - y1);
      ctx.strokeStyle = issue.resolved ? "#2da44e" : "#ff3b30";
      ctx.lineWidth = (issue.active ? 3 : 2) * px;
      ctx.setLineDash([4 * px, 3 * px]);
      ctx.stroke(path);
      ctx.setLineDash([]);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.font = `${12 * px}px system-ui`;
      ctx.fillText(`#${issue.id}`, x1, y1 - 3 * px);
    }

    // The shape being drawn.
    if (overlay.mask) {
      ctx.globalAlpha = 0.55;
      ctx.drawImage(overlay.mask as CanvasImageSource, 0, 0);
      ctx.globalAlpha = 1;
    }
    const d = overlay.drawing;
    if (d) {
      const pts = d.cursor ? [...d.points, ...d.cursor] : d.points;
      const path = new Path2D();
      const fake = { type: d.type, elements: [], labelId: 0 } as unknown as SceneObject;
      if (d.type === "rectangle" || d.type === "issue" || d.type === "skeleton" || d.type === "cuboid") {
        const [x1, y1, x2, y2] = pts;
        if (pts.length >= 4) path.rect(Math.min(x1, x2), Math.min(y1, y2), Math.abs(x2 - x1), Math.abs(y2 - y1));
      } else this.outline(path, fake, pts, 0, r);
      ctx.strokeStyle = d.color;
      ctx.lineWidth = 2 * px;
      ctx.setLineDash([5 * px, 3 * px]);
      ctx.stroke(path);
      ctx.setLineDash([]);
      ctx.fillStyle = d.color;
      for (const [x, y] of pairs(d.points)) ctx.fillRect(x - 3 * px, y - 3 * px, 6 * px, 6 * px);
    }

    // Other participants' name tags and cursors, in screen space so they keep their size.
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = "12px system-ui";
    for (const other of overlay.others) {
      for (const key of other.selection) {
        const o = byKey.get(key);
        if (!o || o.type === "tag" || o.outside || state.hidden.has(key)) continue;
        const b = o.type === "skeleton" ? bbox("points", o.elements.filter((e) => !e.outside).flatMap((e) => e.points)) : bbox(o.type, o.points, o.rotation);
        const corners = ([[b.x1, b.y1], [b.x2, b.y1], [b.x1, b.y2], [b.x2, b.y2]] as Pt[]).map((p) => toScreen(view, centre, p));
        const [sx, sy] = [Math.min(...corners.map((p) => p[0])), Math.min(...corners.map((p) => p[1]))];
        const w = ctx.measureText(other.name).width + 8;
        ctx.fillStyle = other.color;
        ctx.fillRect(sx - 1.5, sy - 18, w, 16);
        ctx.fillStyle = "#fff";
        ctx.fillText(other.name, sx + 2.5, sy - 6);
      }
    }
    for (const other of overlay.others) {
      if (!other.cursor) continue;
      const [sx, sy] = toScreen(view, centre, [other.cursor[0], other.cursor[1]]);
      ctx.fillStyle = other.color;
      ctx.beginPath();
      ctx.moveTo(sx, sy);
      ctx.lineTo(sx + 11, sy + 4);
      ctx.lineTo(sx + 4, sy + 11);
      ctx.closePath();
      ctx.fill();
      const w = ctx.measureText(other.name).width + 8;
      ctx.fillRect(sx + 10, sy + 10, w, 16);
      ctx.fillStyle = "#fff";
      ctx.fillText(other.name, sx + 14, sy + 22);
    }
  }
}

export interface Handle {
  /** vertex index (points pair), or "rotate", or an element id for skeletons, or a cuboid
   * face's edge handle (an index of CUBOID_FACES) */
  kind: "vertex" | "rotate" | "element" | "face";
  index: number;
  p: Pt;
}

/** Grab points of the active object: vertices (rectangles: corners), a rotation handle. */
export function handles(o: SceneObject, points: number[], rotation: number, px: number, elements?: Map<number, number[]>): Handle[] {
  switch (o.type) {
    case "rectangle": {
      const c = rectCorners(points, rotation);
      const [x1, y1, x2] = points;
      const centre: Pt = [(points[0] + points[2]) / 2, (points[1] + points[3]) / 2];
      const top: Pt = [(x1 + x2) / 2, y1 - 24 * px];
      const a = (rotation * Math.PI) / 180;
      const [dx, dy] = [top[0] - centre[0], top[1] - centre[1]];
      const rot: Pt = [centre[0] + dx * Math.cos(a) - dy * Math.sin(a), centre[1] + dx * Math.sin(a) + dy * Math.cos(a)];
      return [...c.map((p, index) => ({ kind: "vertex" as const, index, p })), { kind: "rotate", index: -1, p: rot }];
    }
    case "ellipse": {
      const [cx, cy, x2, y2] = points;
      return [{ kind: "vertex", index: 1, p: [x2, y2] }, { kind: "vertex", index: 0, p: [cx, cy] }];
    }
    case "cuboid":
      return [
        ...pairs(points).map((p, index) => ({ kind: "vertex" as const, index, p })),
        ...cuboidFaceHandles(points).map((p, index) => ({ kind: "face" as const, index, p })),
      ];
    case "mask":
    case "tag":
      return [];
    case "skeleton":
      return o.elements.filter((e) => !e.outside).map((e) => {
        const p = elements?.get(e.id) ?? e.points;
        return { kind: "element" as const, index: e.id, p: [p[0], p[1]] as Pt };
      });
    default:
      return pairs(points).map((p, index) => ({ kind: "vertex" as const, index, p }));
  }
}
