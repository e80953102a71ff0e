// The annotation workspace: /tasks/:taskId/jobs/:jobId. Loads the job, its frames' meta and
// labels, opens the realtime connection, and lays out the top bar, tools, canvas and the
// sidebar. Everything that changes per mouse move stays outside React (canvas/controller).
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, ApiError, UNAUTHORIZED } from "../api/client";
import { CanvasView } from "./CanvasView";
import { FilterDialog } from "./FilterDialog";
import { HelpDialog } from "./HelpDialog";
import { PromptDialog } from "./PromptDialog";
import { SettingsDialog } from "./SettingsDialog";
import { useWorkspace } from "./hooks";
import { RealtimeClient } from "./model/realtime";
import { JobStore } from "./model/store";
import type { Label } from "./model/types";
import { Sidebar } from "./Sidebar";
import { Toolbar } from "./Toolbar";
import { watchIssues } from "./IssuesPanel";
import { TopBar } from "./TopBar";
import { chunkLoader } from "./canvas/chunks";
import { FrameCache, httpLoader } from "./canvas/frames";
import type { CanvasController } from "./canvas/controller";
import { handleKey } from "./shortcuts";
import { Workspace, type JobInfo } from "./workspace";
import "./workspace.css";

interface Meta {
  start_frame: number;
  stop_frame: number;
  included_frames: number[] | null;
  frames: { name: string; width: number; height: number }[] | null;
  chunk_size: number | null;
}

interface Loaded {
  ws: Workspace;
  frames: FrameCache;
}

async function load(jobId: number): Promise<Omit<Loaded, "frames"> & { frameList: number[]; meta: Meta }> {
  const [job, meta, labels] = await Promise.all([
    api<JobInfo>("GET", `/api/jobs/${jobId}`),
    api<Meta>("GET", `/api/jobs/${jobId}/data/meta`),
    api<{ results: Label[] }>("GET", `/api/labels?job_id=${jobId}&page_size=1000`),
  ]);
  const frameList =
    meta.included_frames ?? Array.from({ length: meta.stop_frame - meta.start_frame + 1 }, (_, i) => meta.start_frame + i);
  const metaFrames = meta.frames ?? [];
  const sizes = (frame: number) => metaFrames[frame - meta.start_frame] ?? metaFrames[0] ?? { width: 1, height: 1, name: "" };
  const store = new JobStore();
  let ws: Workspace | null = null;
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const rt = new RealtimeClient({
    url: `${proto}://${location.host}/api/ws`,
    job: jobId,
    store,
    online: () => navigator.onLine,
    onMessage: (text) => ws?.say(text),
    onUnauthorized: () => window.dispatchEvent(new Event(UNAUTHORIZED)),
  });
  const storage = typeof localStorage === "undefined" ? null : localStorage;
  ws = new Workspace(job, frameList, sizes, labels.results.filter((l) => !l.parent_id), store, rt, storage);
  return { ws, frameList, meta };
}

/** Whole chunks for image jobs (one request per chunk_size frames); `?frames=single` (or a
 * video job) loads frame by frame. */
function frameLoader(job: JobInfo, frameList: number[], meta: Meta) {
  const single = new URLSearchParams(location.search).get("frames") === "single";
  if (single || job.data_compressed_chunk_type !== "imageset" || !meta.chunk_size) return httpLoader(job.id);
  return chunkLoader(job.id, frameList, meta.chunk_size);
}

export default function WorkspacePage() {
  const { jobId } = useParams();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<{ status: number; message: string } | null>(null);

  useEffect(() => {
    let cancelled = false;
    let cleanup: (() => void) | undefined;
    load(Number(jobId)).then(
      ({ ws, frameList, meta }) => {
        if (cancelled) return;
        const frames = new FrameCache(frameList, frameLoader(ws.job, frameList, meta));
        const rt = ws.rt!;
        rt.start();
        const offline = () => rt.goOffline();
        const online = () => rt.goOnline();
        window.addEventListener("offline", offline);
        window.addEventListener("online", online);
        cleanup = () => {
          window.removeEventListener("offline", offline);
          window.removeEventListener("online", online);
          rt.stop();
          ws.stopTimers();
          frames.dispose();
        };
        setLoaded({ ws, frames });
      },
      (e: unknown) => {
        if (cancelled) return;
        setError(e instanceof ApiError ? { status: e.status, message: e.message } : { status: 0, message: String(e) });
      },
    );
    return () => {
      cancelled = true;
      cleanup?.();
    };
  }, [jobId]);

  if (error) {
    return (
      <main className="ws-error" aria-label="Annotation workspace">
        <h1>Cannot open job {jobId}</h1>
        <p role="alert">{error.message}</p>
        {error.status === 401 || error.status === 403 ? <Link to="/auth/login">Sign in</Link> : <Link to="/">Back</Link>}
      </main>
    );
  }
  if (!loaded) return <main className="ws-loading" aria-label="Annotation workspace" aria-busy="true">Loading job {jobId}…</main>;
  return <Loaded ws={loaded.ws} frames={loaded.frames} />;
}

function Loaded({ ws, frames }: Loaded) {
  useWorkspace(ws);
  const controller = useRef<CanvasController | null>(null);
  const held = useMemo(() => new Set<string>(), []);

  useEffect(() => watchIssues(ws), [ws]);

  useEffect(() => {
    frames.show(ws.frame, ws.direction);
    ws.rt?.setPresence({ frame: ws.frame, selection: ws.selection.map((k) => Number(k.split(":")[1])) });
  }, [ws.frame, ws.selection, ws, frames]);

  useEffect(() => {
    const down = (e: KeyboardEvent) => {
      held.add(e.key.toLowerCase());
      if (handleKey(e, ws, controller.current, held)) e.preventDefault();
    };
    const up = (e: KeyboardEvent) => held.delete(e.key.toLowerCase());
    const blur = () => held.clear();
    window.addEventListener("keydown", down);
    window.addEventListener("keyup", up);
    window.addEventListener("blur", blur);
    return () => {
      window.removeEventListener("keydown", down);
      window.removeEventListener("keyup", up);
      window.removeEventListener("blur", blur);
    };
  }, [ws, held]);

  return (
    <div className={`ws ${ws.past ? "ws-past" : ""}`}>
      <TopBar ws={ws} controller={controller} />
      {ws.accessReason && (
        <div className="ws-readonly" role="status">
          <strong>Read-only</strong>: {ws.accessReason}. Drawing and editing are off; you can look
          through the job, open issues and comment.
        </div>
      )}
      <div className="ws-body">
        <Toolbar ws={ws} controller={controller} />
        <CanvasView ws={ws} frames={frames} controller={controller} />
        <Sidebar ws={ws} controller={controller} />
      </div>
      <div className="ws-toasts" role="status" aria-live="polite">
        {ws.messages.map((m) => (
          <div key={m.id} className="ws-toast">{m.text}</div>
        ))}
      </div>
      {ws.showHelp && <HelpDialog ws={ws} />}
      {ws.showFilter && <FilterDialog ws={ws} />}
      {ws.showSettings && <SettingsDialog ws={ws} />}
      {ws.prompt && <PromptDialog key={ws.prompt.title} ws={ws} request={ws.prompt} />}
    </div>
  );
}
