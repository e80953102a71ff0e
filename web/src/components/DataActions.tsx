// Export dataset, import annotations (a task) or a dataset (a project: a task per subset),
// backup, and restoring a backup as a new task or project: each starts a background request,
// tracked (progress in the top bar, a toast with the download or the new object when done).

import { useState, type FormEvent } from "react";
import { projects, server, tasks } from "../api/resources";
import type { BackgroundRequest, FormatInfo } from "../api/types";
import { uploadFile } from "../api/upload";
import { useLoad } from "./hooks";
import { Modal } from "./Modal";
import { useNotify } from "./Notifications";
import { paths } from "./paths";
import { useRequests, type TrackOptions } from "./Requests";
import { ErrorNote, ProgressBar } from "./ui";

type Target = "task" | "project";

interface Props {
  target: Target;
  id: number;
  name: string;
  hasData: boolean;
  dimension?: string;
  /** Called when an import into it has finished (a project's new tasks, a task's annotations). */
  onImported?: () => void;
}

let formatsCache: ReturnType<typeof server.formats> | null = null;
const loadFormats = () => (formatsCache ??= server.formats().catch((e) => ((formatsCache = null), Promise.reject(e))));

function usable(list: FormatInfo[] | undefined, dimension: string): FormatInfo[] {
  return (list ?? []).filter((f) => f.enabled && (f.dimension ?? "2d") === dimension);
}

export function DataActions({ target, id, name, hasData, dimension = "2d", onImported }: Props) {
  const [dialog, setDialog] = useState<"export" | "import" | null>(null);
  const { track } = useRequests();
  const notify = useNotify();
  const what = `${target === "task" ? "Task" : "Project"} "${name}"`;

  const backup = async () => {
    try {
      const { rq_id } = target === "task" ? await tasks.backup(id) : await projects.backup(id);
      track(rq_id, { title: `Backup of ${what}` });
      notify.notify({ kind: "info", title: `Backup of ${what} started`, message: "You will be told when it is ready." });
    } catch (e) {
      notify.error("The backup could not start", (e as Error).message);
    }
  };

  return (
    <>
      <button type="button" onClick={() => setDialog("export")} disabled={target === "task" && !hasData}>
        Export dataset
      </button>
      <button type="button" onClick={() => setDialog("import")} disabled={!hasData}>
        {target === "task" ? "Import annotations" : "Import dataset"}
      </button>
      <button type="button" onClick={backup} disabled={target === "task" && !hasData}>
        Backup
      </button>
      <ExportDialog open={dialog === "export"} onClose={() => setDialog(null)} target={target} id={id} what={what} dimension={dimension} />
      <ImportDialog
        open={dialog === "import"}
        onClose={() => setDialog(null)}
        target={target}
        id={id}
        what={what}
        dimension={dimension}
        onDone={onImported}
      />
    </>
  );
}

interface DialogProps {
  open: boolean;
  onClose: () => void;
  id: number;
  what: string;
  dimension: string;
}

