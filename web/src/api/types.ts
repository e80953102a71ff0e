// The REST API's shapes as the UI reads them (CVAT's *Read models, the fields the UI uses).

export interface Paginated<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface UserSummary {
  id: number;
  username: string;
  first_name: string;
  last_name: string;
  url: string;
}

export interface User extends UserSummary {
  email?: string;
  groups?: string[];
  is_staff?: boolean;
  is_superuser?: boolean;
}

export interface Summary {
  url: string;
  count: number;
}

export interface Project {
  id: number;
  name: string;
  owner: UserSummary | null;
  assignee: UserSummary | null;
  bug_tracker: string;
  tasks: Summary;
  task_subsets: string[];
  created_date: string;
  updated_date: string;
  status: string;
}

export type TaskStatus = "annotation" | "validation" | "completed";

export interface Task {
  id: number;
  name: string;
  project_id: number | null;
  mode: string;
  owner: UserSummary | null;
  assignee: UserSummary | null;
  bug_tracker: string;
  created_date: string;
  updated_date: string;
  overlap: number | null;
  segment_size: number;
  status: TaskStatus;
  jobs: { count: number; completed: number | null; validation: number | null; url: string };
  size: number;
  image_quality: number;
  data: number | null;
  dimension: string;
  subset: string;
}

export const JOB_STAGES = ["annotation", "validation", "acceptance"] as const;
export const JOB_STATES = ["new", "in progress", "rejected", "completed"] as const;
export type JobStage = (typeof JOB_STAGES)[number];
export type JobState = (typeof JOB_STATES)[number];

export interface Job {
  id: number;
  task_id: number;
  project_id: number | null;
  assignee: UserSummary | null;
  stage: JobStage;
  state: JobState;
  type: string;
  mode: string;
  frame_count: number;
  start_frame: number;
  stop_frame: number;
  dimension: string;
  created_date: string;
  updated_date: string;
  issues: Summary;
}

export const INPUT_TYPES = ["select", "radio", "checkbox", "number", "text"] as const;
export type InputType = (typeof INPUT_TYPES)[number];

export const LABEL_TYPES = [
  "any", "rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton",
  "tag",
] as const;
export type LabelType = (typeof LABEL_TYPES)[number];

export interface Attribute {
  id: number;
  name: string;
  mutable: boolean;
  input_type: InputType;
  values: string[];
  default_value: string;
}

export interface Label {
  id: number;
  name: string;
  color: string;
  type: LabelType;
  svg: string;
  attributes: Attribute[];
  sublabels: Label[];
  project_id: number | null;
  task_id: number | null;
  parent_id: number | null;
  has_parent: boolean;
}

/** What POST/PATCH of a project or task takes in `labels` (CVAT's PatchedLabelRequest). */
export interface AttributeEdit {
  id?: number;
  name: string;
  mutable: boolean;
  input_type: InputType;
  values: string[];
  default_value: string;
}

export interface LabelEdit {
  id?: number;
  name?: string;
  color?: string;
  type?: LabelType;
  attributes?: AttributeEdit[];
  sublabels?: LabelEdit[];
  svg?: string;
  deleted?: boolean;
}

export type RequestStatus = "queued" | "started" | "failed" | "finished";

export interface BackgroundRequest {
  id: string;
  status: RequestStatus;
  message: string;
  progress: number | null;
  operation: {
    type: string;
    target: string;
    task_id: number | null;
    project_id: number | null;
    job_id: number | null;
    format: string | null;
  };
  created_date: string;
  started_date: string | null;
  finished_date: string | null;
  owner: { id: number; username: string } | null;
  result_url: string | null;
  result_id: number | null;
}

export interface FormatInfo {
  name: string;
  ext: string;
  version: string;
  enabled: boolean;
  dimension: string;
}

export interface Formats {
  importers: FormatInfo[];
  exporters: FormatInfo[];
}

export interface FileInfo {
  name: string;
  type: "REG" | "DIR";
  mime_type: string;
}

export interface CloudStorage {
  id: number;
  display_name: string;
  provider_type: string;
  resource: string;
  manifests: string[];
  owner: UserSummary | null;
  description: string;
  created_date: string;
  credentials_type: string;
  specific_attributes: string;
}

/** POST / PATCH /api/cloudstorages (credentials are write-only). */
export interface CloudStorageWrite {
  provider_type?: "AWS_S3_BUCKET";
  display_name?: string;
  resource?: string;
  credentials_type?: "KEY_SECRET_KEY_PAIR" | "ANONYMOUS_ACCESS";
  key?: string;
  secret_key?: string;
  session_token?: string;
  specific_attributes?: string;
  description?: string;
  manifests?: string[];
}

/** GET /api/cloudstorages/{id}/status. */
export type CloudStatus = "AVAILABLE" | "NOT_FOUND" | "FORBIDDEN";

export interface CloudContent {
  content: FileInfo[];
  next: string | null;
}
