import { describe, expect, it } from "vitest";
import { readStoredZip } from "./chunks";

/** A zip of stored members, as the server's chunk writer makes them (zipfile.ZIP_STORED). */
function storedZip(files: [string, number[]][], comment = ""): ArrayBuffer {
  const enc = new TextEncoder();
  const parts: number[] = [];
  const central: number[] = [];
  const u16 = (a: number[], v: number) => a.push(v & 0xff, (v >> 8) & 0xff);
  const u32 = (a: number[], v: number) => { u16(a, v & 0xffff); u16(a, v >>> 16); }; // prettier-ignore
  for (const [name, data] of files) {
    const n = [...enc.encode(name)];
    const offset = parts.length;
    u32(parts, 0x04034b50); u16(parts, 20); u16(parts, 0); u16(parts, 0); u32(parts, 0); u32(parts, 0);
    u32(parts, data.length); u32(parts, data.length); u16(parts, n.length); u16(parts, 3);
    parts.push(...n, 0, 0, 0, ...data); // 3 bytes of local "extra" the reader must skip
    u32(central, 0x02014b50); u16(central, 20); u16(central, 20); u16(central, 0); u16(central, 0); u32(central, 0); u32(central, 0);
    u32(central, data.length); u32(central, data.length); u16(central, n.length); u16(central, 0); u16(central, 0);
    u16(central, 0); u16(central, 0); u32(central, 0); u32(central, offset); central.push(...n);
  } // prettier-ignore
  const end: number[] = [];
  const c = [...enc.encode(comment)];
  u32(end, 0x06054b50); u16(end, 0); u16(end, 0); u16(end, files.length); u16(end, files.length);
  u32(end, central.length); u32(end, parts.length); u16(end, c.length); end.push(...c); // prettier-ignore
  return new Uint8Array([...parts, ...central, ...end]).buffer;
}

describe("readStoredZip", () => {
  it("reads stored members in name order, past local extras and a trailing comment", () => {
    const zip = storedZip([["000001.jpeg", [4, 5]], ["000000.jpeg", [1, 2, 3]]], "a comment");
    const members = readStoredZip(zip);
    expect(members.map((m) => [m.name, [...m.data]])).toEqual([["000000.jpeg", [1, 2, 3]], ["000001.jpeg", [4, 5]]]);
  });

  it("refuses what it cannot read", () => {
    expect(() => readStoredZip(new Uint8Array(40).buffer)).toThrow(/not a zip/);
    const zip = new Uint8Array(storedZip([["a.png", [1]]]));
    zip[30 + 5 + 3 + 1 + 10] = 8; // the central record's method (after the one local member): deflate
    expect(() => readStoredZip(zip.buffer)).toThrow(/compressed/);
  });
});
