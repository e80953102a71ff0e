-- Read model of cloud storages (#6). `credentials` holds the Fernet token the events carry
-- (backend/cloud/credentials.py), never the plain values.
CREATE SEQUENCE IF NOT EXISTS cloud_storage_ids;

CREATE TABLE IF NOT EXISTS cloud_storages (
    id                  bigint      PRIMARY KEY,
    provider_type       text        NOT NULL,
    resource            text        NOT NULL,
    display_name        text        NOT NULL,
    owner_id            bigint,
    credentials_type    text        NOT NULL,
    credentials         text        NOT NULL DEFAULT '',
    specific_attributes text        NOT NULL DEFAULT '',
    description         text        NOT NULL DEFAULT '',
    manifests           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS cloud_storages_owner ON cloud_storages (owner_id);
