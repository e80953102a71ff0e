// Uploads with progress. fetch() cannot report upload progress, so file bodies go through
// XMLHttpRequest (same cookies, the same CSRF header and ApiError as client.ts).
//
// Task data follows CVAT's upload protocol (backend/api/task_data.py): Upload-Start, the
// files in multipart batches (Upload-Multiple) of at most MAX_BATCH_BYTES, a file too large
// for a batch over TUS in MAX_TUS_CHUNK pieces, then Upload-Finish with the data
// parameters, answered by {rq_id} of the background request that builds the task's data.
//
// A single file (annotation or dataset import, backup restore) goes as cvat-sdk sends it
// (backend/api/file_upload.py): Upload-Start, the file over TUS, Upload-Finish with
// ?filename=, answered by {rq_id}; so no request carries more than one TUS chunk.

import { ApiError, UNAUTHORIZED, api, cookie, errorMessage } from "./client";

export const MAX_BATCH_BYTES = 64 * 2 ** 20; // below the server's 100 MiB per request
export const MAX_BATCH_FILES = 500;
export const MAX_TUS_CHUNK = 8 * 2 ** 20; // below the server's 10 MiB per PATCH
export const MIN_TUS_CHUNK = 1024;
/** localStorage key: a smaller TUS chunk in bytes, for a proxy in front of the server that
 * refuses bodies of 8 MiB (README, "Browser UI"); the tests use it to make small files
 * travel in several chunks. */
export const CHUNK_SETTING = "vellum.uploadChunkBytes";

/** The TUS chunk size for the setting's text: MAX_TUS_CHUNK unless a whole number of bytes
 * asks for less (never below MIN_TUS_CHUNK). */
export function chunkSize(setting: string | null | undefined): number {
  const asked = Number(setting);
  if (!setting || !Number.isInteger(asked) || asked <= 0) return MAX_TUS_CHUNK;
  return Math.min(MAX_TUS_CHUNK, Math.max(MIN_TUS_CHUNK, asked));
}

function tusChunk(): number {
  try {
    return chunkSize(window.localStorage.getItem(CHUNK_SETTING));
  } catch {
    return MAX_TUS_CHUNK; // storage refused (privacy settings): the default
  }
}

export interface XhrResult {
  status: number;
  body: unknown;
  header: (name: string) => string | null;
}

export interface XhrOptions {
  headers?: Record<string, string>;
  onProgress?: (loaded: number) => void;
  signal?: AbortSignal;
}

/** One request through XMLHttpRequest; resolves on 2xx, rejects with ApiError otherwise. */
export function xhr(
  method: string,
  url: string,
  body: XMLHttpRequestBodyInit | null,
  options: XhrOptions = {},
): Promise<XhrResult> {
  return new Promise((resolve, reject) => {
    const req = new XMLHttpRequest();
    req.open(method, url);
    req.withCredentials = true;
    const csrf = cookie("csrftoken");
    if (csrf) req.setRequestHeader("X-CSRFToken", csrf);
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      req.setRequestHeader(name, value);
    }
    if (options.onProgress) {
      const report = options.onProgress;
      req.upload.onprogress = (e) => report(e.loaded);
    }
    const abort = () => req.abort();
    options.signal?.addEventListener("abort", abort, { once: true });
    req.onload = () => {
      options.signal?.removeEventListener("abort", abort);
      let parsed: unknown = req.responseText;
      if ((req.getResponseHeader("content-type") ?? "").includes("json") && req.responseText) {
        try {
          parsed = JSON.parse(req.responseText);
        } catch {
          parsed = req.responseText;
        }
      }
      const result = { status: req.status, body: parsed, header: (n: string) => req.getResponseHeader(n) };
      if (req.status >= 200 && req.status < 300) resolve(result);
      else {
        if (req.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED)); // as api() does
        reject(new ApiError(req.status, errorMessage(parsed, req.status), parsed));
      }
    };
    req.onerror = () => reject(new ApiError(0, "The upload failed: the server could not be reached.", null));
    req.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    req.send(body);
  });
}

export interface Sized {
  size: number;
}

export interface UploadPlan {
  /** Indexes of the files sent together in one multipart request. */
  batches: number[][];
  /** Indexes of the files sent alone over TUS (too large for a batch). */
  tus: number[];
}

