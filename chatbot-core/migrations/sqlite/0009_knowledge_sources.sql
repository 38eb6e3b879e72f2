-- Registered knowledge sources: what `ingest site` / `ingest files` ran (kind, location and the
-- options as JSON), how often to sync it again (`interval_secs`, 0: only on `sync --force`), the
-- last run's result, and a lease so that only one instance runs a source at a time (taken with
-- one conditional UPDATE: free, expired, or already ours).
CREATE TABLE IF NOT EXISTS knowledge_sources (
    company_id VARCHAR(255) NOT NULL,
    source_id VARCHAR(64) NOT NULL,
    kind VARCHAR(16) NOT NULL CHECK (kind IN ('site', 'files')),
    location TEXT NOT NULL,
    options TEXT NOT NULL,
    interval_secs INTEGER NOT NULL DEFAULT 86400 CHECK (interval_secs >= 0),
    next_due_at TEXT NULL,
    last_started_at TEXT NULL,
    last_finished_at TEXT NULL,
    last_pages INTEGER NOT NULL DEFAULT 0,
    last_changed INTEGER NOT NULL DEFAULT 0,
    last_added INTEGER NOT NULL DEFAULT 0,
    last_removed INTEGER NOT NULL DEFAULT 0,
    last_failed INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NULL,
    lease_owner VARCHAR(128) NULL,
    lease_until TEXT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (company_id, source_id)
);
CREATE INDEX IF NOT EXISTS idx_knowledge_sources_due ON knowledge_sources (next_due_at);
