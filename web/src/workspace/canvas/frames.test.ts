import { describe, expect, it } from "vitest";
import { AHEAD, BEHIND, FrameCache, type Decoded } from "./frames";

function harness(frames: number[], capacity = 48) {
  const requested: number[] = [];
  const resolvers = new Map<number, () => void>();
  const closed: number[] = [];
  const cache = new FrameCache(
    frames,
    (f, signal) =>
      new Promise<Decoded>((resolve, reject) => {
        requested.push(f);
        signal.addEventListener("abort", () => reject(new Error("aborted")));
        resolvers.set(f, () => resolve({ width: 1, height: 1, close: () => closed.push(f) }));
      }),
    capacity,
  );
  const finishAll = async () => {
    for (let round = 0; round < 20 && resolvers.size; round++) {
      const rs = [...resolvers.values()];
      resolvers.clear();
      rs.forEach((r) => r());
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  return { cache, requested, finishAll, closed };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("FrameCache", () => {
  it("loads the frame first, then the ones ahead, then a few behind", async () => {
    const h = harness(range(100));
    h.cache.show(50, 1);
    expect(h.requested).toEqual([50, 51, 52, 53]); // 4 at a time, nearest first
    await h.finishAll();
    expect(h.requested).toEqual([50, ...range(AHEAD).map((k) => 51 + k), ...range(BEHIND).map((k) => 49 - k)]);
    expect(h.cache.has(60)).toBe(true);
    h.requested.length = 0;
    h.cache.show(51, 1); // stepping: only the new far end is fetched
    await h.finishAll();
    expect(h.requested).toEqual([61]);
  });

  it("playing backwards prefetches backwards; far requests are dropped when jumping", async () => {
    const h = harness(range(100));
    h.cache.show(10, -1);
    expect(h.requested).toEqual([10, 9, 8, 7]);
    h.cache.show(80, 1);
    await h.finishAll();
    expect(h.cache.has(9)).toBe(false); // aborted, never stored
    expect(h.cache.has(80) && h.cache.has(90)).toBe(true);
  });

  it("evicts least recently used frames outside the window and closes them", async () => {
    const h = harness(range(100), 16);
    h.cache.show(0, 1);
    await h.finishAll();
    h.cache.show(40, 1);
    await h.finishAll();
    expect(h.closed.length).toBeGreaterThan(0);
    expect(h.cache.has(40)).toBe(true);
    expect(h.cache.has(0)).toBe(false);
  });
});
