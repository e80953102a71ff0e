// A small in-memory stand-in for /api/ws used by the unit tests: one job, ids drawn from
// a counter, op ids remembered (a re-sent op is answered from its first outcome, as the
// real server does), unknown ids nacked. Sockets can be dropped to simulate a network cut.
import { applyEvent, emptyState, toData, type JobState } from "./apply";
import type { OpCommand } from "./commands";
import type { SocketLike } from "./realtime";
import type { JobEvent, Shape } from "./types";

interface Stored {
  revision: number;
  op_id: string | null;
  actor: number;
  event: JobEvent;
}

export class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: SocketLike["onopen"] = null;
  onclose: SocketLike["onclose"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onerror: SocketLike["onerror"] = null;
  sent: Record<string, unknown>[] = [];
  subscribed = false;
  session = Math.random().toString(36).slice(2);
  constructor(
    readonly server: FakeServer,
    readonly user: number,
  ) {}
  send(data: string): void {
    if (this.readyState !== 1) throw new Error("not open");
    const msg = JSON.parse(data);
    this.sent.push(msg);
    this.server.receive(this, msg);
  }
  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.server.sockets.delete(this);
    this.onclose?.({ code: 1000 });
  }
  /** The server ends the connection with a close code (4001: credentials no longer valid). */
  closeWith(code: number): void {
    this.readyState = 3;
    this.server.sockets.delete(this);
    this.onclose?.({ code });
  }
  /** The network fails: the client hears nothing more and gets a close. */
  cut(): void {
    this.readyState = 3;
    this.server.sockets.delete(this);
    this.onclose?.({ code: 1006 });
  }
  deliver(msg: object): void {
    if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

export class FakeServer {
  state: JobState = emptyState(0);
  log: Stored[] = [];
  sockets = new Set<FakeSocket>();
  ops = new Map<string, { revision: number; position: number; ids: Record<string, number[]> }>();
  nextId = 1;
  reachable = true;
  /** Hold replies back (ack/events) to simulate a slow server. */
  paused = false;
  private held: (() => void)[] = [];
  opsApplied = 0;
  /** Users who may not edit, and why (the server's read_only_reason). */
  readOnly = new Map<number, string>();

  socketFactory(user: number) {
    return (_url?: string): SocketLike => {
      const s = new FakeSocket(this, user);
      queueMicrotask(() => {
        if (!this.reachable) {
          s.readyState = 3;
          s.onclose?.({ code: 1006 });
          return;
        }
        this.sockets.add(s);
        s.readyState = 1;
        s.onopen?.({});
      });
      return s;
    };
  }

  release(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    held.forEach((f) => f());
  }

  private later(f: () => void): void {
    if (this.paused) this.held.push(f);
    else f();
  }

  receive(s: FakeSocket, msg: Record<string, unknown>): void {
    switch (msg.type) {
      case "hello":
        s.deliver({ type: "welcome", protocol: 1, session: s.session, user: { id: s.user, username: `u${s.user}` }, can_write: true, max_message_bytes: 1 << 20 });
        break;
      case "subscribe": {
        s.subscribed = true;
        const since = msg.since_revision as number | undefined;
        if (since === undefined) {
          s.deliver({ type: "snapshot", job: 1, revision: this.state.revision, annotations: toData(this.state) });
        } else {
          for (const e of this.log.filter((x) => x.revision > since)) s.deliver(this.eventMsg(e));
        }
        const reason = this.readOnly.get(s.user);
        s.deliver({ type: "synced", job: 1, revision: this.state.revision, can_write: reason === undefined, read_only_reason: reason ?? null });
        break;
      }
      case "op":
        this.later(() => this.op(s, msg));
        break;
      case "presence":
        for (const o of this.sockets) {
          if (o !== s && o.subscribed) o.deliver({ ...msg, session: s.session, user: { id: s.user, username: `u${s.user}` } });
        }
        break;
    }
  }

  /** A stage or assignee change: `user` may (reason null) or may not edit now. */
  setAccess(user: number, reason: string | null): void {
    if (reason === null) this.readOnly.delete(user);
    else this.readOnly.set(user, reason);
    for (const o of this.sockets) {
      if (o.user === user && o.subscribed) o.deliver({ type: "access", job: 1, can_write: reason === null, read_only_reason: reason });
    }
  }

  private eventMsg(e: Stored) {
    const { type, ...data } = e.event as JobEvent & Record<string, unknown>;
    return { type: "event", job: 1, revision: e.revision, position: e.revision, actor: e.actor, op_id: e.op_id, event_type: type, version: 1, data: { type, ...data } };
  }

  private op(s: FakeSocket, msg: Record<string, unknown>): void {
    const opId = String(msg.op_id);
    const earlier = this.ops.get(opId);
    if (earlier) {
      s.deliver({ type: "ack", op_id: opId, job: 1, ...earlier });
      return;
    }
    const refusal = this.readOnly.get(s.user);
    if (refusal !== undefined) return s.deliver({ type: "nack", op_id: opId, job: 1, reason: "read_only", message: refusal });
    const cmd = msg.command as OpCommand;
    let event: JobEvent | null = null;
    const ids: Record<string, number[]> = { shapes: [], tracks: [], tags: [] };
    const missing = (kind: "shapes" | "tracks" | "tags", id: number) => !this.state[kind].has(id);
    if (cmd.type === "create") {
      const shapes = cmd.shapes.map((sh) => ({ ...sh, id: this.nextId++, elements: sh.elements.map((e) => ({ ...e, id: this.nextId++ })) }) as Shape);
      ids.shapes = shapes.map((x) => x.id);
      event = { type: "ObjectsCreated", shapes, tracks: [], tags: [] };
    } else if (cmd.type === "update") {
      const bad = cmd.shapes.find((p) => missing("shapes", p.id));
      if (bad) return s.deliver({ type: "nack", op_id: opId, job: 1, reason: "not_found", message: `shape ${bad.id} does not exist` });
      if (cmd.shapes.some((p) => p.points && p.points.some((v) => v < 0))) {
        return s.deliver({ type: "nack", op_id: opId, job: 1, reason: "invalid", message: "negative coordinates" });
      }
      event = { type: "ObjectsUpdated", shapes: cmd.shapes, tracks: [], tags: [] };
    } else if (cmd.type === "delete") {
      const bad = cmd.shapes.find((p) => missing("shapes", p.id));
      if (bad) return s.deliver({ type: "nack", op_id: opId, job: 1, reason: "not_found", message: `shape ${bad.id} does not exist` });
      event = { type: "ObjectsDeleted", shapes: cmd.shapes.map((x) => x.id), tracks: [], tags: [] };
    }
    if (!event) return s.deliver({ type: "nack", op_id: opId, job: 1, reason: "invalid", message: "unsupported" });
    const revision = this.state.revision + 1;
    this.state = applyEvent(this.state, event, revision);
    this.opsApplied++;
    const stored: Stored = { revision, op_id: opId, actor: s.user, event };
    this.log.push(stored);
    const outcome = { revision, position: revision, ids };
    this.ops.set(opId, outcome);
    for (const o of this.sockets) if (o.subscribed) o.deliver(this.eventMsg(stored));
    s.deliver({ type: "ack", op_id: opId, job: 1, ...outcome });
  }
}
