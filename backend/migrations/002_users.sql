-- Users: personal data lives here, keyed by id, never inside events (erasable).
CREATE TABLE IF NOT EXISTS users (
    id            bigint      PRIMARY KEY,
    username      text        NOT NULL UNIQUE,
    email         text        NOT NULL DEFAULT '',
    first_name    text        NOT NULL DEFAULT '',
    last_name     text        NOT NULL DEFAULT '',
    password_hash text        NOT NULL,
    is_superuser  boolean     NOT NULL DEFAULT false,
    is_staff      boolean     NOT NULL DEFAULT false,
    is_active     boolean     NOT NULL DEFAULT true,
    date_joined   timestamptz NOT NULL DEFAULT now(),
    last_login    timestamptz
);
CREATE SEQUENCE IF NOT EXISTS user_ids;
