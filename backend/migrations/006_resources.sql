-- Read models for projects, tasks, labels and the workflow fields of jobs (#4).
CREATE SEQUENCE IF NOT EXISTS project_ids;
CREATE SEQUENCE IF NOT EXISTS task_ids;
CREATE SEQUENCE IF NOT EXISTS job_ids;
CREATE SEQUENCE IF NOT EXISTS label_ids;

CREATE TABLE IF NOT EXISTS projects (
    id                  bigint      PRIMARY KEY,
    name                text        NOT NULL,
    owner_id            bigint,
    assignee_id         bigint,
    bug_tracker         text        NOT NULL DEFAULT '',
    source_storage      jsonb,
    target_storage      jsonb,
    assignee_updated_at timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS tasks (
    id                  bigint      PRIMARY KEY,
    name                text        NOT NULL,
    project_id          bigint,
    owner_id            bigint,
    assignee_id         bigint,
    bug_tracker         text        NOT NULL DEFAULT '',
    subset              text        NOT NULL DEFAULT '',
    segment_size        integer     NOT NULL DEFAULT 0,
    overlap             integer,
    mode                text        NOT NULL DEFAULT '',
    size                integer     NOT NULL DEFAULT 0,
    image_quality       integer     NOT NULL DEFAULT 70,
    data_chunk_size     integer,
    data                jsonb,      -- the TaskData event payload: frames, chunking, sorting
    source_storage      jsonb,
    target_storage      jsonb,
    assignee_updated_at timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_project ON tasks (project_id);

CREATE TABLE IF NOT EXISTS labels (
    id         bigint  PRIMARY KEY,
    project_id bigint,
    task_id    bigint,
    parent_id  bigint,
    position   integer NOT NULL,
    name       text    NOT NULL,
    color      text    NOT NULL DEFAULT '',
    type       text    NOT NULL DEFAULT 'any',
    svg        text    NOT NULL DEFAULT '',
    attributes jsonb   NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX IF NOT EXISTS labels_task ON labels (task_id);
CREATE INDEX IF NOT EXISTS labels_project ON labels (project_id);

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS stage text NOT NULL DEFAULT 'annotation';
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'new';
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS assignee_id bigint;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS assignee_updated_at timestamptz;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS type text NOT NULL DEFAULT 'annotation';
CREATE INDEX IF NOT EXISTS jobs_assignee ON jobs (assignee_id);
