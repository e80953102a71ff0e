// Geometry of CVAT's shapes in image coordinates: bounding boxes, hit tests, rotation,
// the 8-point cuboid, CVAT's mask RLE and skeleton templates. Pure functions (unit-tested).
import type { ShapeType } from "../model/types";

export type Pt = [number, number];

export function pairs(points: number[]): Pt[] {
  const out: Pt[] = [];
  for (let i = 0; i + 1 < points.length; i += 2) out.push([points[i], points[i + 1]]);
  return out;
}

export function rotate(p: Pt, c: Pt, degrees: number): Pt {
  if (!degrees) return p;
  const a = (degrees * Math.PI) / 180;
  const [dx, dy] = [p[0] - c[0], p[1] - c[1]];
  return [c[0] + dx * Math.cos(a) - dy * Math.sin(a), c[1] + dx * Math.sin(a) + dy * Math.cos(a)];
}

/** The canvas's view of the image: scale and offset (CSS px), and the image turned by
 * `rotation` degrees (clockwise) about its centre. */
export interface ViewTransform {
  scale: number;
  x: number;
  y: number;
  rotation?: number;
}

/** An image point on the screen (px from the canvas's top left). `centre`: the image's. */
export function toScreen(view: ViewTransform, centre: Pt, p: Pt): Pt {
  const q = rotate(p, centre, view.rotation ?? 0);
  return [view.x + q[0] * view.scale, view.y + q[1] * view.scale];
}

/** The image point under a screen point: toScreen's inverse. */
export function fromScreen(view: ViewTransform, centre: Pt, s: Pt): Pt {
  const q: Pt = [(s[0] - view.x) / view.scale, (s[1] - view.y) / view.scale];
  return rotate(q, centre, -(view.rotation ?? 0));
}

/** Rectangle corners [x1, y1, x2, y2] normalised so that x1 <= x2 and y1 <= y2. */
export function normRect(points: number[]): number[] {
  const [x1, y1, x2, y2] = points;
  return [Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)];
}

/** The four corners of a (rotated) rectangle, clockwise from the top left. */
export function rectCorners(points: number[], rotation: number): Pt[] {
  const [x1, y1, x2, y2] = points;
  const c: Pt = [(x1 + x2) / 2, (y1 + y2) / 2];
  return ([[x1, y1], [x2, y1], [x2, y2], [x1, y2]] as Pt[]).map((p) => rotate(p, c, rotation));
}

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export function bbox(type: ShapeType, points: number[], rotation = 0): Box {
  let pts: Pt[];
  if (type === "rectangle") pts = rectCorners(points, rotation);
  else if (type === "ellipse") {
    const [cx, cy, x2, y2] = points;
    const [rx, ry] = [Math.abs(x2 - cx), Math.abs(y2 - cy)];
    pts = rectCorners([cx - rx, cy - ry, cx + rx, cy + ry], rotation);
  } else if (type === "mask") {
    const [l, t, r, b] = points.slice(-4);
    return { x1: l, y1: t, x2: r + 1, y2: b + 1 };
  } else pts = pairs(points);
  if (!pts.length) return { x1: 0, y1: 0, x2: 0, y2: 0 };
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) };
}

