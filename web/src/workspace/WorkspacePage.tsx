// The annotation workspace (owned by the workspace work of #9): /tasks/:taskId/jobs/:jobId.
import { useParams } from "react-router-dom";

export default function WorkspacePage() {
  const { jobId } = useParams();
  return <main aria-label="Annotation workspace">Job {jobId}</main>;
}
