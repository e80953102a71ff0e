// /requests: the background requests (task creation, exports, imports, backups) from
// GET /api/requests, with progress, results and cancel; refreshed while any is running.

import { useEffect } from "react";
import { Link } from "react-router-dom";
import { percent } from "../api/polling";
import { requests } from "../api/resources";
import type { BackgroundRequest } from "../api/types";
import { localPath } from "../api/upload";
import { useList } from "../components/hooks";
import type { FilterSpec, SortSpec } from "../components/ListControls";
import { ListPage, ListTable } from "../components/ListPage";
import { useNotify } from "../components/Notifications";
import { paths } from "../components/paths";
import { ProgressBar, StatusBadge, when } from "../components/ui";

const FILTERS: FilterSpec[] = [
  { name: "status", label: "Status", options: ["queued", "started", "finished", "failed"] },
  { name: "action", label: "Action", options: ["create", "export", "import"] },
];
const SORTS: SortSpec[] = [
  { value: "", label: "Newest first" },
  { value: "created_date", label: "Oldest first" },
];
const REFRESH_MS = 2000;

function subject(r: BackgroundRequest) {
  const { operation: o } = r;
  if (o.job_id) return <Link to={paths.job(o.task_id ?? 0, o.job_id)}>Job #{o.job_id}</Link>;
  if (o.task_id) return <Link to={paths.task(o.task_id)}>Task #{o.task_id}</Link>;
  if (o.project_id) return <Link to={paths.project(o.project_id)}>Project #{o.project_id}</Link>;
  return o.target;
}

export default function RequestsPage() {
  const [query, setQuery, list] = useList(FILTERS.map((f) => f.name), requests.list);
  const notify = useNotify();
  const running = (list.data?.results ?? []).some((r) => r.status === "queued" || r.status === "started");
  const { reload } = list;

  useEffect(() => {
    if (!running) return;
    const timer = setTimeout(reload, REFRESH_MS);
    return () => clearTimeout(timer);
  }, [running, list.data, reload]);

  const cancel = async (r: BackgroundRequest) => {
    try {
      await requests.cancel(r.id);
      reload();
    } catch (e) {
      notify.error("The request was not cancelled", (e as Error).message);
    }
  };

  return (
    <ListPage
      title="Requests"
      what="requests"
      {...{ query, setQuery, list }}
      filters={FILTERS}
      sorts={SORTS}
      searchable={false}
      empty="No background requests. Creating a task, exporting, importing or backing up starts one."
    >
      {(items) => (
        <ListTable columns={["What", "Of", "Status", "Progress", "Created", { hidden: "Actions" }]}>
          {items.map((r) => (
            <tr key={r.id}>
              <td>
                {r.operation.type}
                {r.operation.format && <span className="muted small"> · {r.operation.format}</span>}
              </td>
              <td>{subject(r)}</td>
              <td>
                <StatusBadge value={r.status} />
                {r.status === "failed" && r.message && <div className="error-text small">{r.message}</div>}
              </td>
              <td className="progress-cell">
                <ProgressBar value={r.status === "queued" ? 0 : percent(r)} label={`Progress of ${r.operation.type} ${r.id}`} />
              </td>
              <td>{when(r.created_date)}</td>
              <td>
                {r.status === "finished" && r.result_url && (
                  <a className="button" href={localPath(r.result_url)} download>
                    Download
                  </a>
                )}
                {r.status === "finished" && r.result_id !== null && r.operation.type.startsWith("import:backup") && (
                  <Link className="button" to={r.operation.target === "project" ? paths.project(r.result_id) : paths.task(r.result_id)}>
                    Open
                  </Link>
                )}
                {(r.status === "queued" || r.status === "started") && (
                  <button type="button" onClick={() => cancel(r)}>
                    Cancel
                  </button>
                )}
              </td>
            </tr>
          ))}
        </ListTable>
      )}
    </ListPage>
  );
}
