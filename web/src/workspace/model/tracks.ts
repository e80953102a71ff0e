// A track's state on a frame. Interpolation between keyframes is ported separately
// (web/src/annotation/interpolation.ts, checked against the Python golden fixtures); until
// it is there, a track shows on its keyframes only.
import type { TrackedShape } from "./types";

export interface TrackAt {
  shape: TrackedShape;
  keyframe: boolean;
}

export function trackShapeAt(keyframes: TrackedShape[], frame: number): TrackAt | null {
  for (const k of keyframes) if (k.frame === frame) return { shape: k, keyframe: true };
  return null;
}

/** The keyframe at or before `frame` (what an edit between keyframes starts from). */
export function previousKeyframe(keyframes: TrackedShape[], frame: number): TrackedShape | null {
  let best: TrackedShape | null = null;
  for (const k of keyframes) if (k.frame <= frame) best = k;
  return best;
}
