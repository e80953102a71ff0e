// Shortcuts of the jobs list: one's own jobs, and a reviewer's view (jobs in validation
// assigned to oneself). Each is a set of the list's simple filters, so it lives in the
// address like any filter and shows as chosen when the filters match it.

import { changed, type ListQuery } from "../api/query";

export interface JobView {
  id: string;
  label: string;
  filters: Record<string, string>;
}

export function jobViews(username: string): JobView[] {
  return [
    { id: "all", label: "All jobs", filters: {} },
    { id: "mine", label: "My jobs", filters: { assignee: username } },
    { id: "review", label: "To review", filters: { assignee: username, stage: "validation" } },
  ];
}

const same = (a: Record<string, string>, b: Record<string, string>) => {
  const keys = (o: Record<string, string>) => Object.keys(o).filter((k) => o[k]).sort();
  return JSON.stringify(keys(a).map((k) => [k, a[k]])) === JSON.stringify(keys(b).map((k) => [k, b[k]]));
};

/** The view the list shows now, or null when its filters are some other mix. */
export function currentView(query: ListQuery, views: readonly JobView[]): JobView | null {
  return views.find((v) => same(v.filters, query.filters)) ?? null;
}

/** The list with a view's filters (search and sort kept, back to page 1). */
export function showView(query: ListQuery, view: JobView): ListQuery {
  return changed(query, { filters: { ...view.filters } });
}
