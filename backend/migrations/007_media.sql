-- Background requests (CVAT's /api/requests): operational state of long work, like
-- CVAT's RQ jobs. The results themselves (task data, imports) are recorded as events.
CREATE TABLE IF NOT EXISTS requests (
    id               uuid        PRIMARY KEY,
    owner_id         bigint      NOT NULL,
    status           text        NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'started', 'failed', 'finished')),
    message          text        NOT NULL DEFAULT '',
    progress         double precision,
    operation        jsonb       NOT NULL,  -- {type, target, task_id, project_id, job_id, format, function_id}
    params           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    cancel_requested boolean     NOT NULL DEFAULT false,
    result_url       text,
    result_id        bigint,
    created_date     timestamptz NOT NULL DEFAULT now(),
    started_date     timestamptz,
    finished_date    timestamptz,
    expiry_date      timestamptz
);
CREATE INDEX IF NOT EXISTS requests_owner ON requests (owner_id, created_date DESC);
CREATE INDEX IF NOT EXISTS requests_task ON requests (((operation ->> 'task_id')::bigint));

-- Task data upload sessions: what a client has sent since its last Upload-Start.
-- The bytes live under data_dir/data/tasks/{task_id}/uploads/{session}/.
CREATE TABLE IF NOT EXISTS upload_sessions (
    task_id    bigint      PRIMARY KEY,
    session    uuid        NOT NULL UNIQUE,
    owner_id   bigint      NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE IF NOT EXISTS upload_file_seq;
CREATE TABLE IF NOT EXISTS upload_files (
    session   uuid   NOT NULL REFERENCES upload_sessions (session) ON DELETE CASCADE,
    name      text   NOT NULL,  -- the client's file name (basename)
    disk_name text   NOT NULL,  -- generated; client names never choose paths
    kind      text   NOT NULL CHECK (kind IN ('image', 'archive')),
    size      bigint NOT NULL,
    seq       bigint NOT NULL DEFAULT nextval('upload_file_seq'),
    PRIMARY KEY (session, name)
);
CREATE TABLE IF NOT EXISTS tus_uploads (
    id         uuid        PRIMARY KEY,
    session    uuid        NOT NULL REFERENCES upload_sessions (session) ON DELETE CASCADE,
    task_id    bigint      NOT NULL,
    filename   text        NOT NULL,
    length     bigint      NOT NULL,
    "offset"   bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
