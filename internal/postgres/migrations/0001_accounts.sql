-- OctoMesh's PostgreSQL schema, version 1: organisations, users,
-- memberships, API keys, the tamper-evident audit log, and the revision
-- counter behind the key cache's change feed. It mirrors internal/sqlite's
-- migrations 0001-0002 column for column. Times are unix nanoseconds in
-- BIGINT, 0 meaning "none", so both stores keep identical precision.

-- store_head is one row that every write transaction updates first: the row
-- lock serialises writers, so revisions (rev) are handed out in commit
-- order, and it holds the audit chain's head.
CREATE TABLE store_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    rev        BIGINT NOT NULL,
    audit_seq  BIGINT NOT NULL,
    audit_hash BYTEA  NOT NULL
);
INSERT INTO store_head (id, rev, audit_seq, audit_hash) VALUES (1, 0, 0, ''::bytea);

CREATE TABLE orgs (
    id            TEXT PRIMARY KEY,
    name          TEXT   NOT NULL,
    billing_email TEXT   NOT NULL DEFAULT '',
    settings      TEXT   NOT NULL DEFAULT '{}', -- JSON of octomesh.OrgSettings
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    rev           BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX orgs_rev ON orgs (rev);

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    org_id     TEXT   NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    email      TEXT   NOT NULL DEFAULT '', -- lower-case; '' for none
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX users_org_email ON users (org_id, email) WHERE email <> '';

CREATE TABLE memberships (
    org_id     TEXT   NOT NULL,
    user_id    TEXT   NOT NULL,
    role       TEXT   NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'billing', 'viewer')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);

-- Only the SHA-256 of a key and its visible prefix are stored.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    org_id      TEXT    NOT NULL,
    user_id     TEXT    NOT NULL DEFAULT '',
    project     TEXT    NOT NULL DEFAULT '',
    name        TEXT    NOT NULL,
    prefix      TEXT    NOT NULL,
    hash        BYTEA   NOT NULL UNIQUE,
    role        TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'billing', 'viewer')),
    platform    BOOLEAN NOT NULL DEFAULT false, -- an operator key
    scopes      TEXT    NOT NULL DEFAULT '{}', -- JSON of octomesh.KeyScopes
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL DEFAULT 0,
    revoked_at  BIGINT  NOT NULL DEFAULT 0,
    deleted_at  BIGINT  NOT NULL DEFAULT 0,
    replaced_by TEXT    NOT NULL DEFAULT '',
    rev         BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_org ON api_keys (org_id);
CREATE INDEX api_keys_user ON api_keys (org_id, user_id);
CREATE INDEX api_keys_rev ON api_keys (rev);

CREATE TABLE audit_log (
    seq           BIGINT PRIMARY KEY,
    time          BIGINT NOT NULL,
    org_id        TEXT   NOT NULL,
    actor_type    TEXT   NOT NULL,
    actor_key_id  TEXT   NOT NULL,
    actor_user_id TEXT   NOT NULL,
    actor_org_id  TEXT   NOT NULL,
    source        TEXT   NOT NULL,
    action        TEXT   NOT NULL,
    target        TEXT   NOT NULL,
    details       TEXT   NOT NULL, -- JSON object of strings
    prev_hash     BYTEA  NOT NULL,
    hash          BYTEA  NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, seq);

-- The log is append-only for the application; the hash chain detects what
-- someone with direct access to the database does anyway.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
