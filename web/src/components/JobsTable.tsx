// Jobs with their workflow fields editable in place (PATCH /api/jobs/{id}: stage, state,
// assignee) and an Open link to the annotation workspace.

import { useState } from "react";
import { Link } from "react-router-dom";
import { jobs as jobsApi, type JobWrite } from "../api/resources";
import { JOB_STAGES, JOB_STATES, type Job } from "../api/types";
import { ListTable } from "./ListPage";
import { useNotify } from "./Notifications";
import { paths } from "./paths";
import { when } from "./ui";
import { UserSelect } from "./UserSelect";

interface Props {
  jobs: Job[];
  onChanged: (job: Job) => void;
  showTask?: boolean;
  caption?: string;
}

export function JobsTable({ jobs, onChanged, showTask, caption }: Props) {
  const notify = useNotify();
  const [busy, setBusy] = useState<number | null>(null);

  const change = async (job: Job, body: JobWrite) => {
    setBusy(job.id);
    try {
      onChanged(await jobsApi.update(job.id, body));
    } catch (e) {
      notify.error(`Job #${job.id} was not changed`, (e as Error).message);
    } finally {
      setBusy(null);
    }
  };

  return (
    <ListTable
      className="jobs-table"
      caption={caption}
      columns={["Job", ...(showTask ? ["Task"] : []), "Frames", "Stage", "State", "Assignee", "Issues", "Updated", { hidden: "Open" }]}
    >
      {jobs.map((job) => (
        <tr key={job.id} data-job-id={job.id} aria-busy={busy === job.id}>
          <th scope="row">
            #{job.id}
            {job.type !== "annotation" && <span className="muted small"> {job.type}</span>}
          </th>
          {showTask && (
            <td>
              <Link to={paths.task(job.task_id)}>Task #{job.task_id}</Link>
            </td>
          )}
          <td>
            {job.start_frame}–{job.stop_frame} <span className="muted small">({job.frame_count})</span>
          </td>
          <td>
            <select
              aria-label={`Stage of job #${job.id}`}
              value={job.stage}
              disabled={busy === job.id}
              onChange={(e) => change(job, { stage: e.target.value as Job["stage"] })}
            >
              {JOB_STAGES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </td>
          <td>
            <select
              aria-label={`State of job #${job.id}`}
              value={job.state}
              disabled={busy === job.id}
              onChange={(e) => change(job, { state: e.target.value as Job["state"] })}
            >
              {JOB_STATES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </td>
          <td>
            <UserSelect
              label={`Assignee of job #${job.id}`}
              hideLabel
              value={job.assignee}
              disabled={busy === job.id}
              onChange={(assignee) => change(job, { assignee })}
            />
          </td>
          <td>{job.issues.count || "—"}</td>
          <td>{when(job.updated_date)}</td>
          <td>
            <Link className="button" to={paths.job(job.task_id, job.id)} aria-label={`Open job #${job.id}`}>
              Open
            </Link>
          </td>
        </tr>
      ))}
    </ListTable>
  );
}
