import { useEffect, useReducer, useRef, type RefObject } from "react";
import { api } from "../api/client";
import { CanvasController } from "./canvas/controller";
import type { FrameCache } from "./canvas/frames";
import type { Workspace } from "./workspace";

declare global {
  interface Window {
    /** The open workspace, for browser tests and debugging. */
    __vellum?: { ws: Workspace; canvas: CanvasController };
  }
}

export function CanvasView({ ws, frames, controller }: { ws: Workspace; frames: FrameCache; controller: RefObject<CanvasController | null> }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [, loadedTick] = useReducer((n: number) => n + 1, 0);
  useEffect(() => frames.onLoad((f) => f === ws.frame && loadedTick()), [frames, ws, ws.frame]);
  useEffect(() => {
    const c = new CanvasController(ref.current!, ws, frames);
    controller.current = c;
    c.onCursor = (p) => ws.rt?.setPresence({ frame: ws.frame, selection: ws.selection.map((k) => Number(k.split(":")[1])), cursor: p });
    c.onIssueBox = (box) => {
      const frame = ws.frame;
      const [x1, y1, x2, y2] = box;
      ws.ask({
        title: "Open an issue", label: "Describe the issue", value: "", input: "textarea", submit: "Open issue",
        onSubmit: (message) => {
          if (!message.trim()) return;
          api("POST", "/api/issues", { job: ws.job.id, frame, position: [x1, y1, x2, y2], message }).then(
            () => ws.say("Issue opened"),
            (e: Error) => ws.say(`Issue not opened: ${e.message}`),
          );
        },
      }); // prettier-ignore
    };
    window.__vellum = { ws, canvas: c };
    ws.notify();
    return () => {
      c.dispose();
      controller.current = null;
    };
  }, [ws, frames, controller]);
  const img = frames.has(ws.frame);
  const failed = frames.failed.get(ws.frame);
  return (
    <div className="ws-stage">
      <canvas
        ref={ref}
        className="ws-canvas"
        tabIndex={0}
        role="img"
        aria-label={`Frame ${ws.frame}: ${ws.objects().length} objects. Arrow keys and shortcuts work here; F1 lists them.`}
        data-frame={ws.frame}
        data-loaded={img ? "1" : "0"}
      />
      {failed && <p className="ws-frame-error" role="alert">{failed}</p>}
      {ws.past && (
        <div className="ws-past-banner" role="status">
          Read-only: the job as it was at revision {ws.past.revision}.{" "}
          <button type="button" onClick={() => { ws.past = null; ws.notify(); }}>Back to the present</button>
        </div>
      )}
    </div>
  );
}
