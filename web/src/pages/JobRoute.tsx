// The workspace route's guard: /tasks/:taskId/jobs/:jobId with another task's number is
// replaced by the job's own address (the workspace itself reads only the job id), and a job
// that does not exist or is not visible gets the "not found" page instead of a workspace
// that cannot load. The workspace starts loading at once, alongside the check.

import type { ReactNode } from "react";
import { Navigate, useLocation, useParams } from "react-router-dom";
import { jobs } from "../api/resources";
import { useLoad } from "../components/hooks";
import { paths } from "../components/paths";
import { NotFound, missing } from "../components/resource";

const LIST = { to: paths.jobs, label: "Jobs" };

export default function JobRoute({ children }: { children: ReactNode }) {
  const params = useParams();
  const location = useLocation();
  const id = Number(params.jobId);
  const job = useLoad(() => (missing(id, null) ? Promise.resolve(null) : jobs.get(id)), String(id));
  if (missing(id, job.error)) return <NotFound what="Job" id={id} list={LIST} />;
  if (job.data && String(job.data.task_id) !== params.taskId) {
    return <Navigate to={paths.job(job.data.task_id, job.data.id) + location.search + location.hash} replace />;
  }
  return <>{children}</>;
}
