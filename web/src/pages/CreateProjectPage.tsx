// /projects/create: a name and the labels that the project's tasks share.

import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { projects } from "../api/resources";
import { LabelsEditor } from "../components/labels/LabelsEditor";
import { Problems } from "../components/labels/LabelsSection";
import { createEdits, saveProblems, type LabelDraft } from "../components/labels/model";
import { useNotify } from "../components/Notifications";
import { paths } from "../components/paths";
import { Breadcrumb } from "../components/resource";
import { ErrorNote } from "../components/ui";

export default function CreateProjectPage() {
  const navigate = useNavigate();
  const notify = useNotify();
  const [name, setName] = useState("");
  const [labels, setLabels] = useState<LabelDraft[]>([]);
  const [found, setFound] = useState<string[]>([]);
  const [rawError, setRawError] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const list = [...(name.trim() ? [] : ["The project needs a name."]), ...saveProblems(labels, rawError)];
    setFound(list);
    if (list.length) return;
    setBusy(true);
    setError(null);
    try {
      const project = await projects.create({ name: name.trim(), labels: createEdits(labels) });
      notify.success(`Project "${project.name}" created`);
      navigate(paths.project(project.id));
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  };

  return (
    <div className="page narrow-page">
      <Breadcrumb list={{ to: paths.projects, label: "Projects" }} current="New" />
      <h1>Create a project</h1>
      <form onSubmit={submit} className="stack">
        <label className="field">
          <span>Name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
        </label>
        <h2>Labels</h2>
        <LabelsEditor value={labels} onChange={setLabels} onRawError={setRawError} />
        <Problems list={found} />
        <ErrorNote error={error} title="The project was not created" />
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Creating…" : "Create project"}
          </button>
          <Link className="button" to={paths.projects}>
            Cancel
          </Link>
        </div>
      </form>
    </div>
  );
}
