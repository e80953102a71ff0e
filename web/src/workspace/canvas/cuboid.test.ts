import { describe, expect, it } from "vitest";
import { cuboidFaceHandles, dragCuboidFace, dragCuboidVertex } from "./cuboid";
import { cuboidFromRect, pairs } from "./geometry";

// A cuboid: every back corner at the same offset from its front corner, the front face
// an axis-aligned rectangle.
function isCuboid(points: number[]): boolean {
  const p = pairs(points);
  const off = p.slice(4).map((q, i) => [q[0] - p[i][0], q[1] - p[i][1]].join());
  return new Set(off).size === 1 && p[0][0] === p[1][0] && p[2][0] === p[3][0] && p[0][1] === p[2][1] && p[1][1] === p[3][1];
}

describe("cuboid editing", () => {
  const c = cuboidFromRect([10, 20, 110, 80]); // depth 15 up and right

  it("a front corner resizes the front face as a rectangle; the back face follows", () => {
    const out = dragCuboidVertex(c, 3, [130, 100]); // bottom right
    expect(isCuboid(out)).toBe(true);
    expect(pairs(out).slice(0, 4)).toEqual([[10, 20], [10, 100], [130, 20], [130, 100]]);
    expect(pairs(out)[7]).toEqual([145, 85]);
  });

  it("a back corner moves the back face (depth); Shift moves one point", () => {
    const out = dragCuboidVertex(c, 4, [35, 0]); // back top left was (25, 5)
    expect(isCuboid(out)).toBe(true);
    expect(pairs(out).slice(0, 4)).toEqual(pairs(c).slice(0, 4));
    expect(pairs(out)[7]).toEqual([135, 60]);
    const free = dragCuboidVertex(c, 4, [35, 0], true);
    expect(pairs(free).filter((q, i) => q.join() !== pairs(c)[i].join())).toEqual([[35, 0]]);
  });

  it("a face's edge handle moves that face's points together", () => {
    const handles = cuboidFaceHandles(c);
    expect(handles[0]).toEqual([10, 50]); // the left edge's middle
    const wider = dragCuboidFace(c, 1, 20, 7); // right face: x only
    expect(isCuboid(wider)).toBe(true);
    expect(pairs(wider)[3]).toEqual([130, 80]);
    expect(pairs(wider)[0]).toEqual([10, 20]);
    const deeper = dragCuboidFace(c, 4, 5, -5); // the back face moves freely
    expect(isCuboid(deeper)).toBe(true);
    expect(pairs(deeper)[4]).toEqual([30, 0]);
  });
});
