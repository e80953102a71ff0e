// Small shared pieces: progress bar, error and empty states, how users and dates read.

import type { ReactNode } from "react";
import type { UserSummary } from "../api/types";

export function ProgressBar({ value, label }: { value: number | null; label: string }) {
  const known = value !== null;
  return (
    <div
      className={`progress${known ? "" : " progress-indeterminate"}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={known ? Math.round(value) : undefined}
      aria-valuetext={known ? `${Math.round(value)}%` : "working"}
    >
      <div className="progress-fill" style={known ? { width: `${value}%` } : undefined} />
    </div>
  );
}

export function ErrorNote({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="error-note" role="alert">
      {title && <strong>{title}: </strong>}
      {message}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function userName(user: UserSummary | null | undefined): string {
  if (!user) return "—";
  const full = `${user.first_name} ${user.last_name}`.trim();
  return full ? `${full} (${user.username})` : user.username;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFormat.format(d);
}

export function StatusBadge({ value }: { value: string }) {
  return <span className={`badge badge-${value.replace(/\s+/g, "-")}`}>{value}</span>;
}
