// Background requests started from this tab (task creation, exports, imports, backups):
// `useRequests().track(rq_id, ...)` polls /api/requests/{id} with backoff, keeps the latest
// state for progress bars (the top bar's indicator, the create-task page), and says when it
// is done with a toast: a download for exports and backups, a link for new tasks.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { describeRequest, pollRequest } from "../api/polling";
import { requests } from "../api/resources";
import type { BackgroundRequest } from "../api/types";
import { localPath } from "../api/upload";
import { useAuth } from "./Auth";
import { useNotify, type ToastAction } from "./Notifications";

export interface Tracked {
  id: string;
  title: string;
  request: BackgroundRequest | null;
  error: string | null;
}

export interface TrackOptions {
  title: string;
  /** Where the finished work is seen (e.g. the new task); a download link when it has a file. */
  doneLink?: (request: BackgroundRequest) => ToastAction | undefined;
  onDone?: (request: BackgroundRequest) => void;
}

interface RequestsApi {
  tracked: Tracked[];
  track: (id: string, options: TrackOptions) => void;
  forget: (id: string) => void;
}

const RequestsContext = createContext<RequestsApi | null>(null);

export function useRequests(): RequestsApi {
  const ctx = useContext(RequestsContext);
  if (!ctx) throw new Error("useRequests outside RequestsProvider");
  return ctx;
}

/** The tracked state of one request (null until tracked). */
export function useTracked(id: string | null): Tracked | null {
  const { tracked } = useRequests();
  return id ? (tracked.find((t) => t.id === id) ?? null) : null;
}

export function RequestsProvider({ children }: { children: ReactNode }) {
  const notify = useNotify();
  const [tracked, setTracked] = useState<Tracked[]>([]);
  const controllers = useRef(new Map<string, AbortController>());

  const update = useCallback((id: string, change: Partial<Tracked>) => {
    setTracked((all) => all.map((t) => (t.id === id ? { ...t, ...change } : t)));
  }, []);

  const track = useCallback(
    (id: string, options: TrackOptions) => {
      if (controllers.current.has(id)) return;
      const controller = new AbortController();
      controllers.current.set(id, controller);
      setTracked((all) => [...all.filter((t) => t.id !== id), { id, title: options.title, request: null, error: null }]);
      pollRequest(() => requests.get(id), {
        signal: controller.signal,
        onUpdate: (request) => update(id, { request }),
      })
        .then((request) => {
          if (request.status === "failed") {
            notify.error(`${options.title} failed`, request.message || undefined);
          } else {
            const action =
              options.doneLink?.(request) ??
              (request.result_url ? { label: "Download", download: localPath(request.result_url) } : undefined);
            notify.success(`${options.title}: done`, undefined, action);
          }
          options.onDone?.(request);
        })
        .catch((error: unknown) => {
          if (error instanceof DOMException && error.name === "AbortError") return;
          const message = error instanceof Error ? error.message : String(error);
          update(id, { error: message });
          notify.error(`${options.title}: lost track of the request`, message);
        })
        .finally(() => controllers.current.delete(id));
    },
    [notify, update],
  );

  const forget = useCallback((id: string) => {
    controllers.current.get(id)?.abort();
    setTracked((all) => all.filter((t) => t.id !== id));
  }, []);

  // After a reload (or on signing in), follow the user's requests still running.
  const { user } = useAuth();
  useEffect(() => {
    if (user === null) {
      // Signed out: what was followed belonged to the previous user.
      controllers.current.forEach((c) => c.abort());
      controllers.current.clear();
      setTracked([]);
    }
    if (!user) return;
    let live = true;
    for (const status of ["queued", "started"]) {
      requests.list(`?status=${status}&page_size=20`).then(
        // Admins list everyone's requests: follow only one's own.
        (page) =>
          live &&
          page.results.filter((r) => r.owner?.id === user.id).forEach((r) => track(r.id, { title: describeRequest(r) })),
        () => {}, // nothing to resume is no error worth a toast
      );
    }
    return () => {
      live = false;
    };
  }, [user, track]);

  useEffect(() => {
    const all = controllers.current;
    return () => all.forEach((c) => c.abort());
  }, []);

  const value = useMemo(() => ({ tracked, track, forget }), [tracked, track, forget]);
  return <RequestsContext.Provider value={value}>{children}</RequestsContext.Provider>;
}
