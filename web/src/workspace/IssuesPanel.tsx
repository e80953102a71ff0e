// Review: the job's issues (live: they are events on the job's stream), their comments,
// resolve / reopen, and the "Issue" tool that opens one on a region of the frame.
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { Issue, Workspace } from "./workspace";

interface Comment {
  id: number;
  message: string;
  owner: { username: string } | null;
  created_date: string;
}

type ReviewEvent = { issue_id?: number; frame?: number; position?: number[]; resolved?: boolean; owner_id?: number };

/** `issues` with a review event folded in (what the event says, before the list has it). */
export function foldIssue(issues: Issue[], type: string, e: ReviewEvent, job: number): Issue[] {
  const id = e.issue_id;
  if (id === undefined) return issues;
  if (type === "IssueCreated" && !issues.some((i) => i.id === id)) {
    return [...issues, { id, frame: e.frame ?? 0, position: e.position ?? [], job, resolved: false, owner: null }];
  }
  if (type === "IssueUpdated") {
    const patch = { ...(e.position ? { position: e.position } : {}), ...(e.resolved !== undefined ? { resolved: e.resolved } : {}) };
    return issues.map((i) => (i.id === id ? { ...i, ...patch } : i));
  }
  if (type === "IssueDeleted") return issues.filter((i) => i.id !== id);
  return issues;
}

/** Whether a list read from the API already shows what the event did. */
function reflects(issues: Issue[], type: string, e: ReviewEvent): boolean {
  const issue = issues.find((i) => i.id === e.issue_id);
  if (type === "IssueCreated") return issue !== undefined;
  if (type === "IssueUpdated") return issue !== undefined && (e.resolved === undefined || issue.resolved === e.resolved);
  if (type === "IssueDeleted") return issue === undefined;
  return true;
}

/** Keep ws.issues current: loaded once; every review event of the job shows at once (folded
 * in) and the list is read again until the API's read model has caught up with it. */
export function watchIssues(ws: Workspace): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let waiting: { type: string; data: ReviewEvent }[] = [];
  let tries = 0;
  const load = () =>
    api<{ results: Issue[] }>("GET", `/api/issues?job_id=${ws.job.id}&page_size=1000`).then(
      (r) => {
        const behind = waiting.filter((w) => !reflects(r.results, w.type, w.data));
        ws.issues = behind.reduce((list, w) => foldIssue(list, w.type, w.data, ws.job.id), r.results);
        waiting = behind;
        ws.notify();
        if (behind.length && ++tries < 40) timer = setTimeout(load, 250);
      },
      () => undefined,
    );
  void load();
  const off = ws.store.onEvent((e) => {
    if (e.event_type.startsWith("Issue") || e.event_type.startsWith("Comment")) {
      const data = (e.data ?? {}) as ReviewEvent;
      waiting.push({ type: e.event_type, data });
      ws.issues = foldIssue(ws.issues, e.event_type, data, ws.job.id);
      ws.notify();
      tries = 0;
      clearTimeout(timer);
      timer = setTimeout(load, 50);
    }
  });
  return () => { off(); clearTimeout(timer); };
}

export function IssuesPanel({ ws }: { ws: Workspace }) {
  const [onlyFrame, setOnlyFrame] = useState(false);
  const [open, setOpen] = useState<number | null>(null);
  const issues = ws.issues.filter((i) => !onlyFrame || i.frame === ws.frame);
  return (
    <div className="ws-issues">
      <div className="ws-row">
        <button type="button" onClick={() => ws.setTool({ kind: "issue" })} aria-pressed={ws.tool.kind === "issue"}>Open an issue…</button>
        <label><input type="checkbox" checked={onlyFrame} onChange={(e) => setOnlyFrame(e.target.checked)} /> This frame only</label>
      </div>
      {ws.tool.kind === "issue" && <p className="ws-hint">Drag a box around the problem on the image.</p>}
      <ul className="ws-issue-list" aria-label="Issues">
        {issues.map((i) => (
          <li key={i.id} className={i.resolved ? "ws-resolved" : ""}>
            <button type="button" className="ws-issue-head" aria-expanded={open === i.id} onClick={() => { setOpen(open === i.id ? null : i.id); ws.goto(i.frame); }}>
              #{i.id} · frame {i.frame} · {i.resolved ? "resolved" : "open"} {i.owner ? `· ${i.owner.username}` : ""}
            </button>
            {open === i.id && <IssueThread ws={ws} issue={i} />}
          </li>
        ))}
        {!issues.length && <li className="ws-muted">No issues.</li>}
      </ul>
    </div>
  );
}

function IssueThread({ ws, issue }: { ws: Workspace; issue: Issue }) {
  const [comments, setComments] = useState<Comment[]>([]);
  const [text, setText] = useState("");
  useEffect(() => {
    api<{ results: Comment[] }>("GET", `/api/comments?issue_id=${issue.id}&sort=id&page_size=1000`).then(
      (r) => setComments(r.results),
      (e: Error) => ws.say(e.message),
    );
  }, [issue, ws]);
  return (
    <div className="ws-thread">
      <ol aria-label={`Comments of issue ${issue.id}`}>
        {comments.map((c) => (
          <li key={c.id}><strong>{c.owner?.username ?? "?"}</strong>: {c.message}</li>
        ))}
      </ol>
      <form onSubmit={(e) => {
        e.preventDefault();
        if (!text.trim()) return;
        api("POST", "/api/comments", { issue: issue.id, message: text }).then(() => setText(""), (err: Error) => ws.say(err.message));
      }}>
        <label className="ws-field">Comment<textarea value={text} onChange={(e) => setText(e.target.value)} rows={2} /></label>
        <div className="ws-row">
          <button type="submit">Comment</button>
          <button type="button" onClick={() => api("PATCH", `/api/issues/${issue.id}`, { resolved: !issue.resolved }).catch((err: Error) => ws.say(err.message))}>
            {issue.resolved ? "Reopen" : "Resolve"}
          </button>
        </div>
      </form>
    </div>
  );
}
