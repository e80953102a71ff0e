-- Projector checkpoints: updated in the same transaction as the read model they describe.
CREATE TABLE IF NOT EXISTS projector_checkpoints (
    name     text   PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0
);

-- Read model: jobs (what job lists and details are served from).
CREATE TABLE IF NOT EXISTS jobs (
    id          bigint      PRIMARY KEY,
    task_id     bigint      NOT NULL,
    start_frame integer     NOT NULL,
    stop_frame  integer     NOT NULL,
    frames      jsonb,
    revision    bigint      NOT NULL,  -- last revision of the job stream
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_task ON jobs (task_id);

-- Read model: one row per annotation object of a job (what GET annotations serves).
-- `data` is the object in CVAT's JSON shape.
CREATE TABLE IF NOT EXISTS job_objects (
    job_id    bigint  NOT NULL,
    kind      text    NOT NULL,  -- shape | track | tag
    object_id bigint  NOT NULL,
    frame     integer NOT NULL,
    data      jsonb   NOT NULL,
    PRIMARY KEY (job_id, kind, object_id)
);
