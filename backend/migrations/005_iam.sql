-- IAM (#4): system roles, browser sessions (+ the legacy `Token` key login returns) and
-- personal access tokens. Secrets are never stored: only SHA-256 digests of random keys
-- (high-entropy keys need no slow KDF; passwords use argon2 in users.password_hash).

ALTER TABLE users ADD COLUMN IF NOT EXISTS role text NOT NULL DEFAULT 'user';
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'user', 'worker'));
UPDATE users SET role = 'admin' WHERE is_superuser;
CREATE INDEX IF NOT EXISTS users_email_lower ON users (lower(email)) WHERE email <> '';

CREATE TABLE IF NOT EXISTS sessions (
    key_hash   bytea       PRIMARY KEY,       -- sha256 of the `sessionid` cookie
    csrf_hash  bytea       NOT NULL,          -- sha256 of the `csrftoken` cookie it was issued with
    token_hash bytea       NOT NULL UNIQUE,   -- sha256 of the legacy `Token` key login returned
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_at);

CREATE SEQUENCE IF NOT EXISTS access_token_ids;
CREATE TABLE IF NOT EXISTS access_tokens (
    id             bigint      PRIMARY KEY DEFAULT nextval('access_token_ids'),
    key_hash       bytea       NOT NULL UNIQUE,  -- sha256 of the token value (shown once)
    owner_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           text        NOT NULL,
    read_only      boolean     NOT NULL DEFAULT false,
    created_date   timestamptz NOT NULL DEFAULT now(),
    updated_date   timestamptz NOT NULL DEFAULT now(),
    expiry_date    timestamptz,
    last_used_date timestamptz,
    revoked        boolean     NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS access_tokens_owner ON access_tokens (owner_id);
