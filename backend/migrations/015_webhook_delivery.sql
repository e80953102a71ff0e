-- Webhook delivery, second step (#8).
-- One log event can give a webhook several payloads (deleting a task sends delete:comment,
-- delete:issue, delete:job for what it held, then delete:task): outbox entries and the
-- cursor are ordered by (position, seq).
ALTER TABLE webhook_outbox ADD COLUMN IF NOT EXISTS seq integer NOT NULL DEFAULT 0;
ALTER TABLE webhook_outbox DROP CONSTRAINT IF EXISTS webhook_outbox_pkey;
ALTER TABLE webhook_outbox ADD PRIMARY KEY (webhook_id, position, seq);
ALTER TABLE webhook_cursors ADD COLUMN IF NOT EXISTS seq integer NOT NULL DEFAULT 0;

-- Payloads are now the objects as the API shows them (read from the read models), so the
-- projection's own copy of each object is gone. `webhook_snapshots` holds, for the event
-- being projected, the objects as they were just before it (for before_update and for the
-- payloads of deletions); rows live from one projector step to the next.
DROP TABLE IF EXISTS webhook_objects;
CREATE TABLE IF NOT EXISTS webhook_snapshots (
    position   bigint  NOT NULL,
    seq        integer NOT NULL,
    kind       text    NOT NULL,
    id         bigint  NOT NULL,
    project_id bigint,
    data       jsonb   NOT NULL,
    PRIMARY KEY (position, seq)
);

-- Redeliveries asked for through the API, sent by the delivery loop (not in the request).
CREATE TABLE IF NOT EXISTS webhook_redeliveries (
    id              bigserial   PRIMARY KEY,
    webhook_id      bigint      NOT NULL,
    event           text        NOT NULL,
    payload         jsonb       NOT NULL,
    failures        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL
);
