// Typed calls of the REST API the management pages use (all through client.ts's `api`).

import { api } from "./client";
import type {
  BackgroundRequest,
  CloudContent,
  CloudStatus,
  CloudStorage,
  CloudStorageWrite,
  FileInfo,
  Formats,
  Job,
  JobStage,
  JobState,
  Label,
  LabelEdit,
  Paginated,
  Project,
  Task,
  User,
} from "./types";

const q = (params: Record<string, string | number | boolean | undefined>): string => {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") out.set(k, String(v));
  const text = out.toString();
  return text ? `?${text}` : "";
};

// --- auth ---------------------------------------------------------------------------------

export const auth = {
  self: () => api<User>("GET", "/api/users/self"),
  login: (username: string, password: string) =>
    api<{ key: string }>("POST", "/api/auth/login", { username, password }),
  logout: () => api("POST", "/api/auth/logout"),
  register: (body: {
    username: string;
    email: string;
    password1: string;
    password2: string;
    first_name: string;
    last_name: string;
  }) => api("POST", "/api/auth/register", body),
};

export const users = {
  list: (search = "", pageSize = 100) =>
    api<Paginated<User>>("GET", `/api/users${q({ search, page_size: pageSize, sort: "username" })}`),
};

// --- projects, tasks, jobs, labels ---------------------------------------------------------

export interface ProjectWrite {
  name?: string;
  labels?: LabelEdit[];
  assignee_id?: number | null;
  bug_tracker?: string;
}

export const projects = {
  list: (query: string) => api<Paginated<Project>>("GET", `/api/projects${query}`),
  get: (id: number) => api<Project>("GET", `/api/projects/${id}`),
  create: (body: ProjectWrite) => api<Project>("POST", "/api/projects", body),
  update: (id: number, body: ProjectWrite) => api<Project>("PATCH", `/api/projects/${id}`, body),
  remove: (id: number) => api("DELETE", `/api/projects/${id}`),
  exportDataset: (id: number, format: string, saveImages: boolean) =>
    api<{ rq_id: string }>(
      "POST",
      `/api/projects/${id}/dataset/export${q({ format, save_images: saveImages })}`,
    ),
  backup: (id: number) => api<{ rq_id: string }>("POST", `/api/projects/${id}/backup/export`),
};

export interface TaskWrite {
  name?: string;
  project_id?: number | null;
  labels?: LabelEdit[];
  assignee_id?: number | null;
  bug_tracker?: string;
  subset?: string;
  segment_size?: number;
  overlap?: number;
}

export const tasks = {
  list: (query: string) => api<Paginated<Task>>("GET", `/api/tasks${query}`),
  get: (id: number) => api<Task>("GET", `/api/tasks/${id}`),
  create: (body: TaskWrite) => api<Task>("POST", "/api/tasks", body),
  update: (id: number, body: TaskWrite) => api<Task>("PATCH", `/api/tasks/${id}`, body),
  remove: (id: number) => api("DELETE", `/api/tasks/${id}`),
  exportDataset: (id: number, format: string, saveImages: boolean) =>
    api<{ rq_id: string }>(
      "POST",
      `/api/tasks/${id}/dataset/export${q({ format, save_images: saveImages })}`,
    ),
  backup: (id: number) => api<{ rq_id: string }>("POST", `/api/tasks/${id}/backup/export`),
  previewUrl: (id: number) => `/api/tasks/${id}/preview`,
};

export interface JobWrite {
  assignee?: number | null;
  stage?: JobStage;
  state?: JobState;
}

export const jobs = {
  list: (query: string) => api<Paginated<Job>>("GET", `/api/jobs${query}`),
  get: (id: number) => api<Job>("GET", `/api/jobs/${id}`),
  update: (id: number, body: JobWrite) => api<Job>("PATCH", `/api/jobs/${id}`, body),
};

export const labels = {
  of: (owner: { project_id: number } | { task_id: number }) =>
    api<Paginated<Label>>("GET", `/api/labels${q({ ...owner, page_size: "all" })}`).then(
      (page) => page.results,
    ),
};

// --- server, requests, storages ------------------------------------------------------------

export const server = {
  formats: () => api<Formats>("GET", "/api/server/annotation/formats"),
  share: (directory: string) => api<FileInfo[]>("GET", `/api/server/share${q({ directory })}`),
};

export const requests = {
  get: (id: string) => api<BackgroundRequest>("GET", `/api/requests/${encodeURIComponent(id)}`),
  list: (query: string) => api<Paginated<BackgroundRequest>>("GET", `/api/requests${query}`),
  cancel: (id: string) => api("POST", `/api/requests/${encodeURIComponent(id)}/cancel`),
};

export const cloudStorages = {
  list: (query = "?page_size=100") => api<Paginated<CloudStorage>>("GET", `/api/cloudstorages${query}`),
  get: (id: number) => api<CloudStorage>("GET", `/api/cloudstorages/${id}`),
  create: (body: CloudStorageWrite) => api<CloudStorage>("POST", "/api/cloudstorages", body),
  update: (id: number, body: CloudStorageWrite) => api<CloudStorage>("PATCH", `/api/cloudstorages/${id}`, body),
  remove: (id: number) => api("DELETE", `/api/cloudstorages/${id}`),
  status: (id: number) => api<CloudStatus>("GET", `/api/cloudstorages/${id}/status`),
  content: (id: number, prefix: string, nextToken?: string) =>
    api<CloudContent>(
      "GET",
      `/api/cloudstorages/${id}/content-v2${q({ prefix, next_token: nextToken })}`,
    ),
};
