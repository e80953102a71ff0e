// Data loading and list state shared by the pages.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { ApiError } from "../api/client";
import { apiQuery, readListQuery, writeListQuery, type ListQuery } from "../api/query";

export interface Loaded<T> {
  data: T | undefined;
  error: Error | null;
  loading: boolean;
  reload: () => void;
  /** Replace the data (after a PATCH answered the new state). */
  set: (data: T) => void;
}

/** Run `load` now and whenever `key` changes; an answer that arrives after a newer request
 * started is dropped, so a fast typist never sees an old list. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const loader = useRef(load);
  loader.current = load;

  useEffect(() => {
    const ticket = ++latest.current;
    setLoading(true);
    loader.current().then(
      (value) => {
        if (ticket !== latest.current) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (ticket !== latest.current) return;
        setError(err instanceof Error ? err : new Error(String(err)));
        setLoading(false);
      },
    );
  }, [key, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, set: setData };
}

/** A list's page/search/sort/filters, kept in the address bar. */
export function useListQuery(
  filterNames: readonly string[],
  defaultSort = "",
): [ListQuery, (query: ListQuery) => void] {
  const [params, setParams] = useSearchParams();
  const names = filterNames.join(",");
  const query = useMemo(
    () => readListQuery(params, names ? names.split(",") : [], defaultSort),
    [params, names, defaultSort],
  );
  const set = useCallback(
    (next: ListQuery) => setParams(writeListQuery(next, defaultSort)),
    [setParams, defaultSort],
  );
  return [query, set];
}

/** A list page's state: the query kept in the address and the page it loads. A page past
 * the end (an old link, or the last item of the last page just deleted) goes back to page 1
 * instead of leaving the user on "Invalid page." with no pager. */
export function useList<T>(
  filterNames: readonly string[],
  fetchPage: (params: string) => Promise<T>,
  defaultSort = "",
): [ListQuery, (query: ListQuery) => void, Loaded<T>] {
  const [query, setQuery] = useListQuery(filterNames, defaultSort);
  const params = apiQuery(query);
  const list = useLoad(() => fetchPage(params), params);
  const { error } = list;
  useEffect(() => {
    if (error instanceof ApiError && error.status === 404 && query.page > 1) {
      setQuery({ ...query, page: 1 });
    }
  }, [error]); // only when a load fails, not on every query change
  return [query, setQuery, list];
}
