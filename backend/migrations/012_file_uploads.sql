-- Single-file uploads over CVAT's upload protocol (Upload-Start, TUS, Upload-Finish):
-- annotation and dataset imports, backup restores. One session per scope, the scope naming
-- what the upload is for and whose it is ('job:5:annotations:user:3'), so two users never
-- share one. The bytes live under data_dir/data/file_uploads/{session}/.
CREATE TABLE IF NOT EXISTS file_upload_sessions (
    scope      text        PRIMARY KEY,
    session    uuid        NOT NULL UNIQUE,
    owner_id   bigint      NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS file_uploads (
    id         uuid        PRIMARY KEY,
    session    uuid        NOT NULL REFERENCES file_upload_sessions (session) ON DELETE CASCADE,
    filename   text        NOT NULL,
    length     bigint      NOT NULL,
    "offset"   bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS file_uploads_session ON file_uploads (session);
