// Browsing a tree of files one level at a time (the server share, a cloud bucket) and
// picking files and whole directories. Picked entries are paths relative to the root,
// directories ending in '/', as the API's `server_files` takes them.

import { useEffect, useState } from "react";
import type { FileInfo } from "../api/types";
import { ErrorNote } from "./ui";
import { FileIcon, FolderIcon } from "./icons";

export interface Listing {
  content: FileInfo[];
  next: string | null;
}

interface Props {
  label: string;
  list: (directory: string, next?: string) => Promise<Listing>;
  /** Without these the browser only shows (no checkboxes). */
  selected?: string[];
  onChange?: (selected: string[]) => void;
}

export function FileBrowser({ label, list, selected, onChange }: Props) {
  const [dir, setDir] = useState("");
  const [entries, setEntries] = useState<FileInfo[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    let live = true;
    setLoading(true);
    setEntries([]);
    list(dir).then(
      (page) => {
        if (!live) return;
        setEntries(page.content);
        setNext(page.next);
        setError(null);
        setLoading(false);
      },
      (e: Error) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [dir, list]);

  const more = async () => {
    if (!next) return;
    try {
      const page = await list(dir, next);
      setEntries((all) => [...all, ...page.content]);
      setNext(page.next);
    } catch (e) {
      setError(e as Error);
    }
  };

  const pathOf = (e: FileInfo) => `${dir}${e.name}${e.type === "DIR" ? "/" : ""}`;
  const toggle = (path: string, on: boolean) =>
    onChange?.(on ? [...(selected ?? []).filter((p) => p !== path), path] : (selected ?? []).filter((p) => p !== path));
  const crumbs = dir.split("/").filter(Boolean);

  return (
    <div className="file-browser" role="group" aria-label={label}>
      <nav aria-label={`Folders of ${label}`} className="breadcrumb">
        <button type="button" className="link-button" onClick={() => setDir("")}>
          root
        </button>
        {crumbs.map((c, i) => (
          <span key={i}>
            {" / "}
            <button type="button" className="link-button" onClick={() => setDir(crumbs.slice(0, i + 1).join("/") + "/")}>
              {c}
            </button>
          </span>
        ))}
      </nav>
      <ErrorNote error={error} />
      {loading && <p role="status" className="muted">Loading…</p>}
      {!loading && !error && entries.length === 0 && <p className="muted">This folder is empty.</p>}
      <ul className="file-list">
        {entries.map((e) => {
          const path = pathOf(e);
          return (
            <li key={path}>
              {selected && (
                <label className="check">
                  <input type="checkbox" checked={selected.includes(path)} onChange={(ev) => toggle(path, ev.target.checked)} />
                  <span className="visually-hidden">Select {path}</span>
                </label>
              )}
              {e.type === "DIR" ? (
                <button type="button" className="link-button" onClick={() => setDir(path)} aria-label={`Open folder ${path}`}>
                  <FolderIcon /> {e.name}/
                </button>
              ) : (
                <span>
                  <FileIcon /> {e.name} <span className="muted small">{e.mime_type}</span>
                </span>
              )}
            </li>
          );
        })}
      </ul>
      {next && (
        <button type="button" onClick={more}>
          Show more
        </button>
      )}
      {selected && (
        <p className="muted small" aria-live="polite">
          {selected.length ? `Selected: ${selected.join(", ")}` : "Nothing selected yet."}
        </p>
      )}
    </div>
  );
}