export function pointInPolygon(p: Pt, poly: Pt[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function distToSegment(p: Pt, a: Pt, b: Pt): number {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const len = dx * dx + dy * dy;
  let t = len ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len : 0;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

/** Cuboid faces as CVAT orders its 8 points: front tl, bl, tr, br, then back tl, bl, tr, br. */
export function cuboidFromRect(points: number[]): number[] {
  const [x1, y1, x2, y2] = normRect(points);
  const d = Math.max(4, Math.min(x2 - x1, y2 - y1) * 0.25);
  const front = [x1, y1, x1, y2, x2, y1, x2, y2];
  return [...front, ...front.map((v, i) => (i % 2 ? v - d : v + d))];
}

export function cuboidEdges(points: number[]): [Pt, Pt][] {
  const p = pairs(points); // 0 tl1, 1 bl1, 2 tr1, 3 br1, 4 tl2, 5 bl2, 6 tr2, 7 br2
  const idx: [number, number][] = [
    [0, 1], [1, 3], [3, 2], [2, 0], [4, 5], [5, 7], [7, 6], [6, 4], [0, 4], [1, 5], [2, 6], [3, 7],
  ]; // prettier-ignore
  return idx.filter(([a, b]) => p[a] && p[b]).map(([a, b]) => [p[a], p[b]]);
}

/** Whether `p` hits the shape, with a tolerance `tol` (image pixels) for lines and points. */
export function hitShape(type: ShapeType, points: number[], rotation: number, p: Pt, tol: number): boolean {
  switch (type) {
    case "rectangle": {
      const [x1, y1, x2, y2] = points;
      const c: Pt = [(x1 + x2) / 2, (y1 + y2) / 2];
      const q = rotate(p, c, -rotation);
      return q[0] >= x1 - tol && q[0] <= x2 + tol && q[1] >= y1 - tol && q[1] <= y2 + tol;
    }
    case "ellipse": {
      const [cx, cy, x2, y2] = points;
      const [rx, ry] = [Math.abs(x2 - cx) + tol, Math.abs(y2 - cy) + tol];
      const q = rotate(p, [cx, cy], -rotation);
      return ((q[0] - cx) / rx) ** 2 + ((q[1] - cy) / ry) ** 2 <= 1;
    }
    case "polygon": {
      const poly = pairs(points);
      return pointInPolygon(p, poly) || nearPolyline(p, [...poly, poly[0]], tol);
    }
    case "polyline":
      return nearPolyline(p, pairs(points), tol);
    case "points":
    case "skeleton":
      return pairs(points).some((q) => Math.hypot(q[0] - p[0], q[1] - p[1]) <= tol * 1.5);
    case "cuboid": {
      const pts = pairs(points);
      return pointInPolygon(p, hull(pts)) || cuboidEdges(points).some(([a, b]) => distToSegment(p, a, b) <= tol);
    }
    case "mask": {
      const b = bbox("mask", points);
      if (p[0] < b.x1 || p[0] >= b.x2 || p[1] < b.y1 || p[1] >= b.y2) return false;
      return maskAt(points, Math.floor(p[0]), Math.floor(p[1]));
    }
  }
}

function nearPolyline(p: Pt, pts: Pt[], tol: number): boolean {
  for (let i = 1; i < pts.length; i++) if (distToSegment(p, pts[i - 1], pts[i]) <= tol) return true;
  return pts.length === 1 && Math.hypot(pts[0][0] - p[0], pts[0][1] - p[1]) <= tol;
}

/** Convex hull (monotone chain). */
export function hull(pts: Pt[]): Pt[] {
  const s = [...pts].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (s.length < 3) return s;
  const cross = (o: Pt, a: Pt, b: Pt) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Pt[] = [];
  for (const p of s) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Pt[] = [];
  for (const p of s.reverse()) {
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

/** Translate every point of a shape (a mask moves its box only). */
export function translate(type: ShapeType, points: number[], dx: number, dy: number): number[] {
  if (type === "mask") {
    const [l, t, r, b] = points.slice(-4);
    const [ix, iy] = [Math.round(dx), Math.round(dy)];
    return [...points.slice(0, -4), l + ix, t + iy, r + ix, b + iy];
  }
  return points.map((v, i) => (i % 2 ? v + dy : v + dx));
}

// --- CVAT's mask encoding: run lengths over the box, starting with a run of 0s, then the
// box left, top, right, bottom (inclusive). -------------------------------------------------

export interface Bitmap {
  width: number;
  height: number;
  left: number;
  top: number;
  data: Uint8Array; // 1 = set
}

export function decodeMask(points: number[]): Bitmap {
  const [left, top, right, bottom] = points.slice(-4).map((v) => Math.round(v));
  const width = right - left + 1;
  const height = bottom - top + 1;
  const data = new Uint8Array(Math.max(0, width * height));
  let pos = 0;
  const runs = points.slice(0, -4);
  for (let i = 0; i < runs.length && pos < data.length; i++) {
    const n = Math.round(runs[i]);
    if (i % 2) data.fill(1, pos, Math.min(data.length, pos + n));
    pos += n;
  }
  return { width, height, left, top, data };
}

/** The RLE of the set pixels, cropped to their box; null when nothing is set. */
export function encodeMask(bm: Bitmap): number[] | null {
  let [x1, y1, x2, y2] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < bm.height; y++) {
    for (let x = 0; x < bm.width; x++) {
      if (bm.data[y * bm.width + x]) {
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        if (y > y2) y2 = y;
      }
    }
  }
  if (x2 < 0) return null;
  const runs: number[] = [];
  let current = 0;
  let run = 0;
  for (let y = y1; y <= y2; y++) {
    for (let x = x1; x <= x2; x++) {
      const v = bm.data[y * bm.width + x];
      if (v !== current) {
        runs.push(run);
        run = 0;
        current = v;
      }
      run++;
    }
  }
  runs.push(run);
  return [...runs, bm.left + x1, bm.top + y1, bm.left + x2, bm.top + y2];
}

export function maskAt(points: number[], x: number, y: number): boolean {
  const [left, top, right] = points.slice(-4);
  const width = right - left + 1;
  const target = (y - top) * width + (x - left);
  let pos = 0;
  const n = points.length - 4;
  for (let i = 0; i < n; i++) {
    pos += points[i];
    if (target < pos) return i % 2 === 1;
  }
  return false;
}

// --- skeletons ---------------------------------------------------------------------------

export interface TemplatePoint {
  labelName: string;
  x: number;
  y: number;
}

/** The points of a skeleton label's SVG template (CVAT's `<circle data-label-name cx cy>`),
 * and its edges (`<line data-node-from data-node-to>`) as pairs of point indices. */
export function parseSkeleton(svg: string): { points: TemplatePoint[]; edges: [number, number][] } {
  const points: TemplatePoint[] = [];
  const nodeIndex = new Map<string, number>();
  const attr = (tag: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1];
  for (const m of svg.matchAll(/<circle\b[^>]*>/g)) {
    const tag = m[0];
    const name = attr(tag, "data-label-name");
    if (!name) continue;
    const node = attr(tag, "data-node-id");
    if (node) nodeIndex.set(node, points.length);
    points.push({ labelName: name, x: Number(attr(tag, "cx") ?? 0), y: Number(attr(tag, "cy") ?? 0) });
  }
  const edges: [number, number][] = [];
  for (const m of svg.matchAll(/<line\b[^>]*>/g)) {
    const a = nodeIndex.get(attr(m[0], "data-node-from") ?? "");
    const b = nodeIndex.get(attr(m[0], "data-node-to") ?? "");
    if (a !== undefined && b !== undefined) edges.push([a, b]);
  }
  return { points, edges };
}

/** Template points placed in a box (the template's own bounds map onto it). */
export function placeTemplate(points: TemplatePoint[], box: Box): Pt[] {
  if (!points.length) return [];
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [minX, minY] = [Math.min(...xs), Math.min(...ys)];
  const w = Math.max(...xs) - minX || 1;
  const h = Math.max(...ys) - minY || 1;
  return points.map((p) => [
    box.x1 + ((p.x - minX) / w) * (box.x2 - box.x1),
    box.y1 + ((p.y - minY) / h) * (box.y2 - box.y1),
  ]);
}
