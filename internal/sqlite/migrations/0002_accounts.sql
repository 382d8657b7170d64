-- Organisations, users, memberships, key scopes and ownership, the
-- tamper-evident audit log, and the revision counter behind the key
-- cache's change feed. Times are unix nanoseconds, 0 meaning "none".

-- store_head is one row that every write transaction updates first: it
-- serialises writers, hands out revisions in commit order (rev) and holds
-- the audit chain's head (the last entry's seq and hash).
CREATE TABLE store_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    rev        INTEGER NOT NULL,
    audit_seq  INTEGER NOT NULL,
    audit_hash BLOB    NOT NULL
);
INSERT INTO store_head (id, rev, audit_seq, audit_hash) VALUES (1, 0, 0, x'');

CREATE TABLE orgs (
    id            TEXT PRIMARY KEY,
    name          TEXT    NOT NULL,
    billing_email TEXT    NOT NULL DEFAULT '',
    settings      TEXT    NOT NULL DEFAULT '{}', -- JSON of octomesh.OrgSettings
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    rev           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX orgs_rev ON orgs (rev);

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    org_id     TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL DEFAULT '', -- lower-case; '' for none
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX users_org_email ON users (org_id, email) WHERE email <> '';

-- A membership's user must belong to the membership's organisation: the
-- composite foreign key makes that a database invariant.
CREATE TABLE memberships (
    org_id     TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'billing', 'viewer')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);

-- api_keys (0001) gains ownership, a role and scopes. The 0001 column
-- "admin" now means "operator key" (octomesh.APIKey.Platform): the only
-- admin keys 0001 could hold were bootstrap keys, which become owners.
ALTER TABLE api_keys ADD COLUMN user_id     TEXT    NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN project     TEXT    NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN role        TEXT    NOT NULL DEFAULT 'member';
ALTER TABLE api_keys ADD COLUMN scopes      TEXT    NOT NULL DEFAULT '{}'; -- JSON of octomesh.KeyScopes
ALTER TABLE api_keys ADD COLUMN updated_at  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN deleted_at  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT    NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN rev         INTEGER NOT NULL DEFAULT 0;
UPDATE api_keys SET role = 'owner', updated_at = created_at WHERE admin <> 0;
UPDATE api_keys SET updated_at = created_at WHERE admin = 0;
CREATE INDEX api_keys_rev ON api_keys (rev);
CREATE INDEX api_keys_user ON api_keys (org_id, user_id);

CREATE TABLE audit_log (
    seq           INTEGER PRIMARY KEY,
    time          INTEGER NOT NULL,
    org_id        TEXT    NOT NULL,
    actor_type    TEXT    NOT NULL,
    actor_key_id  TEXT    NOT NULL,
    actor_user_id TEXT    NOT NULL,
    actor_org_id  TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    details       TEXT    NOT NULL, -- JSON object of strings
    prev_hash     BLOB    NOT NULL,
    hash          BLOB    NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, seq);

-- The log is append-only for the application; the hash chain detects what
-- someone with direct access to the file does anyway.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
