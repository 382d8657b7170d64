-- API keys: only the SHA-256 of a key and its visible prefix are stored.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    name       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    admin      INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,           -- unix nanoseconds
    expires_at INTEGER NOT NULL DEFAULT 0, -- 0: never
    revoked_at INTEGER NOT NULL DEFAULT 0  -- 0: active
);
CREATE INDEX api_keys_org ON api_keys (org_id);
