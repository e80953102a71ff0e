// /tasks/:id: details (rename, assignee), data actions, labels (the task's own, or its
// project's), the jobs with their workflow fields, delete.

import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { apiQuery, emptyQuery, type ListQuery } from "../api/query";
import { jobs as jobsApi, labels as labelsApi, projects, tasks, type TaskWrite } from "../api/resources";
import type { Job, Task } from "../api/types";
import { DataActions } from "../components/DataActions";
import { EditableTitle } from "../components/Details";
import { useLoad } from "../components/hooks";
import { JobsTable } from "../components/JobsTable";
import { LabelsSection } from "../components/labels/LabelsSection";
import { Pager } from "../components/ListControls";
import { useConfirm } from "../components/Modal";
import { useNotify } from "../components/Notifications";
import { paths } from "../components/paths";
import { Empty, ErrorNote, StatusBadge, userName, when } from "../components/ui";
import { UserSelect } from "../components/UserSelect";
import NotFoundPage from "./NotFoundPage";

export default function TaskPage() {
  const id = Number(useParams().taskId);
  const task = useLoad(() => tasks.get(id), String(id));
  const notify = useNotify();
  const confirm = useConfirm();
  const navigate = useNavigate();

  if (!Number.isInteger(id)) return <NotFoundPage />;
  if (task.error) return <div className="page"><ErrorNote error={task.error} title="The task could not be loaded" /></div>;
  if (!task.data) return <p role="status" className="page-status">Loading…</p>;
  const t = task.data;

  const update = async (body: TaskWrite, what: string) => {
    try {
      task.set(await tasks.update(t.id, body));
      notify.success(`${what} saved`);
    } catch (e) {
      notify.error(`${what} was not saved`, (e as Error).message);
      throw e;
    }
  };

  const remove = async () => {
    const ok = await confirm({
      title: "Delete task",
      message: (
        <p>
          Delete the task <strong>{t.name}</strong> with its data, jobs and annotations? This cannot be undone.
        </p>
      ),
      confirmLabel: "Delete task",
      danger: true,
    });
    if (!ok) return;
    try {
      await tasks.remove(t.id);
      notify.success(`Task "${t.name}" deleted`);
      navigate(paths.tasks);
    } catch (e) {
      notify.error("The task was not deleted", (e as Error).message);
    }
  };

  return (
    <div className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={paths.tasks}>Tasks</Link> / <span aria-current="page">#{t.id}</span>
      </nav>
      <div className="page-header">
        <EditableTitle value={t.name} what="task" onSave={(name) => update({ name }, "The name")} />
        <div className="row">
          <DataActions target="task" id={t.id} name={t.name} hasData={t.size > 0} dimension={t.dimension} />
          <button type="button" className="danger" onClick={remove}>
            Delete
          </button>
        </div>
      </div>

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
            <UserSelect label="Assignee of the task" hideLabel value={t.assignee} onChange={(assignee_id) => update({ assignee_id }, "The assignee")} />
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
