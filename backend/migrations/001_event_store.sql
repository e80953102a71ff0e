-- The event store: one global log, per-stream revisions, idempotent event ids.
CREATE TABLE IF NOT EXISTS events (
    position    bigint      PRIMARY KEY,
    stream_id   text        NOT NULL,
    revision    bigint      NOT NULL,
    event_id    uuid        NOT NULL UNIQUE,
    type        text        NOT NULL,
    version     integer     NOT NULL,
    data        bytea       NOT NULL,
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (stream_id, revision)
);
CREATE INDEX IF NOT EXISTS events_recorded_at ON events (recorded_at);

CREATE TABLE IF NOT EXISTS snapshots (
    stream_id  text        PRIMARY KEY,
    revision   bigint      NOT NULL,
    type       text        NOT NULL,
    version    integer     NOT NULL,
    data       bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Integer ids for CVAT-compatible resources, allocated before deciding.
CREATE SEQUENCE IF NOT EXISTS annotation_ids;
CREATE SEQUENCE IF NOT EXISTS resource_ids;
