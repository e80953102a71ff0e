// /tasks/create: the task (name, project or labels, subset, segmentation), its media (upload
// with a real progress bar, the server share, remote URLs or a cloud storage), then the
// creation request followed to its end with a progress bar.

import { useCallback, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { percent } from "../api/polling";
import { cloudStorages, projects, server, tasks } from "../api/resources";
import type { BackgroundRequest, Project, Task } from "../api/types";
import { uploadTaskData } from "../api/upload";
import { FileBrowser, type Listing } from "../components/FileBrowser";
import { useLoad } from "../components/hooks";
import { LabelsEditor } from "../components/labels/LabelsEditor";
import { Problems } from "../components/labels/LabelsSection";
import { saveProblems } from "../components/labels/model";
import { useNotify } from "../components/Notifications";
import { paths } from "../components/paths";
import { Breadcrumb } from "../components/resource";
import { useRequests, useTracked } from "../components/Requests";
import { dataParams, emptyTaskForm, formProblems, taskBody, type Source, type TaskForm } from "../components/taskForm";
import { ErrorNote, ProgressBar } from "../components/ui";
import { CloseIcon } from "../components/icons";

type Phase =
  | { step: "form" }
  | { step: "working"; task: Task | null; sent: number; total: number; rqId: string | null }
  | { step: "failed"; task: Task | null; error: string };

const SOURCES: { id: Source; label: string }[] = [
  { id: "local", label: "My computer" },
  { id: "share", label: "Server share" },
  { id: "remote", label: "Remote URLs" },
  { id: "cloud", label: "Cloud storage" },
];

export default function CreateTaskPage() {
  const [params] = useSearchParams();
  const initialProject = Number(params.get("project_id")) || null;
  const [form, setForm] = useState<TaskForm>(() => emptyTaskForm(initialProject));
  const [found, setFound] = useState<string[]>([]);
  const [rawError, setRawError] = useState<string | null>(null);
  const [phase, setPhase] = useState<Phase>({ step: "form" });
  const notify = useNotify();
  const { track } = useRequests();
  const projectList = useLoad(() => projects.list("?page_size=100&sort=name"), "projects");

  const set = (change: Partial<TaskForm>) => setForm((f) => ({ ...f, ...change }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const list = formProblems(form, saveProblems(form.labels, rawError));
    setFound(list);
    if (list.length) return;
    let task: Task | null = null;
    setPhase({ step: "working", task, sent: 0, total: 0, rqId: null });
    try {
      task = await tasks.create(taskBody(form));
      const created = task;
      setPhase({ step: "working", task, sent: 0, total: 0, rqId: null });
      const files = form.source === "local" ? form.files : [];
      const rqId = await uploadTaskData(task.id, files, dataParams(form), (sent, total) =>
        setPhase({ step: "working", task: created, sent, total, rqId: null }),
      );
      setPhase((p) => (p.step === "working" ? { ...p, rqId } : p));
      track(rqId, {
        title: `Creation of task "${created.name}"`,
        doneLink: () => ({ label: "Open the task", to: paths.task(created.id) }),
      });
    } catch (err) {
      const message = (err as Error).message;
      // As CVAT's client does: a task whose data never reached the server is removed.
      if (task) await tasks.remove(task.id).catch(() => {});
      setPhase({ step: "failed", task: null, error: message });
      notify.error("The task was not created", message);
    }
  };

  if (phase.step !== "form") {
    return (
      <div className="page narrow-page">
        <h1>Create a task</h1>
        <Progress
          phase={phase}
          onAgain={() => setPhase({ step: "form" })}
          onRetry={async () => {
            // The task without data goes; the form keeps what was typed.
            if (phase.task) await tasks.remove(phase.task.id).catch(() => {});
            setPhase({ step: "form" });
          }}
          onNew={() => {
            setForm(emptyTaskForm(form.projectId));
            setPhase({ step: "form" });
          }}
        />
      </div>
    );
  }

  return (
    <div className="page narrow-page">
      <Breadcrumb list={{ to: paths.tasks, label: "Tasks" }} current="New" />
      <h1>Create a task</h1>
      <form onSubmit={submit} className="stack" noValidate>
        <section className="panel" aria-labelledby="basics-title">
          <h2 id="basics-title">Basics</h2>
          <label className="field">
            <span>Name</span>
            <input value={form.name} onChange={(e) => set({ name: e.target.value })} required autoFocus />
          </label>
          <div className="two-columns">
            <label className="field">
              <span>Project</span>
              <select value={form.projectId ?? ""} onChange={(e) => set({ projectId: e.target.value ? Number(e.target.value) : null })}>
                <option value="">— no project: the task has its own labels —</option>
                {(projectList.data?.results ?? []).map((p: Project) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>Subset</span>
              <input list="subsets" value={form.subset} onChange={(e) => set({ subset: e.target.value })} placeholder="Train, Test, Validation…" />
              <datalist id="subsets">
                <option value="Train" />
                <option value="Test" />
                <option value="Validation" />
              </datalist>
            </label>
          </div>
        </section>

        {form.projectId === null ? (
          <section className="panel" aria-labelledby="task-labels-title">
            <h2 id="task-labels-title">Labels</h2>
            <LabelsEditor value={form.labels} onChange={(labels) => set({ labels })} onRawError={setRawError} />
          </section>
        ) : (
          <p className="muted">The task uses the labels of its project.</p>
        )}

        <section className="panel" aria-labelledby="media-title">
          <h2 id="media-title">Media</h2>
          <MediaPicker form={form} set={set} />
        </section>

        <details className="panel">
          <summary>Advanced</summary>
          <div className="three-columns">
            <NumberField label="Image quality (%)" value={form.imageQuality} onChange={(imageQuality) => set({ imageQuality })} min={0} max={100} />
            <NumberField label="Segment size (frames per job)" value={form.segmentSize} onChange={(segmentSize) => set({ segmentSize })} min={1} />
            <NumberField label="Overlap" value={form.overlap} onChange={(overlap) => set({ overlap })} min={0} />
            <NumberField label="Chunk size" value={form.chunkSize} onChange={(chunkSize) => set({ chunkSize })} min={1} />
            <NumberField label="Start frame" value={form.startFrame} onChange={(startFrame) => set({ startFrame })} min={0} />
            <NumberField label="Stop frame" value={form.stopFrame} onChange={(stopFrame) => set({ stopFrame })} min={0} />
            <NumberField label="Frame step" value={form.frameStep} onChange={(frameStep) => set({ frameStep })} min={1} />
            <label className="field">
              <span>Sorting</span>
              <select value={form.sortingMethod} onChange={(e) => set({ sortingMethod: e.target.value })}>
                <option value="lexicographical">Lexicographical</option>
                <option value="natural">Natural</option>
                <option value="predefined">As given</option>
                <option value="random">Random</option>
              </select>
            </label>
          </div>
          <label className="check">
            <input type="checkbox" checked={form.useZipChunks} onChange={(e) => set({ useZipChunks: e.target.checked })} />
            <span>Use zip chunks (JPEG frames for videos)</span>
          </label>
          <label className="check">
            <input type="checkbox" checked={form.useCache} onChange={(e) => set({ useCache: e.target.checked })} />
            <span>Make chunks on request (use cache)</span>
          </label>
        </details>

        <Problems list={found} />
        <div className="row">
          <button type="submit" className="primary">
            Create task
          </button>
          <Link className="button" to={paths.tasks}>
            Cancel
          </Link>
        </div>
      </form>
    </div>
  );
}

function NumberField({ label, value, onChange, min, max }: { label: string; value: string; onChange: (v: string) => void; min?: number; max?: number }) {
  return (
    <label className="field">
      <span>{label}</span>
      <input type="number" inputMode="numeric" min={min} max={max} value={value} onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}

function MediaPicker({ form, set }: { form: TaskForm; set: (c: Partial<TaskForm>) => void }) {
  return (
    <>
      <div role="tablist" aria-label="Where the media come from" className="tabs">
        {SOURCES.map((s) => (
          <button
            key={s.id}
            type="button"
            role="tab"
            id={`source-${s.id}`}
            aria-selected={form.source === s.id}
            aria-controls="source-panel"
            tabIndex={form.source === s.id ? 0 : -1}
            onClick={() => set({ source: s.id })}
            onKeyDown={(e) => {
              const i = SOURCES.findIndex((x) => x.id === form.source);
              const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
              if (!d) return;
              e.preventDefault();
              const next = SOURCES[(i + d + SOURCES.length) % SOURCES.length].id;
              set({ source: next });
              document.getElementById(`source-${next}`)?.focus();
            }}
          >
            {s.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="source-panel" aria-labelledby={`source-${form.source}`} className="source-panel">
        {form.source === "local" && <LocalFiles files={form.files} onChange={(files) => set({ files })} />}
        {form.source === "share" && <ShareFiles selected={form.shareFiles} onChange={(shareFiles) => set({ shareFiles })} />}
        {form.source === "remote" && (
          <label className="field">
            <span>Remote files: one http(s) URL per line</span>
            <textarea rows={6} className="code" value={form.remoteText} onChange={(e) => set({ remoteText: e.target.value })} placeholder="https://example.com/images/0001.jpg" />
          </label>
        )}
        {form.source === "cloud" && (
          <CloudFiles
            storageId={form.cloudStorageId}
            selected={form.cloudFiles}
            onChange={(cloudStorageId, cloudFiles) => set({ cloudStorageId, cloudFiles })}
          />
        )}
      </div>
    </>
  );
}

const size = (n: number) =>
  n < 1024 ? `${n} B` : n < 2 ** 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;

function LocalFiles({ files, onChange }: { files: File[]; onChange: (f: File[]) => void }) {
  const [over, setOver] = useState(false);
  const add = (list: FileList | null) => {
    if (!list) return;
    const names = new Set(files.map((f) => f.name));
    onChange([...files, ...Array.from(list).filter((f) => !names.has(f.name))]);
  };
  const total = files.reduce((s, f) => s + f.size, 0);
  return (
    <div
      className={`drop-zone${over ? " over" : ""}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        add(e.dataTransfer.files);
      }}
    >
      <label className="field">
        <span>Files: images, a video, archives (or drop them here)</span>
        <input type="file" multiple onChange={(e) => {
          add(e.target.files);
          e.target.value = "";
        }} />
      </label>
      {files.length > 0 && (
        <>
          <p className="muted small">
            {files.length} file{files.length > 1 ? "s" : ""}, {size(total)}
          </p>
          <ul className="file-list chosen">
            {files.map((f) => (
              <li key={f.name}>
                <span>{f.name}</span> <span className="muted small">{size(f.size)}</span>
                <button type="button" className="icon-button" aria-label={`Remove ${f.name}`} onClick={() => onChange(files.filter((x) => x !== f))}>
                  <CloseIcon />
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function ShareFiles({ selected, onChange }: { selected: string[]; onChange: (s: string[]) => void }) {
  const list = useCallback(
    (dir: string): Promise<Listing> => server.share(`/${dir}`).then((content) => ({ content, next: null })),
    [],
  );
  return <FileBrowser label="Server share" list={list} selected={selected} onChange={onChange} />;
}

function CloudFiles({ storageId, selected, onChange }: { storageId: number | null; selected: string[]; onChange: (id: number | null, files: string[]) => void }) {
  const storages = useLoad(() => cloudStorages.list(), "storages");
  const list = useCallback(
    (dir: string, next?: string): Promise<Listing> => cloudStorages.content(storageId ?? 0, dir, next),
    [storageId],
  );
  const choices = storages.data?.results ?? [];
  return (
    <>
      <ErrorNote error={storages.error} />
      {storages.data && choices.length === 0 && (
        <p className="muted">
          No cloud storage is attached. <Link to={paths.attachCloudStorage}>Attach one</Link> first.
        </p>
      )}
      {choices.length > 0 && (
        <label className="field">
          <span>Cloud storage</span>
          <select value={storageId ?? ""} onChange={(e) => onChange(e.target.value ? Number(e.target.value) : null, [])}>
            <option value="">— choose —</option>
            {choices.map((s) => (
              <option key={s.id} value={s.id}>
                {s.display_name} ({s.provider_type}: {s.resource})
              </option>
            ))}
          </select>
        </label>
      )}
      {storageId !== null && <FileBrowser key={storageId} label="Bucket content" list={list} selected={selected} onChange={(files) => onChange(storageId, files)} />}
    </>
  );
}

interface ProgressProps {
  phase: Exclude<Phase, { step: "form" }>;
  onAgain: () => void;
  onRetry: () => void;
  onNew: () => void;
}

function Progress({ phase, onAgain, onRetry, onNew }: ProgressProps) {
  const tracked = useTracked(phase.step === "working" ? phase.rqId : null);
  const request: BackgroundRequest | null = tracked?.request ?? null;

  if (phase.step === "failed") {
    return (
      <section className="panel" aria-labelledby="progress-title">
        <h2 id="progress-title">The task was not created</h2>
        <ErrorNote error={new Error(phase.error)} />
        <button type="button" className="primary" onClick={onAgain}>
          Back to the form
        </button>
      </section>
    );
  }
  const uploadPct = phase.total ? (100 * phase.sent) / phase.total : phase.rqId ? 100 : 0;
  const done = request?.status === "finished";
  const failed = request?.status === "failed" || Boolean(tracked?.error);
  return (
    <section className="panel" aria-labelledby="progress-title">
      <h2 id="progress-title">
        {done ? "Task created" : failed ? "The task's data could not be made" : `Creating ${phase.task ? `"${phase.task.name}"` : "the task"}…`}
      </h2>
      <ol className="steps">
        <li className={phase.task ? "done" : "active"}>Task {phase.task ? `#${phase.task.id} made` : "being made"}</li>
        <li className={phase.rqId ? "done" : phase.task ? "active" : ""}>
          {phase.total ? "Uploading files" : "Sending the data request"}
          <ProgressBar value={phase.task ? uploadPct : 0} label="Upload progress" />
        </li>
        <li className={done ? "done" : failed ? "failed" : phase.rqId ? "active" : ""}>
          Building frames and jobs{request ? ` (${request.status})` : ""}
          <ProgressBar value={request ? percent(request) : phase.rqId ? null : 0} label="Task creation progress" />
          {request?.message && !failed && <p className="muted small">{request.message}</p>}
        </li>
      </ol>
      {failed && <ErrorNote error={new Error(request?.message || tracked?.error || "failed")} />}
      {done && (
        <div className="row">
          {phase.task && (
            <Link className="button primary" to={paths.task(phase.task.id)}>
              Open the task
            </Link>
          )}
          <button type="button" onClick={onNew}>
            Create another task
          </button>
        </div>
      )}
      {failed && (
        <div className="row">
          <button type="button" className="primary" onClick={onRetry}>
            Change the form and try again
          </button>
          {phase.task && <Link to={paths.task(phase.task.id)}>Keep the task without data</Link>}
        </div>
      )}
    </section>
  );
}
