-- Rate-limit state shared by every server instance on one database (used on PostgreSQL; SQLite
-- deployments are one process and keep their limits in memory). One row per limited key
-- (`ip:<company>:<address>`, `session:<company>:<session>`, `auth:<address>`,
-- `new_conversation:<company>`): the GCRA "theoretical arrival time" in microseconds since the
-- Unix epoch. A row whose time has passed is the same as no row (purged now and then).
CREATE TABLE IF NOT EXISTS rate_limits (
    key VARCHAR(600) PRIMARY KEY,
    tat_us BIGINT NOT NULL
);
