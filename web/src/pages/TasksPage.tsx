// /tasks: search, filter (status, subset, mode, assignee, owner), sort and page through tasks.

import { Link } from "react-router-dom";
import { tasks } from "../api/resources";
import { RestoreBackup } from "../components/DataActions";
import { useList } from "../components/hooks";
import { ListToolbar, Pager, type FilterSpec } from "../components/ListControls";
import { paths } from "../components/paths";
import { Empty, ErrorNote, StatusBadge, userName, when } from "../components/ui";
import { COMMON_SORTS } from "./ProjectsPage";

const FILTERS: FilterSpec[] = [
  { name: "status", label: "Status", options: ["annotation", "validation", "completed"] },
  { name: "mode", label: "Mode", options: ["annotation", "interpolation"] },
  { name: "subset", label: "Subset" },
  { name: "assignee", label: "Assignee" },
  { name: "owner", label: "Owner" },
];

export default function TasksPage() {
  const [query, setQuery, list] = useList(FILTERS.map((f) => f.name), tasks.list);
  const filtered = Boolean(query.search || Object.keys(query.filters).length);

  return (
    <div className="page">
      <div className="page-header">
        <h1>Tasks</h1>
        <div className="row">
          <RestoreBackup kind="task" onDone={list.reload} />
          <Link className="button primary" to={paths.createTask()}>
            + Create task
          </Link>
        </div>
      </div>
      <ListToolbar what="tasks" query={query} onChange={setQuery} filters={FILTERS} sorts={COMMON_SORTS} />
      <ErrorNote error={list.error} title="The tasks could not be loaded" />
      {list.data && list.data.results.length === 0 && (
        <Empty>
          {filtered ? (
            <p>No task matches. Try another search or clear the filters.</p>
          ) : (
            <p>
              No tasks yet. <Link to={paths.createTask()}>Create a task</Link> from images, a video or an archive.
            </p>
          )}
        </Empty>
      )}
      {list.data && list.data.results.length > 0 && (
        <table className="list-table" aria-busy={list.loading}>
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Preview</span>
              </th>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Jobs done</th>
              <th scope="col">Frames</th>
              <th scope="col">Assignee</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.data.results.map((t) => (
              <tr key={t.id}>
                <td className="preview-cell">
                  {t.size > 0 ? <img src={tasks.previewUrl(t.id)} alt="" loading="lazy" /> : <span className="no-preview" />}
                </td>
                <td>
                  <Link to={paths.task(t.id)} className="strong-link">
                    {t.name}
                  </Link>{" "}
                  <span className="muted">#{t.id}</span>
                  {t.project_id !== null && (
                    <div className="muted small">
                      in <Link to={paths.project(t.project_id)}>project #{t.project_id}</Link>
                      {t.subset && ` · ${t.subset}`}
                    </div>
                  )}
                </td>
                <td>
                  <StatusBadge value={t.status} />
                </td>
                <td>
                  {t.jobs.completed ?? 0} / {t.jobs.count}
                </td>
                <td>{t.size}</td>
                <td>{userName(t.assignee)}</td>
                <td>{when(t.updated_date)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.data && <Pager what="tasks" query={query} count={list.data.count} onChange={setQuery} />}
    </div>
  );
}
