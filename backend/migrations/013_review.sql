-- Read models of review issues and their comments (#8), projected from the job streams
-- (backend/projections/review.py). Ids come from these sequences before the event exists.
CREATE SEQUENCE IF NOT EXISTS issue_ids;
CREATE SEQUENCE IF NOT EXISTS comment_ids;

CREATE TABLE IF NOT EXISTS issues (
    id          bigint      PRIMARY KEY,
    job_id      bigint      NOT NULL,
    frame       integer     NOT NULL,
    position    jsonb       NOT NULL,
    owner_id    bigint,
    assignee_id bigint,
    resolved    boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS issues_job ON issues (job_id, frame);

CREATE TABLE IF NOT EXISTS comments (
    id         bigint      PRIMARY KEY,
    issue_id   bigint      NOT NULL,
    job_id     bigint      NOT NULL,
    owner_id   bigint,
    message    text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS comments_issue ON comments (issue_id);
