// /tasks/:id: details (rename, assignee), data actions, labels (the task's own, or its
// project's), the jobs with their workflow fields, delete.

import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { apiQuery, emptyQuery, type ListQuery } from "../api/query";
import { jobs as jobsApi, labels as labelsApi, projects, tasks, type TaskWrite } from "../api/resources";
import type { Job, Task } from "../api/types";
import { DataActions } from "../components/DataActions";
import { EditableTitle } from "../components/Details";
import { useLoad } from "../components/hooks";
import { JobsTable } from "../components/JobsTable";
import { LabelsSection } from "../components/labels/LabelsSection";
import { Pager } from "../components/ListControls";
import { paths } from "../components/paths";
import { ResourceHeader, detailGate, useDeleteResource, useSave } from "../components/resource";
import { Empty, ErrorNote, StatusBadge, userName, when } from "../components/ui";
import { UserSelect } from "../components/UserSelect";

const LIST = { to: paths.tasks, label: "Tasks" };

export default function TaskPage() {
  const id = Number(useParams().taskId);
  const task = useLoad(() => tasks.get(id), String(id));
  const save = useSave((body: TaskWrite) => tasks.update(id, body), task.set);
  const remove = useDeleteResource();

  const gate = detailGate(id, task, "Task", LIST);
  if (gate || !task.data) return gate;
  const t = task.data;

  const onDelete = () =>
    remove({
      what: "task",
      name: t.name,
      message: (
        <p>
          Delete the task <strong>{t.name}</strong> with its data, jobs and annotations? This cannot be undone.
        </p>
      ),
      remove: () => tasks.remove(t.id),
      then: paths.tasks,
    });

  return (
    <div className="page">
      <ResourceHeader
        list={LIST}
        id={t.id}
        title={<EditableTitle value={t.name} what="task" onSave={(name) => save({ name }, "The name")} />}
        onDelete={onDelete}
      >
        <DataActions target="task" id={t.id} name={t.name} hasData={t.size > 0} dimension={t.dimension} />
      </ResourceHeader>

      <section className="panel details-panel" aria-label="Details">
        {t.size > 0 && <img className="task-preview" src={tasks.previewUrl(t.id)} alt={`First frame of ${t.name}`} />}
        <dl className="details">
          <dt>Project</dt>
          <dd>{t.project_id !== null ? <ProjectLink id={t.project_id} /> : "—"}</dd>
          <dt>Status</dt>
          <dd>
            <StatusBadge value={t.status} />
          </dd>
          <dt>Owner</dt>
          <dd>{userName(t.owner)}</dd>
          <dt id="task-assignee">Assignee</dt>
          <dd>
            <UserSelect label="Assignee of the task" hideLabel value={t.assignee} onChange={(assignee_id) => save({ assignee_id }, "The assignee")} />
          </dd>
          <dt>Subset</dt>
          <dd>{t.subset || "—"}</dd>
          <dt>Frames</dt>
          <dd>
            {t.size} ({t.mode}, {t.dimension})
          </dd>
          <dt>Segment size</dt>
          <dd>{t.segment_size || "—"}</dd>
          <dt>Image quality</dt>
          <dd>{t.image_quality}</dd>
          <dt>Created</dt>
          <dd>{when(t.created_date)}</dd>
          <dt>Updated</dt>
          <dd>{when(t.updated_date)}</dd>
        </dl>
      </section>

      <TaskJobs task={t} onChanged={task.reload} />

      {t.project_id !== null ? <ProjectLabels task={t} /> : <LabelsSection owner={{ task_id: t.id }} />}
    </div>
  );
}

function ProjectLink({ id }: { id: number }) {
  const project = useLoad(() => projects.get(id), String(id));
  return <Link to={paths.project(id)}>{project.data ? project.data.name : `Project #${id}`}</Link>;
}

function ProjectLabels({ task }: { task: Task }) {
  const list = useLoad(() => labelsApi.of({ task_id: task.id }), String(task.id));
  return (
    <section className="panel" aria-labelledby="labels-title">
      <div className="panel-header">
        <h2 id="labels-title">Labels</h2>
        <Link to={paths.project(task.project_id ?? 0)}>Edit them in the project</Link>
      </div>
      <p className="muted">This task uses the labels of its project.</p>
      <ul className="label-chips">
        {(list.data ?? []).map((l) => (
          <li key={l.id} className="label-chip" style={{ borderColor: l.color }}>
            <span className="swatch" style={{ background: l.color }} aria-hidden="true" />
            {l.name} <span className="muted small">{l.type}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function TaskJobs({ task, onChanged }: { task: Task; onChanged: () => void }) {
  const [query, setQuery] = useState<ListQuery>({ ...emptyQuery("id") });
  const q = apiQuery(query, { task_id: task.id });
  const list = useLoad(() => jobsApi.list(q), `${q}:${task.updated_date}`);
  const replace = (job: Job) => {
    if (list.data) list.set({ ...list.data, results: list.data.results.map((j) => (j.id === job.id ? job : j)) });
    onChanged(); // the task's status follows its jobs
  };
  return (
    <section className="panel" aria-labelledby="jobs-title">
      <div className="panel-header">
        <h2 id="jobs-title">Jobs</h2>
        <span className="muted">
          {task.jobs.completed ?? 0} of {task.jobs.count} completed
        </span>
      </div>
      <ErrorNote error={list.error} title="The jobs could not be loaded" />
      {list.data && list.data.count === 0 && (
        <Empty>
          <p>No jobs: they are made when the task gets its data.</p>
        </Empty>
      )}
      {list.data && list.data.count > 0 && (
        <>
          <JobsTable jobs={list.data.results} onChanged={replace} caption={`Jobs of ${task.name}`} />
          {list.data.count > query.pageSize && <Pager what="jobs" query={query} count={list.data.count} onChange={setQuery} />}
        </>
      )}
    </section>
  );
}
