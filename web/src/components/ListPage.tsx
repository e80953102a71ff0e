// The frame of the list pages (/projects, /tasks, /jobs, /requests, /cloudstorages): header
// with its actions, toolbar, load error, empty state, the table, pager; and the table's
// head, shared with the jobs table of a task.

import type { ReactNode } from "react";
import type { ListQuery } from "../api/query";
import type { Paginated } from "../api/types";
import type { Loaded } from "./hooks";
import { ListToolbar, Pager, type FilterSpec, type SortSpec } from "./ListControls";
import { Empty, ErrorNote } from "./ui";

interface ListPageProps<T> {
  title: string;
  /** Plural ("cloud storages"): the toolbar, the pager and the load error name it. */
  what: string;
  actions?: ReactNode;
  /** Between the header and the toolbar (the jobs' views). */
  above?: ReactNode;
  query: ListQuery;
  setQuery: (query: ListQuery) => void;
  list: Loaded<Paginated<T>>;
  filters?: FilterSpec[];
  sorts: SortSpec[];
  searchable?: boolean;
  /** The empty state's text; `noMatch` instead when a search or filter is on. */
  empty: ReactNode;
  noMatch?: ReactNode;
  children: (items: T[]) => ReactNode;
}

export function ListPage<T>(props: ListPageProps<T>) {
  const { query, setQuery, list, what } = props;
  const filtered = Boolean(query.search || Object.keys(query.filters).length);
  return (
    <div className="page">
      <div className="page-header">
        <h1>{props.title}</h1>
        {props.actions && <div className="row">{props.actions}</div>}
      </div>
      {props.above}
      <ListToolbar what={what} query={query} onChange={setQuery} filters={props.filters} sorts={props.sorts} searchable={props.searchable} />
      <ErrorNote error={list.error} title={`The ${what} could not be loaded`} />
      {list.data && list.data.results.length === 0 && (
        <Empty>
          <p>{filtered && props.noMatch ? props.noMatch : props.empty}</p>
        </Empty>
      )}
      {list.data && list.data.results.length > 0 && props.children(list.data.results)}
      {list.data && <Pager what={what} query={query} count={list.data.count} onChange={setQuery} />}
    </div>
  );
}

/** A column heading; `{ hidden }` for a column read only by screen readers (actions, previews). */
export type Column = string | { hidden: string };

export function ListTable(props: { columns: Column[]; busy?: boolean; caption?: string; className?: string; children: ReactNode }) {
  return (
    <table className={`list-table${props.className ? ` ${props.className}` : ""}`} aria-busy={props.busy}>
      {props.caption && <caption className="visually-hidden">{props.caption}</caption>}
      <thead>
        <tr>
          {props.columns.map((c) => (
            <th scope="col" key={typeof c === "string" ? c : c.hidden}>
              {typeof c === "string" ? c : <span className="visually-hidden">{c.hidden}</span>}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
}
