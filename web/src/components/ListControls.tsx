// The toolbar above a list (search, filters, sort) and the pager below it.

import { useEffect, useState, type ReactNode } from "react";
import { changed, pageCount, PAGE_SIZES, type ListQuery } from "../api/query";

export interface FilterSpec {
  name: string;
  label: string;
  /** Choices of a select; none: a free text input (e.g. a username). */
  options?: readonly string[];
}

export interface SortSpec {
  value: string;
  label: string;
}

interface ToolbarProps {
  what: string; // "tasks": labels the search box
  query: ListQuery;
  onChange: (query: ListQuery) => void;
  filters?: FilterSpec[];
  sorts: SortSpec[];
  /** False for lists the API does not search (requests). */
  searchable?: boolean;
  children?: ReactNode;
}

export function ListToolbar({ what, query, onChange, filters = [], sorts, searchable = true, children }: ToolbarProps) {
  const [search, setSearch] = useState(query.search);
  useEffect(() => setSearch(query.search), [query.search]);

  const setFilter = (name: string, value: string) =>
    onChange(changed(query, { filters: { ...query.filters, [name]: value } }));

  return (
    <div className="toolbar" role={searchable ? "search" : "group"} aria-label={`Find ${what}`}>
      {searchable && (
        <form
          className="search"
          onSubmit={(e) => {
            e.preventDefault();
            onChange(changed(query, { search }));
          }}
        >
          <input
            type="search"
            aria-label={`Search ${what}`}
            placeholder={`Search ${what}`}
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              if (!e.target.value && query.search) onChange(changed(query, { search: "" }));
            }}
          />
          <button type="submit">Search</button>
        </form>
      )}
      {filters.map((f) =>
        f.options ? (
          <label key={f.name} className="inline-field">
            <span>{f.label}</span>
            <select value={query.filters[f.name] ?? ""} onChange={(e) => setFilter(f.name, e.target.value)}>
              <option value="">Any</option>
              {f.options.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <FilterText key={f.name} spec={f} value={query.filters[f.name] ?? ""} onCommit={(v) => setFilter(f.name, v)} />
        ),
      )}
      <label className="inline-field">
        <span>Sort</span>
        <select value={query.sort} onChange={(e) => onChange(changed(query, { sort: e.target.value }))}>
          {sorts.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
      {children && <div className="toolbar-end">{children}</div>}
    </div>
  );
}

function FilterText({ spec, value, onCommit }: { spec: FilterSpec; value: string; onCommit: (v: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return (
    <label className="inline-field">
      <span>{spec.label}</span>
      <input
        value={text}
        size={10}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => text !== value && onCommit(text.trim())}
        onKeyDown={(e) => {
          if (e.key === "Enter") onCommit(text.trim());
        }}
      />
    </label>
  );
}

export function Pager({ query, count, onChange, what }: { query: ListQuery; count: number; onChange: (q: ListQuery) => void; what: string }) {
  const pages = pageCount(count, query.pageSize);
  const go = (page: number) => onChange({ ...query, page });
  return (
    <nav className="pager" aria-label={`Pages of ${what}`}>
      <button type="button" onClick={() => go(query.page - 1)} disabled={query.page <= 1} aria-label="Previous page">
        <span aria-hidden="true">‹</span> Previous
      </button>
      <span aria-live="polite">
        Page {Math.min(query.page, pages)} of {pages} · {count} {count === 1 ? what.replace(/s$/, "") : what}
      </span>
      <button type="button" onClick={() => go(query.page + 1)} disabled={query.page >= pages} aria-label="Next page">
        Next <span aria-hidden="true">›</span>
      </button>
      <label className="inline-field">
        <span>Per page</span>
        <select value={query.pageSize} onChange={(e) => onChange(changed(query, { pageSize: Number(e.target.value) }))}>
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
    </nav>
  );
}
