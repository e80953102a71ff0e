// The pieces every detail page (/projects/:id, /tasks/:id, /cloudstorages/:id) shares: what
// shows before the object is there (not found, a load error, loading), the breadcrumb and
// header, saving a change with a toast, and the confirm-then-delete flow.

import type { ReactElement, ReactNode } from "react";
import { Link, useNavigate } from "react-router-dom";
import { ApiError } from "../api/client";
import NotFoundPage from "../pages/NotFoundPage";
import type { Loaded } from "./hooks";
import { useConfirm } from "./Modal";
import { useNotify } from "./Notifications";
import { ErrorNote } from "./ui";

/** A list page a detail page belongs to: its address and its name ("Projects"). */
export interface ListRef {
  to: string;
  label: string;
}

export function Breadcrumb({ list, current }: { list: ListRef; current: string }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to={list.to}>{list.label}</Link> / <span aria-current="page">{current}</span>
    </nav>
  );
}

/** No such object for this user: a bad id in the address, or a 404 (missing or not visible). */
export function missing(id: number, error: Error | null): boolean {
  return !Number.isInteger(id) || id < 1 || (error instanceof ApiError && error.status === 404);
}

export function NotFound({ what, id, list }: { what: string; id: number; list: ListRef }) {
  return <NotFoundPage what={`${what} #${Number.isNaN(id) ? "?" : id}`} back={list} />;
}

/** Before the object: a clear "not found" with the way back, another load error, or
 * loading; null once it is loaded. */
export function detailGate(id: number, loaded: Pick<Loaded<unknown>, "data" | "error">, what: string, list: ListRef): ReactElement | null {
  if (missing(id, loaded.error)) return <NotFound what={what} id={id} list={list} />;
  if (loaded.error) {
    return (
      <div className="page">
        <Breadcrumb list={list} current={`#${id}`} />
        <ErrorNote error={loaded.error} title={`The ${what.toLowerCase()} could not be loaded`} />
      </div>
    );
  }
  if (!loaded.data) return <p role="status" className="page-status">Loading…</p>;
  return null;
}

/** Breadcrumb, the title (an EditableTitle or a heading), the page's actions and Delete. */
export function ResourceHeader(props: { list: ListRef; id: number; title: ReactNode; onDelete: () => void; children?: ReactNode }) {
  return (
    <>
      <Breadcrumb list={props.list} current={`#${props.id}`} />
      <div className="page-header">
        {props.title}
        <div className="row">
          {props.children}
          <button type="button" className="danger" onClick={props.onDelete}>
            Delete
          </button>
        </div>
      </div>
    </>
  );
}

/** `save(body, "The name")`: send a change, show the answer, toast the outcome; rethrows so
 * the field that sent it stays open on a failure. */
export function useSave<B, T>(send: (body: B) => Promise<T>, show: (answer: T) => void) {
  const notify = useNotify();
  return async (body: B, what: string) => {
    try {
      show(await send(body));
      notify.success(`${what} saved`);
    } catch (e) {
      notify.error(`${what} was not saved`, (e as Error).message);
      throw e;
    }
  };
}

export interface Deletion {
  /** "project", "cloud storage": the confirm's title and button, the toasts. */
  what: string;
  name: string;
  message: ReactNode;
  remove: () => Promise<unknown>;
  /** Where to go once it is gone. */
  then: string;
}

/** Ask, delete, toast, and leave the page of the deleted object. */
export function useDeleteResource(): (deletion: Deletion) => Promise<void> {
  const confirm = useConfirm();
  const notify = useNotify();
  const navigate = useNavigate();
  return async ({ what, name, message, remove, then }) => {
    const ok = await confirm({ title: `Delete ${what}`, message, confirmLabel: `Delete ${what}`, danger: true });
    if (!ok) return;
    try {
      await remove();
      notify.success(`${what[0].toUpperCase()}${what.slice(1)} "${name}" deleted`);
      navigate(then);
    } catch (e) {
      notify.error(`The ${what} was not deleted`, (e as Error).message);
    }
  };
}
