// The saved labels of a project or task in the editor, with Save (one PATCH of the owner
// with the edits that turn the saved labels into the drafts) and Discard. JSON being typed on
// the Raw tab is part of the drafts once it parses; until then Save says what is wrong.

import { useEffect, useMemo, useState } from "react";
import { labels as labelsApi, projects, tasks } from "../../api/resources";
import type { Label } from "../../api/types";
import { useLoad } from "../hooks";
import { useNotify } from "../Notifications";
import { ErrorNote } from "../ui";
import { LabelsEditor } from "./LabelsEditor";
import { fromApi, patchEdits, saveProblems, type LabelDraft } from "./model";

type Owner = { project_id: number } | { task_id: number };

export function LabelsSection({ owner }: { owner: Owner }) {
  const notify = useNotify();
  const key = JSON.stringify(owner);
  const saved = useLoad<Label[]>(() => labelsApi.of(owner), key);
  const [drafts, setDrafts] = useState<LabelDraft[]>([]);
  const [busy, setBusy] = useState(false);
  const [shownProblems, setShownProblems] = useState<string[]>([]);
  const [rawError, setRawError] = useState<string | null>(null);

  useEffect(() => {
    if (saved.data) setDrafts(saved.data.map(fromApi));
  }, [saved.data]);

  const savedIds = useMemo(() => new Set((saved.data ?? []).map((l) => l.id)), [saved.data]);
  const edits = useMemo(() => patchEdits(saved.data ?? [], drafts), [saved.data, drafts]);

  const save = async () => {
    const found = saveProblems(drafts, rawError);
    setShownProblems(found);
    if (found.length) return;
    setBusy(true);
    try {
      if ("project_id" in owner) await projects.update(owner.project_id, { labels: edits });
      else await tasks.update(owner.task_id, { labels: edits });
      notify.success("Labels saved");
      saved.reload();
    } catch (e) {
      notify.error("The labels were not saved", (e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="labels-title">
      <div className="panel-header">
        <h2 id="labels-title">Labels</h2>
        <div className="row">
          {edits.length > 0 && <span className="muted small">{edits.length} unsaved change{edits.length > 1 ? "s" : ""}</span>}
          <button type="button" disabled={!edits.length || busy} onClick={() => saved.data && setDrafts(saved.data.map(fromApi))}>
            Discard changes
          </button>
          <button type="button" className="primary" disabled={(!edits.length && !rawError) || busy} onClick={save}>
            {busy ? "Saving…" : "Save labels"}
          </button>
        </div>
      </div>
      <ErrorNote error={saved.error} title="The labels could not be loaded" />
      <Problems list={shownProblems} />
      {saved.data && <LabelsEditor value={drafts} onChange={setDrafts} savedIds={savedIds} onRawError={setRawError} />}
    </section>
  );
}

export function Problems({ list }: { list: string[] }) {
  if (!list.length) return null;
  return (
    <div className="error-note" role="alert">
      <strong>Please fix:</strong>
      <ul>
        {list.map((p) => (
          <li key={p}>{p}</li>
        ))}
      </ul>
    </div>
  );
}
