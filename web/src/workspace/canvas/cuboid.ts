// CVAT's cuboid editing rules (the seed's "Editing the cuboid"), pure: the front face keeps
// its vertical edges vertical and its horizontal edges horizontal when a corner is dragged,
// and the back face follows it (each back corner keeps its offset), so the shape stays a
// cuboid; dragging a face's edge handle moves that face's points together (left, right,
// top, bottom faces along one axis, the back face freely); Shift moves one point alone
// (CVAT's perspective editing). Points: front tl, bl, tr, br, then back tl, bl, tr, br.
import { pairs, type Pt } from "./geometry";

/** Edge handles: where each sits (the midpoint of two points) and which points it moves. */
export const CUBOID_FACES: { name: string; at: [number, number]; moves: number[]; axis: "x" | "y" | "xy" }[] = [
  { name: "left", at: [0, 1], moves: [0, 1, 4, 5], axis: "x" },
  { name: "right", at: [2, 3], moves: [2, 3, 6, 7], axis: "x" },
  { name: "top", at: [0, 2], moves: [0, 2, 4, 6], axis: "y" },
  { name: "bottom", at: [1, 3], moves: [1, 3, 5, 7], axis: "y" },
  { name: "back", at: [6, 7], moves: [4, 5, 6, 7], axis: "xy" },
];

export function cuboidFaceHandles(points: number[]): Pt[] {
  const p = pairs(points);
  return CUBOID_FACES.map(({ at: [a, b] }) => [(p[a][0] + p[b][0]) / 2, (p[a][1] + p[b][1]) / 2]);
}

/** Front corners: the one sharing the dragged corner's vertical edge, and its horizontal. */
const VERTICAL = [1, 0, 3, 2];
const HORIZONTAL = [2, 3, 0, 1];

/** The cuboid's points with vertex `index` dragged to `p` (`free`: that point alone). */
export function dragCuboidVertex(points: number[], index: number, p: Pt, free = false): number[] {
  const pts = pairs(points);
  if (free || pts.length !== 8) {
    const out = [...points];
    out[index * 2] = p[0];
    out[index * 2 + 1] = p[1];
    return out;
  }
  const next = pts.map((q) => [...q] as Pt);
  if (index >= 4) {
    // a back corner: the whole back face moves with it (the depth changes, still a cuboid)
    const [dx, dy] = [p[0] - pts[index][0], p[1] - pts[index][1]];
    for (let i = 4; i < 8; i++) next[i] = [pts[i][0] + dx, pts[i][1] + dy];
    return next.flat();
  }
  next[index] = p;
  next[VERTICAL[index]] = [p[0], pts[VERTICAL[index]][1]];
  next[HORIZONTAL[index]] = [pts[HORIZONTAL[index]][0], p[1]];
  for (let i = 0; i < 4; i++) next[i + 4] = [next[i][0] + pts[i + 4][0] - pts[i][0], next[i][1] + pts[i + 4][1] - pts[i][1]];
  return next.flat();
}

/** The cuboid's points with face `face` (CUBOID_FACES) dragged by (dx, dy). */
export function dragCuboidFace(points: number[], face: number, dx: number, dy: number): number[] {
  const { moves, axis } = CUBOID_FACES[face];
  const out = [...points];
  for (const i of moves) {
    if (axis !== "y") out[i * 2] += dx;
    if (axis !== "x") out[i * 2 + 1] += dy;
  }
  return out;
}
