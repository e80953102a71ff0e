import { describe, expect, it } from "vitest";
import { MAX_TUS_CHUNK, MIN_TUS_CHUNK, chunkSize, planUpload, tusMetadata } from "./upload";

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
  it("takes a smaller TUS chunk from the setting, within bounds", () => {
    expect(chunkSize(null)).toBe(MAX_TUS_CHUNK);
    expect(chunkSize("65536")).toBe(65536);
    expect(chunkSize(String(MAX_TUS_CHUNK * 4))).toBe(MAX_TUS_CHUNK);
    expect(chunkSize("1")).toBe(MIN_TUS_CHUNK);
    for (const junk of ["", "0", "-5", "1.5", "lots"]) expect(chunkSize(junk)).toBe(MAX_TUS_CHUNK);
  });
});
