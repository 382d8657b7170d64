-- Metering: the usage ledger (octomesh.LedgerEntry), budgets, and each
-- organisation's customer IDs at payment processors. Money is integer
-- nano-dollars; times are unix nanoseconds, 0 meaning "none". All three go
-- with their organisation (ON DELETE CASCADE): deleting an organisation
-- erases its usage, budgets and billing identity.

-- The ledger is append-only for the application (the trigger refuses
-- updates; deletes happen only with the organisation). seq is
-- AUTOINCREMENT so it is never reused, even after an organisation's
-- entries are deleted: exports page on it.
CREATE TABLE ledger (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id             TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    kind               TEXT    NOT NULL CHECK (kind IN ('usage', 'correction', 'topup')),
    request_id         TEXT    NOT NULL,
    attempt            INTEGER NOT NULL,
    key_id             TEXT    NOT NULL DEFAULT '',
    user_id            TEXT    NOT NULL DEFAULT '',
    project            TEXT    NOT NULL DEFAULT '',
    deployment         TEXT    NOT NULL DEFAULT '',
    provider           TEXT    NOT NULL DEFAULT '',
    price_version      TEXT    NOT NULL DEFAULT '',
    prompt_tokens      INTEGER NOT NULL DEFAULT 0,
    completion_tokens  INTEGER NOT NULL DEFAULT 0,
    cached_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    estimated          INTEGER NOT NULL DEFAULT 0,
    cost               INTEGER NOT NULL, -- nano-dollars
    outcome            TEXT    NOT NULL DEFAULT '',
    ref                TEXT    NOT NULL DEFAULT '',
    note               TEXT    NOT NULL DEFAULT '',
    started_at         INTEGER NOT NULL,
    ended_at           INTEGER NOT NULL DEFAULT 0,
    -- An entry's identity within its organisation: appending it again is a no-op.
    UNIQUE (org_id, request_id, attempt, kind)
);
CREATE INDEX ledger_org_start ON ledger (org_id, started_at);
CREATE INDEX ledger_org_seq ON ledger (org_id, seq);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

CREATE TABLE budgets (
    id            TEXT PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL DEFAULT '',
    scope         TEXT    NOT NULL CHECK (scope IN ('org', 'key', 'user', 'project')),
    subject       TEXT    NOT NULL DEFAULT '',
    period        TEXT    NOT NULL CHECK (period IN ('day', 'month', 'total')),
    limit_cost    INTEGER NOT NULL, -- nano-dollars
    hard          INTEGER NOT NULL DEFAULT 0,
    alert_percent INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX budgets_org ON budgets (org_id, id);

-- A customer ID names one organisation at its processor (webhooks map it back).
CREATE TABLE billing_customers (
    org_id      TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    processor   TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, processor),
    UNIQUE (processor, customer_id)
);
