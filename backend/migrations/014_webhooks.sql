-- Webhooks (#8). `webhooks` is the read model of the `webhook-{id}` streams (the secret as
-- the Fernet token the events carry, never in clear). `webhook_objects` keeps the last state
-- of each project/task/job as the webhook projection saw it, for `before_update`.
-- `webhook_outbox` holds, in log order, every payload a webhook must receive; the delivery
-- loop moves each webhook's cursor past an entry only once it was delivered.
CREATE SEQUENCE IF NOT EXISTS webhook_ids;

CREATE TABLE IF NOT EXISTS webhooks (
    id           bigint      PRIMARY KEY,
    type         text        NOT NULL,
    project_id   bigint,
    owner_id     bigint,
    target_url   text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    content_type text        NOT NULL DEFAULT 'application/json',
    secret       text        NOT NULL DEFAULT '',
    enable_ssl   boolean     NOT NULL DEFAULT true,
    is_active    boolean     NOT NULL DEFAULT true,
    events       jsonb       NOT NULL DEFAULT '[]'::jsonb,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS webhooks_project ON webhooks (project_id);

CREATE TABLE IF NOT EXISTS webhook_objects (
    kind       text   NOT NULL,
    id         bigint NOT NULL,
    project_id bigint,
    data       jsonb  NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE TABLE IF NOT EXISTS webhook_outbox (
    webhook_id bigint      NOT NULL,
    position   bigint      NOT NULL,
    event      text        NOT NULL,
    payload    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (webhook_id, position, event)
);

-- One row per webhook: how far it was delivered and when the next try may happen.
CREATE TABLE IF NOT EXISTS webhook_cursors (
    webhook_id      bigint      PRIMARY KEY,
    position        bigint      NOT NULL DEFAULT 0,
    event           text        NOT NULL DEFAULT '',
    failures        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz
);

CREATE SEQUENCE IF NOT EXISTS webhook_delivery_ids;
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id            bigint      PRIMARY KEY DEFAULT nextval('webhook_delivery_ids'),
    webhook_id    bigint      NOT NULL,
    event         text        NOT NULL,
    position      bigint,
    status_code   integer,
    redelivery    boolean     NOT NULL DEFAULT false,
    request       jsonb       NOT NULL,
    response      text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