function ExportDialog({ open, onClose, target, id, what, dimension }: DialogProps & { target: Target }) {
  const formats = useLoad(loadFormats, "formats");
  const choices = usable(formats.data?.exporters, dimension);
  const [format, setFormat] = useState("");
  const [saveImages, setSaveImages] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const { track } = useRequests();
  const notify = useNotify();
  const chosen = format || choices[0]?.name || "";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const start = target === "task" ? tasks.exportDataset : projects.exportDataset;
      const { rq_id } = await start(id, chosen, saveImages);
      track(rq_id, { title: `Export of ${what} (${chosen})` });
      notify.notify({ kind: "info", title: `Export of ${what} started`, message: "A download link follows when it is ready." });
      onClose();
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <Modal title={`Export ${what}`} open={open} onClose={onClose}>
      <form onSubmit={submit} className="modal-body">
        <ErrorNote error={formats.error ?? error} />
        <label className="field">
          <span>Format</span>
          <select value={chosen} onChange={(e) => setFormat(e.target.value)} required>
            {choices.map((f) => (
              <option key={f.name} value={f.name}>
                {f.name}
              </option>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={saveImages} onChange={(e) => setSaveImages(e.target.checked)} />
          <span>Include the images</span>
        </label>
        <footer className="modal-footer">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!chosen}>
            Export
          </button>
        </footer>
      </form>
    </Modal>
  );
}

function ImportDialog({ open, onClose, target, id, what, dimension, onDone }: DialogProps & { target: Target; onDone?: () => void }) {
  const formats = useLoad(loadFormats, "formats");
  const task = target === "task";
  return (
    <UploadDialog
      open={open}
      onClose={onClose}
      title={task ? `Import annotations into ${what}` : `Import a dataset into ${what}`}
      note={
        task
          ? "The file's annotations replace the task's current ones."
          : "A dataset with its images: each subset becomes a new task of the project."
      }
      fileLabel={task ? "Annotation file" : "Dataset file (a zip archive with images)"}
      formats={usable(formats.data?.importers, dimension)}
      formatsError={formats.error}
      start={(file, format, progress) =>
        uploadFile(`/api/${target}s/${id}/${task ? "annotations" : "dataset"}/`, { format }, file, progress)
      }
      track={(_file, format) => ({ title: `Import into ${what} (${format})`, onDone: (r) => r.status === "finished" && onDone?.() })}
    />
  );
}

/** "Restore from backup" on the tasks and projects lists: a backup archive becomes a new
 * task or project; the toast links to it, a failure says what was wrong with the file. */
export function RestoreBackup({ kind, onDone }: { kind: Target; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Restore from backup
      </button>
      <UploadDialog
        open={open}
        onClose={() => setOpen(false)}
        title={`Restore a ${kind} from a backup`}
        note={`A backup archive (.zip) made by Backup here or by CVAT; it becomes a new ${kind}.`}
        fileLabel="Backup file"
        accept=".zip,application/zip"
        start={(file, _format, progress) => uploadFile(`/api/${kind}s/backup/`, {}, file, progress)}
        track={(file) => ({
          title: `Restore of ${file.name}`,
          doneLink: (r: BackgroundRequest) =>
            r.result_id ? { label: `Open the ${kind}`, to: kind === "task" ? paths.task(r.result_id) : paths.project(r.result_id) } : undefined,
          onDone: (r: BackgroundRequest) => r.status === "finished" && onDone(),
        })}
      />
    </>
  );
}

interface UploadProps {
  open: boolean;
  onClose: () => void;
  title: string;
  note: string;
  fileLabel: string;
  accept?: string;
  /** Formats to choose from; none: the endpoint takes no format (backups). */
  formats?: FormatInfo[];
  formatsError?: Error | null;
  start: (file: File, format: string, progress: (loaded: number, total: number) => void) => Promise<string>;
  track: (file: File, format: string) => TrackOptions;
}

/** A file sent to an import endpoint with an upload progress bar, then tracked. */
function UploadDialog({ open, onClose, title, note, fileLabel, accept, formats, formatsError, start, track }: UploadProps) {
  const [format, setFormat] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [sent, setSent] = useState<number | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const requests = useRequests();
  const chosen = formats ? format || formats[0]?.name || "" : "";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setError(null);
    try {
      const rqId = await start(file, chosen, (loaded, total) => setSent((100 * loaded) / Math.max(1, total)));
      requests.track(rqId, track(file, chosen));
      setSent(null);
      setFile(null);
      onClose();
    } catch (err) {
      setSent(null);
      setError(err as Error);
    }
  };

  return (
    <Modal title={title} open={open} onClose={onClose}>
      <form onSubmit={submit} className="modal-body">
        <p className="muted">{note}</p>
        <ErrorNote error={formatsError ?? error} />
        {formats && (
          <label className="field">
            <span>Format</span>
            <select value={chosen} onChange={(e) => setFormat(e.target.value)} required>
              {formats.map((f) => (
                <option key={f.name} value={f.name}>
                  {f.name} ({f.ext})
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="field">
          <span>{fileLabel}</span>
          <input type="file" accept={accept} required onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        {sent !== null && <ProgressBar value={sent} label="Upload progress" />}
        <footer className="modal-footer">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!file || (formats && !chosen) || sent !== null}>
            {formats ? "Import" : "Restore"}
          </button>
        </footer>
      </form>
    </Modal>
  );
}
