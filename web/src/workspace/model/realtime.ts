// The browser's client of /api/ws (backend/realtime/protocol.py), the TypeScript sibling of
// backend/realtime/client.py: one socket, one subscribed job, folded into a JobStore.
// It reconnects with capped exponential backoff, catches up from the revision it has
// (`subscribe {since_revision}`), then sends the edits queued meanwhile; presence is
// throttled to one message per PRESENCE_MS with the latest values.
import type { JobStore, PendingOp } from "./store";
import type { LabeledData } from "./types";

export const PROTOCOL = 1;
export const PRESENCE_MS = 100;
const PING_MS = 5_000;
// No message for this long (pongs included): the socket is dead. Generous enough for a large
// snapshot on a slow link, which arrives as one message.
const DEAD_MS = 20_000;
const READ_ONLY_CREDENTIALS = "these credentials are read-only (read-only token)"; // as the server says

export type ConnState = "connecting" | "live" | "reconnecting" | "offline";

export interface UserRef {
  id: number;
  username: string;
}

export interface Presence {
  session: string;
  user: UserRef;
  frame: number | null;
  selection: number[];
  cursor: number[] | null;
}

export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface RealtimeOptions {
  url: string;
  job: number;
  store: JobStore;
  makeSocket?: (url: string) => SocketLike;
  /** Short user-facing messages: a refused edit, a lost permission. */
  onMessage?: (text: string) => void;
  /** The server closed the socket for want of credentials (4001): the session has ended. */
  onUnauthorized?: () => void;
  /** Reconnect delays: base * 2^attempt, capped, with +-20% jitter. */
  backoff?: { baseMs: number; maxMs: number };
  random?: () => number;
  /** Whether the browser thinks it is online (navigator.onLine). */
  online?: () => boolean;
}

type Msg = Record<string, unknown> & { type: string };

export class RealtimeClient {
  state: ConnState = "connecting";
  me: UserRef | null = null;
  session = "";
  /** Whether this user may edit the job now, and if not, why (the server's words). The
   * server says so in `synced`, and again in `access` when a stage or assignee change
   * flips it; read-only credentials never write (welcome.can_write). */
  canWrite = true;
  readOnlyReason: string | null = null;
  private credentialsCanWrite = true;
  readonly presence = new Map<string, Presence>();
  /** Reconnects so far (each one a catch-up). */
  reconnects = 0;
  private ws: SocketLike | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;
  private synced = false;
  private stopped = false;
  private listeners = new Set<() => void>();
  private presenceOut: { frame: number | null; selection: number[]; cursor: number[] | null } | null =
    null;
  private presenceTimer: ReturnType<typeof setTimeout> | null = null;
  private lastPresenceAt = -Infinity;
  private unsubscribeStore: () => void;
  private queuedSeen = 0;

  constructor(private readonly opts: RealtimeOptions) {
    // A local edit (store change with more pending ops) is sent at once when live.
    this.unsubscribeStore = opts.store.subscribe(() => {
      if (opts.store.queued !== this.queuedSeen) {
        this.queuedSeen = opts.store.queued;
        this.flush();
        this.notify();
      }
    });
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  private notify(): void {
    for (const fn of this.listeners) fn();
  }

  private setState(state: ConnState): void {
    if (this.state !== state) {
      this.state = state;
      this.notify();
    }
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.unsubscribeStore();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close(1000, "bye");
    }
  }

  /** The browser went offline: drop the socket now rather than wait for it to time out. */
  goOffline(): void {
    this.drop("offline");
  }

