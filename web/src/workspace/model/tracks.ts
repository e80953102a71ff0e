// A track's state on a frame, from the shared TypeScript port of the domain's
// interpolation (web/src/annotation/interpolation.ts, held to the Python golden fixtures).
import { shapeAt } from "../../annotation/interpolation";
import type { InterpolatedShape } from "../../annotation/types";
import type { Track, TrackedShape } from "./types";

export function trackAt(track: Track, frame: number): InterpolatedShape | null {
  return shapeAt(track, frame);
}

/** The keyframe at or before `frame` (what an edit between keyframes starts from). */
export function previousKeyframe(keyframes: TrackedShape[], frame: number): TrackedShape | null {
  let best: TrackedShape | null = null;
  for (const k of keyframes) if (k.frame <= frame) best = k;
  return best;
}
