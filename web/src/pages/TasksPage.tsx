// /tasks: search, filter (status, subset, mode, assignee, owner), sort and page through tasks.

import { Link } from "react-router-dom";
import { tasks } from "../api/resources";
import { RestoreBackup } from "../components/DataActions";
import { useList } from "../components/hooks";
import type { FilterSpec } from "../components/ListControls";
import { ListPage, ListTable } from "../components/ListPage";
import { paths } from "../components/paths";
import { StatusBadge, userName, when } from "../components/ui";
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
  return (
    <ListPage
      title="Tasks"
      what="tasks"
      actions={
        <>
          <RestoreBackup kind="task" onDone={list.reload} />
          <Link className="button primary" to={paths.createTask()}>
            + Create task
          </Link>
        </>
      }
      {...{ query, setQuery, list }}
      filters={FILTERS}
      sorts={COMMON_SORTS}
      noMatch="No task matches. Try another search or clear the filters."
      empty={
        <>
          No tasks yet. <Link to={paths.createTask()}>Create a task</Link> from images, a video or an archive.
        </>
      }
    >
      {(items) => (
        <ListTable columns={[{ hidden: "Preview" }, "Name", "Status", "Jobs done", "Frames", "Assignee", "Updated"]} busy={list.loading}>
          {items.map((t) => (
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
        </ListTable>
      )}
    </ListPage>
  );
}