  /** The browser is back online: reconnect at once, forgetting the backoff. */
  goOnline(): void {
    if (this.stopped || (this.ws && this.state !== "offline")) return;
    this.attempt = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.open();
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.presenceTimer) clearTimeout(this.presenceTimer);
    this.timer = this.pingTimer = this.presenceTimer = null;
  }

  private open(): void {
    if (this.stopped) return;
    if (this.opts.online && !this.opts.online()) {
      this.setState("offline");
      return;
    }
    const make = this.opts.makeSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
    const ws = make(this.opts.url);
    this.ws = ws;
    this.synced = false;
    ws.onopen = () => this.send({ type: "hello", protocol: PROTOCOL, client: "vellum-web" });
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      let msg: Msg;
      try {
        msg = JSON.parse(String(ev.data)) as Msg;
      } catch {
        return;
      }
      this.handle(msg);
    };
    ws.onerror = () => undefined; // onclose follows
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.lost(ev.code);
    };
  }

  /** Close the current socket and go to `state` (reconnecting is scheduled). */
  private drop(state: "offline" | "reconnecting"): void {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      try {
        ws.close(4000, state);
      } catch {
        /* already closed */
      }
    }
    this.lost(undefined, state);
  }

  private lost(code?: number, state?: ConnState): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.synced = false;
    this.opts.store.markAllUnsent();
    this.presence.clear();
    if (this.stopped) return;
    if (code === 4001 && this.opts.onUnauthorized) {
      this.opts.onUnauthorized();  // the app goes back to signing in (as a REST 401 does)
      return;
    }
    if (code === 4001 || code === 4003) {
      this.opts.onMessage?.("Not allowed to open this job (signed out?)");
    }
    if (state === "offline" || (this.opts.online && !this.opts.online())) {
      this.setState("offline");
      return;
    }
    this.setState("reconnecting");
    const { baseMs, maxMs } = this.opts.backoff ?? { baseMs: 250, maxMs: 8_000 };
    const jitter = 0.8 + 0.4 * (this.opts.random ?? Math.random)();
    const delay = Math.min(maxMs, baseMs * 2 ** this.attempt) * jitter;
    this.attempt++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reconnects++;
      this.open();
    }, delay);
  }

  private send(msg: object): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  private subscribeJob(): void {
    const store = this.opts.store;
    this.synced = false;
    this.send({
      type: "subscribe",
      job: this.opts.job,
      ...(store.loaded ? { since_revision: store.revision } : {}),
    });
  }

  private handle(msg: Msg): void {
    const store = this.opts.store;
    switch (msg.type) {
      case "welcome": {
        this.me = msg.user as UserRef;
        this.session = String(msg.session);
        this.credentialsCanWrite = msg.can_write !== false;
        if (!this.credentialsCanWrite) this.setAccess(false, READ_ONLY_CREDENTIALS);
        this.attempt = 0;
        this.subscribeJob();
        this.pingTimer = setInterval(() => {
          if (Date.now() - this.lastHeard > DEAD_MS) this.drop("reconnecting");
          else this.send({ type: "ping" });
        }, PING_MS);
        break;
      }
      case "snapshot":
        if (msg.job === this.opts.job) {
          store.loadSnapshot(msg.revision as number, msg.annotations as LabeledData);
        }
        break;
      case "synced":
        if (msg.job !== this.opts.job) break;
        this.synced = true;
        this.setAccess(msg.can_write !== false, (msg.read_only_reason as string | null | undefined) ?? null);
        this.setState("live");
        this.flush();
        this.sendPresenceNow();
        this.notify();
        break;
      case "event": {
        if (msg.job !== this.opts.job) break;
        const result = store.applyServerEvent({
          revision: msg.revision as number,
          op_id: msg.op_id as string | null,
          actor: msg.actor as number | null,
          event_type: msg.event_type as string,
          data: msg.data,
        });
        // A gap: ask once for what is missing (later events come with the catch-up).
        if (result === "gap" && this.synced) this.subscribeJob();
        else if (result === "applied") this.flush(); // a create's ids may unblock queued ops
        break;
      }
      case "ack":
        store.ack(msg as unknown as Parameters<JobStore["ack"]>[0]);
        this.flush();
        break;
      case "nack": {
        const dropped = store.nack(String(msg.op_id));
        if (dropped.length) {
          const extra = dropped.length > 1 ? ` (and ${dropped.length - 1} later edit(s))` : "";
          const kind = dropped[0].command.type;
          const head = kind === "undo" || kind === "redo" ? dropped[0].what : `${dropped[0].what} rolled back`;
          this.opts.onMessage?.(`${head}: ${String(msg.message)}${extra}`);
        }
        this.flush();
        break;
      }
      case "access": {
        if (msg.job !== this.opts.job) break;
        const was = this.canWrite;
        this.setAccess(msg.can_write !== false, (msg.read_only_reason as string | null | undefined) ?? null);
        if (was !== this.canWrite) {
          this.opts.onMessage?.(this.canWrite ? "You can edit this job again" : `Read-only now: ${this.readOnlyReason}`);
        }
        this.notify();
        break;
      }
      case "resync":
        if (msg.job === this.opts.job) this.subscribeJob();
        break;
      case "presence": {
        if (msg.job !== this.opts.job || msg.session === this.session) break;
        this.presence.set(String(msg.session), {
          session: String(msg.session),
          user: msg.user as UserRef,
          frame: (msg.frame as number | undefined) ?? null,
          selection: (msg.selection as number[] | undefined) ?? [],
          cursor: (msg.cursor as number[] | undefined) ?? null,
        });
        this.notify();
        break;
      }
      case "presence_left":
        if (this.presence.delete(String(msg.session))) this.notify();
        break;
      case "error":
        if (msg.reason === "forbidden" || msg.reason === "not_found" || msg.reason === "unauthorized") {
          this.opts.onMessage?.(String(msg.message));
        }
        break;
      default:
        break;
    }
  }

  private setAccess(canWrite: boolean, reason: string | null): void {
    this.canWrite = canWrite && this.credentialsCanWrite;
    this.readOnlyReason = this.canWrite
      ? null
      : (this.credentialsCanWrite ? reason : READ_ONLY_CREDENTIALS) ?? "you may not edit this job";
  }

  /** Send every queued edit that can go now (live, and its ids known). */
  flush(): void {
    if (!this.synced || !this.ws) return;
    for (const { op, command } of this.opts.store.sendable()) {
      const body: Record<string, unknown> = {
        type: "op",
        op_id: op.opId,
        job: this.opts.job,
        base_revision: this.opts.store.revision,
        command,
      };
      if (!this.send(body)) break;
      this.opts.store.markSent(op.opId);
    }
  }

  /** Ask for undo/redo of this user's latest change (the server decides what that is). */
  undo(): PendingOp {
    return this.opts.store.local({ type: "undo" }, "Undo");
  }

  redo(): PendingOp {
    return this.opts.store.local({ type: "redo" }, "Redo");
  }

  /** Where this user is: sent at most every PRESENCE_MS, always with the latest values.
   * Without `cursor` the last one stays (a click that selects does not hide the pointer). */
  setPresence(p: { frame: number | null; selection: number[]; cursor?: number[] | null }): void {
    this.presenceOut = { ...p, cursor: p.cursor === undefined ? (this.presenceOut?.cursor ?? null) : p.cursor };
    if (this.presenceTimer) return;
    const wait = Math.max(0, this.lastPresenceAt + PRESENCE_MS - Date.now());
    this.presenceTimer = setTimeout(() => {
      this.presenceTimer = null;
      this.sendPresenceNow();
    }, wait);
  }

  private sendPresenceNow(): void {
    const p = this.presenceOut;
    if (!p || !this.synced) return;
    const sent = this.send({
      type: "presence",
      job: this.opts.job,
      frame: p.frame,
      selection: p.selection.filter((id) => id > 0),
      cursor: p.cursor,
    });
    if (sent) this.lastPresenceAt = Date.now();
  }
}
