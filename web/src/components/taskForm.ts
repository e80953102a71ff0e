// The create-task form's values -> the two requests that make a task: POST /api/tasks
// (name, project or labels, subset, segmentation) and the data parameters of
// POST /api/tasks/{id}/data/ (where the media come from and how they are cut).

import type { TaskWrite } from "../api/resources";
import type { DataParams } from "../api/upload";
import { createEdits, type LabelDraft } from "./labels/model";

export type Source = "local" | "share" | "remote" | "cloud";

export interface TaskForm {
  name: string;
  projectId: number | null;
  labels: LabelDraft[];
  subset: string;
  segmentSize: string;
  overlap: string;
  imageQuality: string;
  sortingMethod: string;
  chunkSize: string;
  startFrame: string;
  stopFrame: string;
  frameStep: string;
  useZipChunks: boolean;
  useCache: boolean;
  source: Source;
  files: File[];
  shareFiles: string[];
  remoteText: string;
  cloudStorageId: number | null;
  cloudFiles: string[];
}

export function emptyTaskForm(projectId: number | null = null): TaskForm {
  return {
    name: "", projectId, labels: [], subset: "", segmentSize: "", overlap: "", imageQuality: "70",
    sortingMethod: "lexicographical", chunkSize: "", startFrame: "", stopFrame: "", frameStep: "",
    useZipChunks: true, useCache: true, source: "local", files: [], shareFiles: [], remoteText: "",
    cloudStorageId: null, cloudFiles: [],
  };
}

const int = (text: string): number | undefined => (text.trim() === "" ? undefined : Number(text));

/** One URL per line; blank lines and surrounding spaces ignored. */
export function remoteUrls(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

export function taskBody(form: TaskForm): TaskWrite {
  const body: TaskWrite = { name: form.name.trim() };
  if (form.projectId !== null) body.project_id = form.projectId;
  else body.labels = createEdits(form.labels);
  if (form.subset.trim()) body.subset = form.subset.trim();
  const segment = int(form.segmentSize);
  if (segment) body.segment_size = segment;
  const overlap = int(form.overlap);
  if (overlap !== undefined) body.overlap = overlap;
  return body;
}

export function dataParams(form: TaskForm): DataParams {
  const params: DataParams = {
    image_quality: int(form.imageQuality) ?? 70,
    sorting_method: form.sortingMethod,
    use_zip_chunks: form.useZipChunks,
    use_cache: form.useCache,
  };
  const optional = { chunk_size: int(form.chunkSize), start_frame: int(form.startFrame), stop_frame: int(form.stopFrame) };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (params as unknown as Record<string, number>)[k] = v;
  const step = int(form.frameStep);
  if (step && step > 1) params.frame_filter = `step=${step}`;
  if (form.source === "share") {
    params.server_files = form.shareFiles;
    params.storage = "share";
  } else if (form.source === "remote") {
    params.remote_files = remoteUrls(form.remoteText);
  } else if (form.source === "cloud" && form.cloudStorageId !== null) {
    params.cloud_storage_id = form.cloudStorageId;
    params.server_files = form.cloudFiles;
    params.storage = "cloud_storage";
  }
  return params;
}

/** What keeps the form from being sent, in words (empty when it can go). */
export function formProblems(form: TaskForm, labelProblems: string[]): string[] {
  const out: string[] = [];
  if (!form.name.trim()) out.push("The task needs a name.");
  if (form.projectId === null) {
    if (!form.labels.length) out.push("Add at least one label, or choose a project.");
    out.push(...labelProblems);
  }
  const q = Number(form.imageQuality);
  if (!Number.isInteger(q) || q < 0 || q > 100) out.push("Image quality is a whole number from 0 to 100.");
  for (const [text, what] of [
    [form.segmentSize, "Segment size"], [form.chunkSize, "Chunk size"], [form.frameStep, "Frame step"],
  ] as const) {
    if (text.trim() && !(Number.isInteger(Number(text)) && Number(text) >= 1)) out.push(`${what} is a whole number from 1.`);
  }
  for (const [text, what] of [[form.startFrame, "Start frame"], [form.stopFrame, "Stop frame"], [form.overlap, "Overlap"]] as const) {
    if (text.trim() && !(Number.isInteger(Number(text)) && Number(text) >= 0)) out.push(`${what} is a whole number from 0.`);
  }
  const sources: Record<Source, [number, string]> = {
    local: [form.files.length, "Choose the files to upload."],
    share: [form.shareFiles.length, "Select files or folders of the server share."],
    remote: [remoteUrls(form.remoteText).length, "Give at least one URL."],
    cloud: [form.cloudStorageId !== null ? form.cloudFiles.length : 0, "Choose a cloud storage and its files."],
  };
  const [count, message] = sources[form.source];
  if (!count) out.push(message);
  if (form.source === "remote") {
    const bad = remoteUrls(form.remoteText).filter((u) => !/^https?:\/\/\S+$/i.test(u));
    if (bad.length) out.push(`Not an http(s) URL: ${bad[0]}`);
  }
  return out;
}
