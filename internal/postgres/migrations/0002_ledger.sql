-- Metering, version 2: the usage ledger (octomesh.LedgerEntry), budgets,
-- and each organisation's customer IDs at payment processors. It mirrors
-- internal/sqlite's migration 0003 column for column. Money is BIGINT
-- nano-dollars; times are unix nanoseconds in BIGINT, 0 meaning "none".
-- All three go with their organisation (ON DELETE CASCADE): deleting an
-- organisation erases its usage, budgets and billing identity.

-- The ledger is append-only for the application (the trigger refuses
-- updates and TRUNCATE; deletes happen only with the organisation). seq
-- comes from an identity sequence; appends hold a transaction advisory
-- lock while they insert, so seq order is commit order and exports paging
-- on seq never skip an entry committed late.
CREATE TABLE ledger (
    seq                BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    prompt_tokens      BIGINT  NOT NULL DEFAULT 0,
    completion_tokens  BIGINT  NOT NULL DEFAULT 0,
    cached_tokens      BIGINT  NOT NULL DEFAULT 0,
    cache_write_tokens BIGINT  NOT NULL DEFAULT 0,
    estimated          BOOLEAN NOT NULL DEFAULT false,
    cost               BIGINT  NOT NULL, -- nano-dollars
    outcome            TEXT    NOT NULL DEFAULT '',
    ref                TEXT    NOT NULL DEFAULT '',
    note               TEXT    NOT NULL DEFAULT '',
    started_at         BIGINT  NOT NULL,
    ended_at           BIGINT  NOT NULL DEFAULT 0,
    -- An entry's identity within its organisation: appending it again is a no-op.
    UNIQUE (org_id, request_id, attempt, kind)
);
CREATE INDEX ledger_org_start ON ledger (org_id, started_at);
CREATE INDEX ledger_org_seq ON ledger (org_id, seq);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only';
END
$$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

CREATE TABLE budgets (
    id            TEXT PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL DEFAULT '',
    scope         TEXT    NOT NULL CHECK (scope IN ('org', 'key', 'user', 'project')),
    subject       TEXT    NOT NULL DEFAULT '',
    period        TEXT    NOT NULL CHECK (period IN ('day', 'month', 'total')),
    limit_cost    BIGINT  NOT NULL, -- nano-dollars
    hard          BOOLEAN NOT NULL DEFAULT false,
    alert_percent INTEGER NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX budgets_org ON budgets (org_id, id);

-- A customer ID names one organisation at its processor (webhooks map it back).
CREATE TABLE billing_customers (
    org_id      TEXT   NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    processor   TEXT   NOT NULL,
    customer_id TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, processor),
    UNIQUE (processor, customer_id)
);
