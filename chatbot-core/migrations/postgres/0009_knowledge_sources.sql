-- Registered knowledge sources: what `ingest site` / `ingest files` ran (kind, location and the
-- options as JSON), how often to sync it again (`interval_secs`, 0: only on `sync --force`), the
-- last run's result, and a lease so that only one instance runs a source at a time (taken with
-- one conditional UPDATE: free, expired, or already ours).
CREATE TABLE IF NOT EXISTS knowledge_sources (
    company_id VARCHAR(255) NOT NULL,
    source_id VARCHAR(64) NOT NULL,
    kind VARCHAR(16) NOT NULL CHECK (kind IN ('site', 'files')),
    location TEXT NOT NULL,
    options JSONB NOT NULL,
    interval_secs BIGINT NOT NULL DEFAULT 86400 CHECK (interval_secs >= 0),
    next_due_at TIMESTAMPTZ NULL,
    last_started_at TIMESTAMPTZ NULL,
    last_finished_at TIMESTAMPTZ NULL,
    last_pages BIGINT NOT NULL DEFAULT 0,
    last_changed BIGINT NOT NULL DEFAULT 0,
    last_added BIGINT NOT NULL DEFAULT 0,
    last_removed BIGINT NOT NULL DEFAULT 0,
    last_failed BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NULL,
    lease_owner VARCHAR(128) NULL,
    lease_until TIMESTAMPTZ NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, source_id)
);
CREATE INDEX IF NOT EXISTS idx_knowledge_sources_due ON knowledge_sources (next_due_at);
