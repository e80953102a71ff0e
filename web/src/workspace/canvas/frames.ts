// Decoded frames held as ImageBitmaps in a small LRU, filled ahead of the player: the next
// AHEAD frames in the direction of travel and BEHIND frames the other way, at most
// CONCURRENCY requests at a time, nearest first. Stepping through frames then finds each
// image already decoded.
export const AHEAD = 10;
export const BEHIND = 3;
const CONCURRENCY = 4;

export type Decoded = { width: number; height: number; close?: () => void };
export type Loader<T extends Decoded> = (frame: number, signal: AbortSignal) => Promise<T>;

export class FrameCache<T extends Decoded = ImageBitmap> {
  private images = new Map<number, T>(); // insertion order = recency
  private inflight = new Map<number, { promise: Promise<T>; abort: AbortController }>();
  private queue: number[] = [];
  private listeners = new Set<(frame: number) => void>();
  private wanted = new Set<number>();
  failed = new Map<number, string>();

  constructor(
    private readonly frames: number[],
    private readonly load: Loader<T>,
    private readonly capacity = 48,
  ) {}

  onLoad(fn: (frame: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get(frame: number): T | undefined {
    const img = this.images.get(frame);
    if (img) {
      this.images.delete(frame);
      this.images.set(frame, img);
    }
    return img;
  }

  has(frame: number): boolean {
    return this.images.has(frame);
  }

  /** Make `frame` current: load it first, then its neighbours; drop queued far-away loads. */
  show(frame: number, direction: 1 | -1 = 1): void {
    const i = this.frames.indexOf(frame);
    if (i < 0) return;
    const order = [frame];
    for (let k = 1; k <= AHEAD; k++) {
      const f = this.frames[i + direction * k];
      if (f !== undefined) order.push(f);
    }
    for (let k = 1; k <= BEHIND; k++) {
      const f = this.frames[i - direction * k];
      if (f !== undefined) order.push(f);
    }
    this.wanted = new Set(order);
    for (const [f, req] of this.inflight) {
      if (!this.wanted.has(f)) {
        req.abort.abort();
        this.inflight.delete(f);
      }
    }
    this.queue = order.filter((f) => !this.images.has(f) && !this.inflight.has(f));
    this.pump();
  }

  private pump(): void {
    while (this.inflight.size < CONCURRENCY && this.queue.length) {
      const frame = this.queue.shift()!;
      const abort = new AbortController();
      const promise = this.load(frame, abort.signal);
      this.inflight.set(frame, { promise, abort });
      promise.then(
        (img) => {
          if (this.inflight.get(frame)?.promise !== promise) {
            img.close?.();
            return;
          }
          this.inflight.delete(frame);
          this.failed.delete(frame);
          this.images.set(frame, img);
          this.evict();
          for (const fn of this.listeners) fn(frame);
          this.pump();
        },
        (err: unknown) => {
          if (this.inflight.get(frame)?.promise === promise) {
            this.inflight.delete(frame);
            if (!abort.signal.aborted) {
              this.failed.set(frame, String(err));
              for (const fn of this.listeners) fn(frame);
            }
          }
          this.pump();
        },
      );
    }
  }

  private evict(): void {
    for (const [f, img] of this.images) {
      if (this.images.size <= this.capacity) break;
      if (this.wanted.has(f)) continue;
      img.close?.();
      this.images.delete(f);
    }
  }

  dispose(): void {
    for (const req of this.inflight.values()) req.abort.abort();
    for (const img of this.images.values()) img.close?.();
    this.images.clear();
    this.inflight.clear();
  }
}

/** Frames of a job from the server: `/api/jobs/{id}/data?type=frame&number=N`. */
export function httpLoader(jobId: number): Loader<ImageBitmap> {
  return async (frame, signal) => {
    const res = await fetch(`/api/jobs/${jobId}/data?type=frame&number=${frame}&quality=compressed`, {
      signal,
      credentials: "same-origin",
    });
    if (!res.ok) throw new Error(`frame ${frame}: HTTP ${res.status}`);
    return createImageBitmap(await res.blob());
  };
}
