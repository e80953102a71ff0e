import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createCmd, deleteCmd, updateCmd } from "./commands";
import { FakeServer } from "./fakeServer.test-helper";
import { PRESENCE_MS, RealtimeClient } from "./realtime";
import { JobStore } from "./store";
import type { Shape } from "./types";

function rect(points: number[]): Shape {
  return { type: "rectangle", frame: 0, label_id: 1, points, elements: [] } as unknown as Shape;
}

function client(server: FakeServer, user: number, messages: string[] = []) {
  const store = new JobStore();
  const rt = new RealtimeClient({
    url: "ws://x/api/ws",
    job: 1,
    store,
    makeSocket: server.socketFactory(user),
    onMessage: (m) => messages.push(m),
    backoff: { baseMs: 100, maxMs: 1000 },
    random: () => 0.5,
  });
  rt.start();
  return { store, rt, messages };
}

const settle = () => vi.advanceTimersByTimeAsync(0);
const points = (store: JobStore) => [...store.view.shapes.values()].map((s) => s.points).sort();

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("RealtimeClient", () => {
  it("a 4001 close (the session ended) hands over to the app instead of reconnecting", async () => {
    const server = new FakeServer();
    const store = new JobStore();
    const factory = server.socketFactory(1);
    let opened = 0;
    let unauthorized = 0;
    const rt = new RealtimeClient({
      url: "ws://x/api/ws", job: 1, store, backoff: { baseMs: 100, maxMs: 1000 }, random: () => 0.5,
      makeSocket: (url) => { opened++; return factory(url); },
      onUnauthorized: () => unauthorized++,
    }); // prettier-ignore
    rt.start();
    await settle();
    expect(opened).toBe(1);
    [...server.sockets][0].closeWith(4001);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(unauthorized).toBe(1);
    expect(opened).toBe(1); // no reconnect loop against a server that will refuse it
    rt.stop();
  });

  it("two clients see each other's edits, each applied once", async () => {
    const server = new FakeServer();
    const a = client(server, 1);
    const b = client(server, 2);
    await settle();
    expect(a.rt.state).toBe("live");
    a.store.local(createCmd({ shapes: [rect([1, 1, 4, 4])] }), "Draw");
    b.store.local(createCmd({ shapes: [rect([2, 2, 5, 5])] }), "Draw");
    await settle();
    expect(server.state.shapes.size).toBe(2);
    for (const c of [a, b]) {
      expect(c.store.queued).toBe(0);
      expect(points(c.store)).toEqual([[1, 1, 4, 4], [2, 2, 5, 5]]);
      expect(c.store.revision).toBe(server.state.revision);
    }
  });

  it("edits made while disconnected are queued and sent after the catch-up", async () => {
    const server = new FakeServer();
    const a = client(server, 1);
    const b = client(server, 2);
    await settle();
    a.store.local(createCmd({ shapes: [rect([0, 0, 9, 9])] }), "Draw");
    await settle();
    const id = [...a.store.view.shapes.keys()][0];
    expect(id).toBeGreaterThan(0);

    server.reachable = false;
    [...server.sockets].filter((s) => s.user === 1).forEach((s) => s.cut());
    expect(a.rt.state).toBe("reconnecting");
    a.store.local(updateCmd({ shapes: [{ id, occluded: true }] }), "Occlude");
    a.store.local(createCmd({ shapes: [rect([3, 3, 6, 6])] }), "Draw");
    const temp = [...a.store.view.shapes.keys()].find((k) => k < 0)!;
    a.store.local(updateCmd({ shapes: [{ id: temp, points: [4, 4, 7, 7] }] }), "Move");
    b.store.local(createCmd({ shapes: [rect([8, 8, 9, 9])] }), "Draw"); // meanwhile, elsewhere
    await settle();
    expect(a.store.queued).toBe(3);
    expect(a.store.view.shapes.get(id)!.occluded).toBe(true);

    await vi.advanceTimersByTimeAsync(200); // a retry while the server is unreachable
    expect(a.rt.state).toBe("reconnecting");
    server.reachable = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.rt.state).toBe("live");
    expect(a.rt.reconnects).toBeGreaterThanOrEqual(2);
    expect(a.store.queued).toBe(0);
    for (const c of [a, b]) {
      expect(points(c.store)).toEqual([[0, 0, 9, 9], [4, 4, 7, 7], [8, 8, 9, 9]]);
      expect(c.store.view.shapes.get(id)!.occluded).toBe(true);
    }
    expect(server.state.shapes.size).toBe(3);
  });

  it("an op whose ack was lost is re-sent and applied once", async () => {
    const server = new FakeServer();
    const a = client(server, 1);
    await settle();
    server.paused = true; // the server takes the op but the connection dies before replies
    a.store.local(createCmd({ shapes: [rect([1, 1, 2, 2])] }), "Draw");
    await settle();
    const [sock] = server.sockets;
    server.release(); // applied on the server, replies go to a dead socket
    sock.readyState = 3;
    server.sockets.delete(sock);
    sock.onclose?.({ code: 1006 });
    await vi.advanceTimersByTimeAsync(500);
    expect(a.rt.state).toBe("live");
    expect(server.opsApplied).toBe(1);
    expect(a.store.view.shapes.size).toBe(1);
    expect(a.store.queued).toBe(0);
  });

  it("a refused edit is rolled back with a message", async () => {
    const server = new FakeServer();
    const a = client(server, 1);
    await settle();
    a.store.local(createCmd({ shapes: [rect([1, 1, 2, 2])] }), "Draw");
    await settle();
    const id = [...a.store.view.shapes.keys()][0];
    a.store.local(updateCmd({ shapes: [{ id, points: [-5, 1, 2, 2] }] }), "Move rectangle");
    a.store.local(deleteCmd({ shapes: [999] }), "Delete");
    await settle();
    expect(a.store.view.shapes.get(id)!.points).toEqual([1, 1, 2, 2]);
    expect(a.messages).toEqual([
      "Move rectangle rolled back: negative coordinates",
      "Delete rolled back: shape 999 does not exist",
    ]);
  });

  it("goes offline and back at once when the browser says so", async () => {
    let online = true;
    const server = new FakeServer();
    const store = new JobStore();
    const rt = new RealtimeClient({ url: "", job: 1, store, makeSocket: server.socketFactory(1), online: () => online });
    rt.start();
    await settle();
    online = false;
    rt.goOffline();
    expect(rt.state).toBe("offline");
    store.local(createCmd({ shapes: [rect([1, 1, 2, 2])] }), "Draw");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(rt.state).toBe("offline");
    expect(server.state.shapes.size).toBe(0);
    online = true;
    rt.goOnline();
    await settle();
    expect(rt.state).toBe("live");
    expect(server.state.shapes.size).toBe(1);
  });

  it("backs off exponentially up to the cap", async () => {
    const server = new FakeServer();
    server.reachable = false;
    const opened: number[] = [];
    const factory = server.socketFactory(1);
    const store = new JobStore();
    const rt = new RealtimeClient({
      url: "", job: 1, store, random: () => 0.5, backoff: { baseMs: 100, maxMs: 800 },
      makeSocket: (u) => { opened.push(Date.now()); return factory(u); },
    });
    rt.start();
    await vi.advanceTimersByTimeAsync(5000);
    const gaps = opened.slice(1).map((t, i) => t - opened[i]);
    expect(gaps.slice(0, 5)).toEqual([100, 200, 400, 800, 800]);
  });

  it("throttles presence, always sending the latest", async () => {
    const server = new FakeServer();
    const a = client(server, 1);
    const b = client(server, 2);
    await settle();
    for (let i = 0; i < 50; i++) a.rt.setPresence({ frame: 3, selection: [], cursor: [i, i] });
    await vi.advanceTimersByTimeAsync(PRESENCE_MS * 3);
    const sock = [...server.sockets].find((s) => s.user === 1)!;
    const sent = sock.sent.filter((m) => m.type === "presence");
    expect(sent.length).toBeLessThanOrEqual(2);
    expect(sent.at(-1)!.cursor).toEqual([49, 49]);
    const seen = [...b.rt.presence.values()];
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ frame: 3, cursor: [49, 49], user: { id: 1 } });
  });

  it("a selection or frame change keeps the pointer others see", async () => {
    const server = new FakeServer();
    const a = client(server, 1);
    const b = client(server, 2);
    await settle();
    a.rt.setPresence({ frame: 3, selection: [], cursor: [5, 6] });
    await vi.advanceTimersByTimeAsync(PRESENCE_MS * 2);
    a.rt.setPresence({ frame: 4, selection: [7] });
    await vi.advanceTimersByTimeAsync(PRESENCE_MS * 2);
    expect([...b.rt.presence.values()][0]).toMatchObject({ frame: 4, selection: [7], cursor: [5, 6] });
    a.rt.setPresence({ frame: 4, selection: [7], cursor: null }); // the pointer left the image
    await vi.advanceTimersByTimeAsync(PRESENCE_MS * 2);
    expect([...b.rt.presence.values()][0].cursor).toBeNull();
  });

  it("write access follows synced and access: read-only live, an edit in flight rolled back, writable again", async () => {
    const server = new FakeServer();
    server.readOnly.set(2, "job is in validation");
    const a = client(server, 2);
    await settle();
    expect(a.rt.canWrite).toBe(false);
    expect(a.rt.readOnlyReason).toBe("job is in validation");
    server.setAccess(2, null);
    expect(a.rt.canWrite).toBe(true);
    expect(a.rt.readOnlyReason).toBeNull();
    expect(a.messages.at(-1)).toBe("You can edit this job again");
    server.paused = true; // the edit is in flight when the stage changes
    a.store.local(createCmd({ shapes: [rect([1, 1, 4, 4])] }), "Draw");
    await settle();
    server.setAccess(2, "job is in acceptance");
    expect(a.rt.canWrite).toBe(false);
    expect(a.messages.at(-1)).toBe("Read-only now: job is in acceptance");
    server.release();
    await settle();
    expect(a.store.view.shapes.size).toBe(0);
    expect(a.messages.at(-1)).toMatch(/^Draw rolled back: job is in acceptance/);
    // a reconnect keeps what the server says at synced
    server.sockets.forEach((s) => s.cut());
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.rt.state).toBe("live");
    expect(a.rt.readOnlyReason).toBe("job is in acceptance");
  });
});
