// The job's audit trail (GET /api/jobs/{id}/history, newest first, paginated) and time
// travel: picking a revision loads /api/jobs/{id}/annotations?revision=N and shows the job
// as it was, read-only, until "Back to the present".
import { useCallback, useEffect, useState } from "react";
import { api } from "../api/client";
import { stateFromData } from "./model/apply";
import type { LabeledData } from "./model/types";
import type { Workspace } from "./workspace";

interface Entry {
  revision: number;
  type: string;
  actor: { id: number; username: string | null } | null;
  source: string;
  recorded_at: string;
  data: Record<string, unknown>;
  undo_of?: string | null;
  redo_of?: string | null;
}

const PAGE = 50;

export function describe(e: Pick<Entry, "type" | "data">): string {
  const d = e.data ?? {};
  const count = (k: string) => (Array.isArray(d[k]) ? (d[k] as unknown[]).length : 0);
  const objs = () =>
    ["shapes", "tracks", "tags"]
      .map((k) => [count(k), k] as const)
      .filter(([n]) => n)
      .map(([n, k]) => `${n} ${n === 1 ? k.slice(0, -1) : k}`)
      .join(", ") || "nothing";
  switch (e.type) {
    case "ObjectsCreated": return `created ${objs()}`;
    case "ObjectsUpdated": return `changed ${objs()}`;
    case "ObjectsDeleted": return `deleted ${objs()}`;
    case "TrackKeyframesChanged": return `changed keyframes of ${count("tracks")} track(s)`;
    case "AnnotationsReplaced": return `replaced the annotations (${objs()})`;
    case "AnnotationsCleared": return "cleared the annotations";
    case "JobCreated": return "created the job";
    case "JobUpdated": return "changed the job";
    case "IssueCreated": return `opened issue #${String(d.issue_id)}`;
    case "IssueUpdated": return d.resolved === true ? `resolved issue #${String(d.issue_id)}` : d.resolved === false ? `reopened issue #${String(d.issue_id)}` : `changed issue #${String(d.issue_id)}`;
    case "CommentCreated": return `commented on issue #${String(d.issue_id)}`;
    default: return e.type;
  }
}

export function HistoryPanel({ ws }: { ws: Workspace }) {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [page, setPage] = useState(1);
  const [count, setCount] = useState(0);
  const [target, setTarget] = useState<number>(ws.store.revision);
  const [loading, setLoading] = useState(false);

  const reload = useCallback(() => {
    api<{ count: number; results: Entry[] }>("GET", `/api/jobs/${ws.job.id}/history?sort=-revision&page_size=${PAGE}&page=${page}`).then(
      (r) => { setEntries(r.results); setCount(r.count); },
      (e: Error) => ws.say(`History: ${e.message}`),
    );
  }, [ws, page]);
  useEffect(() => reload(), [reload]);
  useEffect(() => {
    let t: ReturnType<typeof setTimeout> | undefined;
    const off = ws.store.onEvent(() => { clearTimeout(t); t = setTimeout(reload, 300); });
    return () => { off(); clearTimeout(t); };
  }, [ws, reload]);

  const travel = async (revision: number) => {
    if (revision >= ws.store.revision) {
      ws.past = null;
      ws.notify();
      return;
    }
    setLoading(true);
    try {
      const data = await api<LabeledData>("GET", `/api/jobs/${ws.job.id}/annotations?revision=${revision}`);
      ws.past = { revision, state: stateFromData(revision, data) };
      ws.select(null);
    } catch (e) {
      ws.say(`Time travel: ${(e as Error).message}`);
    } finally {
      setLoading(false);
      ws.notify();
    }
  };

  const latest = ws.store.revision;
  return (
    <div className="ws-history">
      <form className="ws-scrubber" onSubmit={(e) => { e.preventDefault(); void travel(target); }}>
        <label className="ws-field">
          Revision {target} of {latest}
          <input type="range" min={0} max={Math.max(0, latest)} value={Math.min(target, latest)} onChange={(e) => setTarget(Number(e.target.value))}
            onPointerUp={() => void travel(target)} onKeyUp={(e) => (e.key.startsWith("Arrow") ? void travel(target) : undefined)} aria-describedby="travel-hint" />
        </label>
        <div className="ws-row">
          <button type="submit" disabled={loading}>Show revision</button>
          <button type="button" disabled={!ws.past} onClick={() => { ws.past = null; setTarget(latest); ws.notify(); }}>Back to the present</button>
        </div>
        <p id="travel-hint" className="ws-muted">{ws.past ? `Viewing revision ${ws.past.revision} (read-only)` : "Pick a revision to see the job as it was."}</p>
      </form>
      <ol className="ws-events" aria-label="Job history">
        {entries.map((e) => (
          <li key={e.revision} className={ws.past?.revision === e.revision ? "ws-event-current" : ""}>
            <button type="button" onClick={() => { setTarget(e.revision); void travel(e.revision); }}
              title={`r${e.revision} ${e.actor?.username ?? "system"} ${describe(e)}, ${new Date(e.recorded_at).toLocaleString()}: show the job at this revision`}>
              <span className="ws-rev">r{e.revision}</span>{" "}
              <strong>{e.actor?.username ?? "system"}</strong> {describe(e)}
              {e.undo_of ? " (undo)" : e.redo_of ? " (redo)" : ""}
              <time dateTime={e.recorded_at} className="ws-muted"> {new Date(e.recorded_at).toLocaleString()}</time>
            </button>
          </li>
        ))}
      </ol>
      <div className="ws-row">
        <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>Newer</button>
        <span className="ws-muted">page {page} of {Math.max(1, Math.ceil(count / PAGE))}</span>
        <button type="button" disabled={page * PAGE >= count} onClick={() => setPage(page + 1)}>Older</button>
      </div>
    </div>
  );
}
