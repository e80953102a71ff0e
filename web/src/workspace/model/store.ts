// The job as this client sees it: the server's state (`base`, folded from the snapshot and
// the events in revision order) plus this user's edits that the server has not confirmed
// yet (`pending`, applied optimistically on top). An edit leaves `pending` when its own
// event arrives (matched by op_id), or when it is acked without an event; a nack rolls it
// back (and every queued edit that refers to an object it would have created).
import { applyEvent, decodeEvent, emptyState, stateFromData, type JobState } from "./apply";
import {
  applyPredicted,
  createdBy,
  pairIds,
  resolveIds,
  wire,
  withTempIds,
  type OpCommand,
} from "./commands";
import type { JobEvent, LabeledData } from "./types";

export interface PendingOp {
  opId: string;
  command: OpCommand;
  /** What the user did, for messages ("Move rectangle"). */
  what: string;
  sent: boolean;
  ackRevision?: number;
}

export interface ServerEvent {
  revision: number;
  op_id?: string | null;
  actor?: number | null;
  event_type: string;
  data: unknown;
}

export interface AppliedEvent extends ServerEvent {
  event: JobEvent;
  own: boolean;
}

export type EventResult = "applied" | "duplicate" | "gap";

let opCounter = 0;
export function newOpId(): string {
  const rnd = Math.random().toString(36).slice(2, 10);
  return `${Date.now().toString(36)}-${rnd}-${++opCounter}`;
}

export class JobStore {
  base: JobState = emptyState();
  view: JobState = this.base;
  pending: PendingOp[] = [];
  /** Temporary id -> the server's id, for objects this client created. */
  readonly idMap = new Map<number, number>();
  loaded = false;
  private listeners = new Set<() => void>();
  private eventListeners = new Set<(e: AppliedEvent) => void>();
  /** Bumped on every change: a cheap identity for React's useSyncExternalStore. */
  version = 0;

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  onEvent(fn: (e: AppliedEvent) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  getView = (): JobState => this.view;

  get revision(): number {
    return this.base.revision;
  }

  /** Edits not yet confirmed by the server (queued while offline, or in flight). */
  get queued(): number {
    return this.pending.length;
  }

  loadSnapshot(revision: number, data: LabeledData): void {
    this.base = stateFromData(revision, data);
    this.loaded = true;
    // Own edits already in the snapshot would be applied twice; the server answers their
    // re-send from its log (op ids are idempotent), so keep them pending until acked.
    this.recompute();
  }

  /** Fold one event of the job's stream (in revision order; duplicates and gaps told). */
  applyServerEvent(msg: ServerEvent): EventResult {
    if (msg.revision <= this.base.revision) return "duplicate";
    if (msg.revision > this.base.revision + 1) return "gap";
    const event = decodeEvent(msg.event_type, msg.data);
    this.base = applyEvent(this.base, event, msg.revision);
    let own = false;
    if (msg.op_id) {
      const i = this.pending.findIndex((p) => p.opId === msg.op_id);
      if (i >= 0) {
        own = true;
        const op = this.pending[i];
        // An edit's first event is its creations (it may be several events; the rest are
        // folded into `base` as they come).
        const body = createdBy(op.command);
        if (body && event.type === "ObjectsCreated") {
          for (const [tmp, real] of pairIds(body, event)) this.idMap.set(tmp, real);
        }
        this.pending.splice(i, 1);
      }
    }
    this.recompute();
    for (const fn of this.eventListeners) fn({ ...msg, event, own });
    return "applied";
  }

  /** A local edit: shown at once, sent when the connection allows. */
  local(command: OpCommand, what: string): PendingOp {
    const op: PendingOp = { opId: newOpId(), command: withTempIds(command), what, sent: false };
    this.pending.push(op);
    this.recompute();
    return op;
  }

  /** Ops to send now, in order, with the server's ids: the unsent ones up to the first that
   * refers to an object whose id is not known yet (its create is still in flight). */
  sendable(): { op: PendingOp; command: OpCommand }[] {
    const out: { op: PendingOp; command: OpCommand }[] = [];
    for (const op of this.pending) {
      if (op.sent) continue;
      const { cmd, unresolved } = resolveIds(wire(op.command), this.idMap);
      if (unresolved.length) break;
      out.push({ op, command: cmd });
    }
    return out;
  }

  markSent(opId: string): void {
    const op = this.pending.find((p) => p.opId === opId);
    if (op) op.sent = true;
  }

  /** The connection dropped: whatever was in flight is sent again after the catch-up
   * (the server answers a repeated op id from its log, never applies it twice). */
  markAllUnsent(): void {
    for (const op of this.pending) op.sent = false;
    this.notify();
  }

  ack(msg: { op_id: string; revision: number; position: number; ids?: Record<string, number[]> }): void {
    const i = this.pending.findIndex((p) => p.opId === msg.op_id);
    if (i < 0) return;
    const op = this.pending[i];
    const body = createdBy(op.command);
    if (body && msg.ids) {
      const ids = msg.ids;
      body.shapes.forEach((s, k) => ids.shapes?.[k] && this.idMap.set(s.id, ids.shapes[k]));
      body.tracks.forEach((t, k) => ids.tracks?.[k] && this.idMap.set(t.id, ids.tracks[k]));
      body.tags.forEach((t, k) => ids.tags?.[k] && this.idMap.set(t.id, ids.tags[k]));
    }
    op.ackRevision = msg.revision;
    // No event (nothing changed), or its event is already folded in: done.
    if (msg.position === 0 || msg.revision <= this.base.revision) this.pending.splice(i, 1);
    this.recompute();
  }

  /** The server refused an op: drop it, and the queued ops that depend on what it would
   * have created. Returns the dropped ops (the first is the refused one). */
  nack(opId: string): PendingOp[] {
    const i = this.pending.findIndex((p) => p.opId === opId);
    if (i < 0) return [];
    const [op] = this.pending.splice(i, 1);
    const dropped = [op];
    const c = createdBy(op.command);
    if (c) {
      const gone = new Set<number>();
      for (const s of c.shapes) [s.id, ...s.elements.map((e) => e.id)].forEach((x) => gone.add(x));
      for (const t of c.tracks) [t.id, ...t.elements.map((e) => e.id)].forEach((x) => gone.add(x));
      for (const t of c.tags) gone.add(t.id);
      this.pending = this.pending.filter((p) => {
        const refs = resolveIds(wire(p.command), this.idMap).unresolved;
        if (refs.some((x) => gone.has(x))) {
          dropped.push(p);
          return false;
        }
        return true;
      });
    }
    this.recompute();
    return dropped;
  }

  /** The server id of an object this client created (or the id itself). */
  realId(id: number): number {
    return id < 0 ? (this.idMap.get(id) ?? id) : id;
  }

  private recompute(): void {
    let view = this.base;
    for (const op of this.pending) {
      view = applyPredicted(view, resolveIds(op.command, this.idMap).cmd);
    }
    this.view = view;
    this.notify();
  }

  notify(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }
}
