// Waiting for a background request (/api/requests/{id}) to finish: polls with a backoff that
// grows while nothing changes and starts again from the shortest delay when the request
// moves, so that a quick job is seen done at once and a long one costs few requests.

import { ApiError } from "./client";
import type { BackgroundRequest } from "./types";

export interface Backoff {
  first: number; // ms
  factor: number;
  max: number; // ms
}

export const DEFAULT_BACKOFF: Backoff = { first: 300, factor: 1.6, max: 5000 };
/** Failed polls (network, 5xx) in a row before giving up. */
export const MAX_POLL_ERRORS = 5;

export function nextDelay(previous: number | null, backoff: Backoff = DEFAULT_BACKOFF): number {
  if (previous === null) return backoff.first;
  return Math.min(backoff.max, Math.round(previous * backoff.factor));
}

export function isDone(request: BackgroundRequest): boolean {
  return request.status === "finished" || request.status === "failed";
}

export interface PollOptions {
  onUpdate?: (request: BackgroundRequest) => void;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  backoff?: Backoff;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException("Aborted", "AbortError"));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DOMException("Aborted", "AbortError"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function transient(error: unknown): boolean {
  // A 4xx (the request is gone or not ours) will not get better; anything else may.
  return !(error instanceof ApiError) || error.status >= 500 || error.status === 429;
}

/** Poll `get` until the request is finished or failed; returns its last state. */
export async function pollRequest(
  get: () => Promise<BackgroundRequest>,
  options: PollOptions = {},
): Promise<BackgroundRequest> {
  const sleep = options.sleep ?? abortableSleep;
  let delay: number | null = null;
  let last = "";
  let errors = 0;
  for (;;) {
    let request: BackgroundRequest | null = null;
    try {
      request = await get();
      errors = 0;
    } catch (error) {
      if (!transient(error) || ++errors >= MAX_POLL_ERRORS) throw error;
    }
    if (request) {
      options.onUpdate?.(request);
      if (isDone(request)) return request;
      const state = `${request.status}:${request.progress ?? ""}`;
      if (state !== last) delay = null; // it moved: look again soon
      last = state;
    }
    delay = nextDelay(delay, options.backoff);
    await sleep(delay, options.signal);
  }
}

/** A request's progress in percent (0..100), or null when it reports none. */
export function percent(request: BackgroundRequest): number | null {
  if (request.status === "finished") return 100;
  if (request.progress === null || request.progress === undefined) return null;
  // CVAT reports a fraction 0..1.
  return Math.max(0, Math.min(100, Math.round(request.progress * 100)));
}

/** A request in words, from its operation ("Export of task #3 (COCO 1.0)"). */
export function describeRequest(request: BackgroundRequest): string {
  const o = request.operation;
  const [action, what] = o.type.split(":");
  const id = o.job_id ?? o.task_id ?? o.project_id;
  const subject = `${o.target}${id !== null && id !== undefined ? ` #${id}` : ""}`;
  const format = o.format ? ` (${o.format})` : "";
  if (o.type === "create:task") return `Creation of ${subject}`;
  if (what === "backup") return action === "export" ? `Backup of ${subject}` : `Restore of a ${o.target} backup`;
  if (action === "export") return `Export of ${subject}${format}`;
  if (action === "import") return `Import into ${subject}${format}`;
  return `${o.type} of ${subject}`;
}
