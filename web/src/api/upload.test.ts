import { describe, expect, it } from "vitest";
import { planUpload, tusMetadata } from "./upload";

describe("upload plan", () => {
  it("batches files in order under the byte and count limits, large ones over TUS", () => {
    const sizes = [40, 40, 30, 200, 10, 10, 10];
    expect(planUpload(sizes.map((size) => ({ size })), 100, 3)).toEqual({
      batches: [[0, 1], [2, 4, 5], [6]],
      tus: [3],
    });
  });
  it("sends nothing for no files", () => {
    expect(planUpload([])).toEqual({ batches: [], tus: [] });
  });
  it("encodes TUS metadata as base64 UTF-8", () => {
    expect(tusMetadata({ filename: "ä.png", filetype: "" })).toBe("filename w6QucG5n,filetype ");
  });
});
