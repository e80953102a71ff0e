import { describe, expect, it } from "vitest";
import {
  bbox,
  cuboidFromRect,
  decodeMask,
  encodeMask,
  hitShape,
  maskAt,
  parseSkeleton,
  placeTemplate,
  translate,
} from "./geometry";

describe("hit tests", () => {
  it("rectangles honour rotation", () => {
    const r = [0, 0, 100, 10];
    expect(hitShape("rectangle", r, 0, [90, 5], 0)).toBe(true);
    expect(hitShape("rectangle", r, 90, [90, 5], 0)).toBe(false); // now vertical around (50,5)
    expect(hitShape("rectangle", r, 90, [50, 50], 0)).toBe(true);
  });
  it("polygons inside, polylines near, ellipses by equation", () => {
    const tri = [0, 0, 10, 0, 0, 10];
    expect(hitShape("polygon", tri, 0, [2, 2], 0)).toBe(true);
    expect(hitShape("polygon", tri, 0, [8, 8], 0)).toBe(false);
    expect(hitShape("polyline", tri, 0, [5, 1], 1.5)).toBe(true);
    expect(hitShape("polyline", tri, 0, [2, 2], 1)).toBe(false);
    expect(hitShape("ellipse", [10, 10, 20, 15], 0, [19, 10], 0)).toBe(true);
    expect(hitShape("ellipse", [10, 10, 20, 15], 0, [19, 14], 0)).toBe(false);
  });
  it("bbox of a rotated rectangle grows", () => {
    const b = bbox("rectangle", [0, 0, 10, 10], 45);
    expect(b.x1).toBeCloseTo(5 - Math.SQRT2 * 5);
    expect(b.x2).toBeCloseTo(5 + Math.SQRT2 * 5);
  });
});

describe("masks", () => {
  it("round-trip through CVAT's RLE, cropped to the set pixels", () => {
    const width = 6;
    const height = 4;
    const data = new Uint8Array(width * height);
    for (const [x, y] of [[1, 1], [2, 1], [2, 2], [4, 2]]) data[y * width + x] = 1;
    const rle = encodeMask({ width, height, left: 10, top: 20, data })!;
    expect(rle.slice(-4)).toEqual([11, 21, 14, 22]);
    const area = (14 - 11 + 1) * (22 - 21 + 1);
    expect(rle.slice(0, -4).reduce((a, b) => a + b, 0)).toBe(area); // the server's check
    expect(rle[0]).toBe(0); // starts with a run of 0s: the first pixel is set
    const back = decodeMask(rle);
    const set: number[][] = [];
    back.data.forEach((v, i) => v && set.push([back.left + (i % back.width), back.top + Math.floor(i / back.width)]));
    expect(set).toEqual([[11, 21], [12, 21], [12, 22], [14, 22]]);
    expect(maskAt(rle, 14, 22)).toBe(true);
    expect(maskAt(rle, 13, 22)).toBe(false);
    expect(hitShape("mask", rle, 0, [12.5, 22.5], 0)).toBe(true);
    expect(translate("mask", rle, 3, 1).slice(-4)).toEqual([14, 22, 17, 23]);
  });
  it("an empty bitmap has no encoding", () => {
    expect(encodeMask({ width: 2, height: 2, left: 0, top: 0, data: new Uint8Array(4) })).toBeNull();
  });
});

describe("cuboid and skeleton", () => {
  it("a cuboid has 8 points, its front face the drawn box", () => {
    const c = cuboidFromRect([30, 40, 10, 20]);
    expect(c).toHaveLength(16);
    expect(c.slice(0, 8)).toEqual([10, 20, 10, 40, 30, 20, 30, 40]);
  });
  it("skeleton templates are read from the label's SVG and placed in a box", () => {
    const svg =
      '<line data-type="edge" data-node-from="1" data-node-to="2"></line>' +
      '<circle r="1" cx="1" cy="1" data-label-name="head" data-node-id="1"></circle>' +
      '<circle r="1" cx="5" cy="9" data-label-name="tail" data-node-id="2"></circle>';
    const t = parseSkeleton(svg);
    expect(t.points.map((p) => p.labelName)).toEqual(["head", "tail"]);
    expect(t.edges).toEqual([[0, 1]]);
    expect(placeTemplate(t.points, { x1: 100, y1: 100, x2: 140, y2: 180 })).toEqual([[100, 100], [140, 180]]);
  });
});