/** Group files into multipart batches in their order; files above the batch limit go over TUS. */
export function planUpload(
  files: readonly Sized[],
  maxBytes = MAX_BATCH_BYTES,
  maxFiles = MAX_BATCH_FILES,
): UploadPlan {
  const plan: UploadPlan = { batches: [], tus: [] };
  let current: number[] = [];
  let bytes = 0;
  files.forEach((file, index) => {
    if (file.size > maxBytes) {
      plan.tus.push(index);
      return;
    }
    if (current.length && (bytes + file.size > maxBytes || current.length >= maxFiles)) {
      plan.batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(index);
    bytes += file.size;
  });
  if (current.length) plan.batches.push(current);
  return plan;
}

/** TUS Upload-Metadata: `key base64(value)` pairs. */
export function tusMetadata(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${btoa(String.fromCharCode(...new TextEncoder().encode(v)))}`)
    .join(",");
}

/** The path of an absolute URL the server built from the request (Location, result_url). */
export function localPath(url: string): string {
  try {
    const parsed = new URL(url, window.location.origin);
    return parsed.pathname + parsed.search;
  } catch {
    return url;
  }
}

/** One file over TUS on `collection`; returns the server's name for it (Upload-Filename). */
async function tusUpload(
  collection: string,
  file: File,
  onProgress: (loaded: number) => void,
  signal?: AbortSignal,
): Promise<string> {
  const created = await xhr("POST", collection, null, {
    headers: {
      "Tus-Resumable": "1.0.0",
      "Upload-Length": String(file.size),
      "Upload-Metadata": tusMetadata({ filename: file.name, filetype: file.type }),
    },
    signal,
  });
  const location = created.header("Location");
  if (!location) throw new ApiError(created.status, "The server gave no upload location.", null);
  const target = localPath(location);
  const chunk = tusChunk();
  let offset = 0;
  while (offset < file.size) {
    const piece = file.slice(offset, offset + chunk);
    const start = offset;
    const res = await xhr("PATCH", target, piece, {
      headers: {
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": String(offset),
        "Content-Type": "application/offset+octet-stream",
      },
      onProgress: (loaded) => onProgress(start + loaded),
      signal,
    });
    offset = Number(res.header("Upload-Offset") ?? offset + piece.size);
    onProgress(offset);
  }
  return created.header("Upload-Filename") ?? file.name;
}

export interface DataParams {
  image_quality: number;
  sorting_method?: string;
  chunk_size?: number;
  start_frame?: number;
  stop_frame?: number;
  frame_filter?: string;
  use_zip_chunks?: boolean;
  use_cache?: boolean;
  server_files?: string[];
  remote_files?: string[];
  cloud_storage_id?: number;
  storage?: "local" | "share" | "cloud_storage";
}

/** Send the task's files and parameters; returns the rq_id of the creation request.
 * `onProgress(loaded, total)` reports bytes sent over all files. */
export async function uploadTaskData(
  taskId: number,
  files: File[],
  params: DataParams,
  onProgress: (loaded: number, total: number) => void = () => {},
  signal?: AbortSignal,
): Promise<string> {
  const collection = `/api/tasks/${taskId}/data/`;
  if (files.length) {
    const total = files.reduce((sum, f) => sum + f.size, 0);
    let done = 0;
    onProgress(0, total);
    await api("POST", collection, undefined, { headers: { "Upload-Start": "" }, signal });
    const plan = planUpload(files);
    for (const batch of plan.batches) {
      const form = new FormData();
      batch.forEach((index, i) => form.append(`client_files[${i}]`, files[index], files[index].name));
      const size = batch.reduce((sum, index) => sum + files[index].size, 0);
      const before = done;
      await xhr("POST", collection, form, {
        headers: { "Upload-Multiple": "" },
        // The multipart body is a little larger than the files: clamp to this batch.
        onProgress: (loaded) => onProgress(before + Math.min(loaded, size), total),
        signal,
      });
      done += size;
      onProgress(done, total);
    }
    for (const index of plan.tus) {
      const before = done;
      await tusUpload(collection, files[index], (loaded) => onProgress(before + loaded, total), signal);
      done += files[index].size;
      onProgress(done, total);
    }
  }
  const answer = await api<{ rq_id: string }>("POST", collection, params, {
    headers: files.length ? { "Upload-Finish": "" } : {},
    signal,
  });
  return answer.rq_id;
}

/** A single file to an import endpoint (annotations, datasets, backups) over the upload
 * protocol; `query` is the endpoint's (format, ...). Returns the rq_id of the work. */
export async function uploadFile(
  collection: string,
  query: Record<string, string>,
  file: File,
  onProgress: (loaded: number, total: number) => void = () => {},
  signal?: AbortSignal,
): Promise<string> {
  const url = (params: Record<string, string>) => `${collection}?${new URLSearchParams(params).toString()}`;
  onProgress(0, file.size);
  await api("POST", url(query), undefined, { headers: { "Upload-Start": "" }, signal });
  const filename = await tusUpload(collection, file, (loaded) => onProgress(loaded, file.size), signal);
  const answer = await api<{ rq_id: string }>("POST", url({ ...query, filename }), undefined, {
    headers: { "Upload-Finish": "" },
    signal,
  });
  return answer.rq_id;
}
