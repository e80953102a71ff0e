// /jobs: every job one may see, with stage/state/assignee filters, the "My jobs" and
// "To review" shortcuts, and in-place changes.

import { jobs } from "../api/resources";
import { JOB_STAGES, JOB_STATES, type Job, type Paginated } from "../api/types";
import { useAuth } from "../components/Auth";
import { useList } from "../components/hooks";
import { currentView, jobViews, showView } from "../components/jobViews";
import { JobsTable } from "../components/JobsTable";
import { ListToolbar, Pager, type FilterSpec, type SortSpec } from "../components/ListControls";
import { Empty, ErrorNote } from "../components/ui";

const FILTERS: FilterSpec[] = [
  { name: "stage", label: "Stage", options: JOB_STAGES },
  { name: "state", label: "State", options: JOB_STATES },
  { name: "assignee", label: "Assignee" },
];
const SORTS: SortSpec[] = [
  { value: "", label: "Newest first" },
  { value: "id", label: "Oldest first" },
  { value: "task_name", label: "Task name" },
  { value: "-updated_date", label: "Recently updated" },
  { value: "assignee", label: "Assignee" },
];

export default function JobsPage() {
  const [query, setQuery, list] = useList(FILTERS.map((f) => f.name), jobs.list);
  const { user } = useAuth();
  const views = jobViews(user?.username ?? "");
  const view = currentView(query, views);
  const replace = (job: Job) =>
    list.data && list.set({ ...list.data, results: list.data.results.map((j) => (j.id === job.id ? job : j)) } as Paginated<Job>);

  return (
    <div className="page">
      <div className="page-header">
        <h1>Jobs</h1>
      </div>
      <div className="segmented" role="group" aria-label="Views of the jobs">
        {views.map((v) => (
          <button key={v.id} type="button" aria-pressed={view?.id === v.id} onClick={() => setQuery(showView(query, v))}>
            {v.label}
          </button>
        ))}
      </div>
      <ListToolbar what="jobs" query={query} onChange={setQuery} filters={FILTERS} sorts={SORTS} />
      <ErrorNote error={list.error} title="The jobs could not be loaded" />
      {list.data && list.data.results.length === 0 && (
        <Empty>
          <p>
            {view?.id === "review"
              ? "No job in validation is assigned to you."
              : view?.id === "mine"
                ? "No job is assigned to you."
                : query.search || Object.keys(query.filters).length
              ? "No job matches. Try another search or clear the filters."
              : "No jobs yet: jobs are made when a task gets its data."}
          </p>
        </Empty>
      )}
      {list.data && list.data.results.length > 0 && <JobsTable jobs={list.data.results} onChanged={replace} showTask caption="Jobs" />}
      {list.data && <Pager what="jobs" query={query} count={list.data.count} onChange={setQuery} />}
    </div>
  );
}
