// /jobs: every job one may see, with stage/state/assignee filters, the "My jobs" and
// "To review" shortcuts, and in-place changes.

import { jobs } from "../api/resources";
import { JOB_STAGES, JOB_STATES, type Job, type Paginated } from "../api/types";
import { useAuth } from "../components/Auth";
import { useList } from "../components/hooks";
import { currentView, jobViews, showView } from "../components/jobViews";
import { JobsTable } from "../components/JobsTable";
import type { FilterSpec, SortSpec } from "../components/ListControls";
import { ListPage } from "../components/ListPage";

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
  const viewEmpty =
    view?.id === "review" ? "No job in validation is assigned to you." : view?.id === "mine" ? "No job is assigned to you." : null;
  const replace = (job: Job) =>
    list.data && list.set({ ...list.data, results: list.data.results.map((j) => (j.id === job.id ? job : j)) } as Paginated<Job>);

  return (
    <ListPage
      title="Jobs"
      what="jobs"
      above={
        <div className="segmented" role="group" aria-label="Views of the jobs">
          {views.map((v) => (
            <button key={v.id} type="button" aria-pressed={view?.id === v.id} onClick={() => setQuery(showView(query, v))}>
              {v.label}
            </button>
          ))}
        </div>
      }
      {...{ query, setQuery, list }}
      filters={FILTERS}
      sorts={SORTS}
      empty={viewEmpty ?? "No jobs yet: jobs are made when a task gets its data."}
      noMatch={viewEmpty ?? "No job matches. Try another search or clear the filters."}
    >
      {(items) => <JobsTable jobs={items} onChanged={replace} showTask caption="Jobs" />}
    </ListPage>
  );
}
