// Export dataset, import annotations and backup of a task or project: each starts a
// background request, tracked (progress in the top bar, a toast with the download when done).

import { useState, type FormEvent } from "react";
import { projects, server, tasks } from "../api/resources";
import type { FormatInfo } from "../api/types";
import { uploadFile } from "../api/upload";
import { useLoad } from "./hooks";
import { Modal } from "./Modal";
import { useNotify } from "./Notifications";
import { useRequests } from "./Requests";
import { ErrorNote, ProgressBar } from "./ui";

type Target = "task" | "project";

interface Props {
  target: Target;
  id: number;
  name: string;
  hasData: boolean;
  dimension?: string;
}

let formatsCache: ReturnType<typeof server.formats> | null = null;
const loadFormats = () => (formatsCache ??= server.formats().catch((e) => ((formatsCache = null), Promise.reject(e))));

function usable(list: FormatInfo[] | undefined, dimension: string): FormatInfo[] {
  return (list ?? []).filter((f) => f.enabled && (f.dimension ?? "2d") === dimension);
}

export function DataActions({ target, id, name, hasData, dimension = "2d" }: Props) {
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
      {target === "task" && (
        <button type="button" onClick={() => setDialog("import")} disabled={!hasData}>
          Import annotations
        </button>
      )}
      <button type="button" onClick={backup} disabled={target === "task" && !hasData}>
        Backup
      </button>
      <ExportDialog open={dialog === "export"} onClose={() => setDialog(null)} target={target} id={id} what={what} dimension={dimension} />
      {target === "task" && (
        <ImportDialog open={dialog === "import"} onClose={() => setDialog(null)} id={id} what={what} dimension={dimension} />
      )}
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

function ImportDialog({ open, onClose, id, what, dimension }: DialogProps) {
  const formats = useLoad(loadFormats, "formats");
  const choices = usable(formats.data?.importers, dimension);
  const [format, setFormat] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [sent, setSent] = useState<number | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const { track } = useRequests();
  const chosen = format || choices[0]?.name || "";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setError(null);
    try {
      const url = `/api/tasks/${id}/annotations/?format=${encodeURIComponent(chosen)}`;
      const rqId = await uploadFile(url, "annotation_file", file, (loaded, total) => setSent((100 * loaded) / Math.max(1, total)));
      track(rqId, { title: `Import into ${what} (${chosen})` });
      setSent(null);
      setFile(null);
      onClose();
    } catch (err) {
      setSent(null);
      setError(err as Error);
    }
  };

  return (
    <Modal title={`Import annotations into ${what}`} open={open} onClose={onClose}>
      <form onSubmit={submit} className="modal-body">
        <p className="muted">The file's annotations replace the task's current ones.</p>
        <ErrorNote error={formats.error ?? error} />
        <label className="field">
          <span>Format</span>
          <select value={chosen} onChange={(e) => setFormat(e.target.value)} required>
            {choices.map((f) => (
              <option key={f.name} value={f.name}>
                {f.name} ({f.ext})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Annotation file</span>
          <input type="file" required onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        {sent !== null && <ProgressBar value={sent} label="Upload of the annotation file" />}
        <footer className="modal-footer">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!file || !chosen || sent !== null}>
            Import
          </button>
        </footer>
      </form>
    </Modal>
  );
}
