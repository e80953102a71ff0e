// A list page's state (page, page size, search, sort, simple filters) kept in the address
// bar, so that a list can be linked, reloaded and left with Back; and the same state as the
// query string of a CVAT list endpoint.

export const PAGE_SIZES = [10, 20, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 10;

export interface ListQuery {
  page: number;
  pageSize: number;
  search: string;
  sort: string;
  /** CVAT's simple filters (`?stage=validation&assignee=bob`); empty values are left out. */
  filters: Record<string, string>;
}

export function emptyQuery(sort = ""): ListQuery {
  return { page: 1, pageSize: DEFAULT_PAGE_SIZE, search: "", sort, filters: {} };
}

function positive(text: string | null, fallback: number): number {
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 ? n : fallback;
}

/** The list state in `params`; only `filterNames` are read as filters. */
export function readListQuery(
  params: URLSearchParams,
  filterNames: readonly string[],
  defaultSort = "",
): ListQuery {
  const filters: Record<string, string> = {};
  for (const name of filterNames) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  return {
    page: positive(params.get("page"), 1),
    pageSize: Math.min(positive(params.get("page_size"), DEFAULT_PAGE_SIZE), 1000),
    search: params.get("search") ?? "",
    sort: params.get("sort") ?? defaultSort,
    filters,
  };
}

/** The address-bar form: defaults are left out so that a plain list has a plain URL. */
export function writeListQuery(query: ListQuery, defaultSort = ""): URLSearchParams {
  const out = new URLSearchParams();
  if (query.page !== 1) out.set("page", String(query.page));
  if (query.pageSize !== DEFAULT_PAGE_SIZE) out.set("page_size", String(query.pageSize));
  if (query.search.trim()) out.set("search", query.search.trim());
  if (query.sort && query.sort !== defaultSort) out.set("sort", query.sort);
  for (const [name, value] of Object.entries(query.filters)) if (value) out.set(name, value);
  return out;
}

/** The endpoint's query string (with its leading '?'); `fixed` parameters (such as
 * `task_id`) are always sent. */
export function apiQuery(query: ListQuery, fixed: Record<string, string | number> = {}): string {
  const out = new URLSearchParams();
  out.set("page", String(query.page));
  out.set("page_size", String(query.pageSize));
  if (query.search.trim()) out.set("search", query.search.trim());
  if (query.sort) out.set("sort", query.sort);
  for (const [name, value] of Object.entries(query.filters)) if (value) out.set(name, value);
  for (const [name, value] of Object.entries(fixed)) out.set(name, String(value));
  return `?${out.toString()}`;
}

export function pageCount(count: number, pageSize: number): number {
  return Math.max(1, Math.ceil(count / pageSize));
}

/** A changed search, sort, filter or page size starts again at page 1. */
export function changed(query: ListQuery, change: Partial<Omit<ListQuery, "page">>): ListQuery {
  return {
    ...query,
    ...change,
    filters: change.filters ? { ...change.filters } : query.filters,
    page: 1,
  };
}
