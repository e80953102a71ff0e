import { useSyncExternalStore } from "react";
import type { RealtimeClient } from "./model/realtime";
import type { Workspace } from "./workspace";

/** Re-render when the workspace's UI state or the job's objects change. */
export function useWorkspace(ws: Workspace): number {
  const a = useSyncExternalStore(ws.subscribe, ws.getVersion);
  const b = useSyncExternalStore(ws.store.subscribe, () => ws.store.version);
  return a * 1_000_003 + b;
}

export function useRealtime(rt: RealtimeClient | null): string {
  return useSyncExternalStore(
    rt?.subscribe ?? (() => () => undefined),
    () => (rt ? `${rt.state}|${rt.presence.size}|${[...rt.presence.values()].map((p) => `${p.session}:${p.frame}`).join(",")}` : "none"),
  );
}
