// /projects/:id: details (rename, assignee), labels, its tasks, export, dataset import (a
// task per subset), backup, delete.

import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { apiQuery, emptyQuery, type ListQuery } from "../api/query";
import { projects, tasks, type ProjectWrite } from "../api/resources";
import { DataActions } from "../components/DataActions";
import { EditableTitle } from "../components/Details";
import { useLoad } from "../components/hooks";
import { LabelsSection } from "../components/labels/LabelsSection";
import { ListToolbar, Pager } from "../components/ListControls";
import { paths } from "../components/paths";
import { ResourceHeader, detailGate, useDeleteResource, useSave } from "../components/resource";
import { Empty, ErrorNote, StatusBadge, userName, when } from "../components/ui";
import { UserSelect } from "../components/UserSelect";
import { COMMON_SORTS } from "./ProjectsPage";

const LIST = { to: paths.projects, label: "Projects" };

export default function ProjectPage() {
  const id = Number(useParams().projectId);
  const project = useLoad(() => projects.get(id), String(id));
  const save = useSave((body: ProjectWrite) => projects.update(id, body), project.set);
  const remove = useDeleteResource();
  const [imports, setImports] = useState(0); // a finished dataset import lists the tasks again

  const gate = detailGate(id, project, "Project", LIST);
  if (gate || !project.data) return gate;
  const p = project.data;

  const onDelete = () =>
    remove({
      what: "project",
      name: p.name,
      message: (
        <p>
          Delete the project <strong>{p.name}</strong> and its {p.tasks.count} task{p.tasks.count === 1 ? "" : "s"}? This
          cannot be undone.
        </p>
      ),
      remove: () => projects.remove(p.id),
      then: paths.projects,
    });

  return (
    <div className="page">
      <ResourceHeader
        list={LIST}
        id={p.id}
        title={<EditableTitle value={p.name} what="project" onSave={(name) => save({ name }, "The name")} />}
        onDelete={onDelete}
      >
        <Link className="button primary" to={paths.createTask(p.id)}>
          + Create task
        </Link>
        <DataActions target="project" id={p.id} name={p.name} hasData onImported={() => setImports((n) => n + 1)} />
      </ResourceHeader>
      <section className="panel" aria-label="Details">
        <dl className="details">
          <dt>Owner</dt>
          <dd>{userName(p.owner)}</dd>
          <dt>Assignee</dt>
          <dd>
            <UserSelect label="Assignee of the project" hideLabel value={p.assignee} onChange={(assignee_id) => save({ assignee_id }, "The assignee")} />
          </dd>
          <dt>Subsets</dt>
          <dd>{p.task_subsets.join(", ") || "—"}</dd>
          <dt>Created</dt>
          <dd>{when(p.created_date)}</dd>
          <dt>Updated</dt>
          <dd>{when(p.updated_date)}</dd>
        </dl>
      </section>
      <LabelsSection owner={{ project_id: p.id }} />
      <ProjectTasks projectId={p.id} version={imports} />
    </div>
  );
}

function ProjectTasks({ projectId, version }: { projectId: number; version: number }) {
  const [query, setQuery] = useState<ListQuery>(emptyQuery());
  const q = apiQuery(query, { project_id: projectId });
  const list = useLoad(() => tasks.list(q), `${q}#${version}`);
  return (
    <section className="panel" aria-labelledby="project-tasks-title">
      <div className="panel-header">
        <h2 id="project-tasks-title">Tasks</h2>
      </div>
      <ListToolbar what="tasks of the project" query={query} onChange={setQuery} sorts={COMMON_SORTS} />
      <ErrorNote error={list.error} title="The tasks could not be loaded" />
      {list.data && list.data.results.length === 0 && (
        <Empty>
          <p>
            {query.search ? "No task matches." : "No tasks in this project yet. "}
            {!query.search && <Link to={paths.createTask(projectId)}>Create one</Link>}
          </p>
        </Empty>
      )}
      {list.data && list.data.results.length > 0 && (
        <ul className="task-cards">
          {list.data.results.map((t) => (
            <li key={t.id} className="task-card">
              {t.size > 0 ? <img src={tasks.previewUrl(t.id)} alt="" loading="lazy" /> : <span className="no-preview" />}
              <div>
                <Link to={paths.task(t.id)} className="strong-link">
                  {t.name}
                </Link>
                <div className="muted small">
                  #{t.id} · {t.subset || "no subset"} · {t.jobs.completed ?? 0}/{t.jobs.count} jobs done
                </div>
              </div>
              <StatusBadge value={t.status} />
            </li>
          ))}
        </ul>
      )}
      {list.data && list.data.count > query.pageSize && <Pager what="tasks" query={query} count={list.data.count} onChange={setQuery} />}
    </section>
  );
}
