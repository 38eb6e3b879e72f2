-- Visitor identity on partner chat. A visitor token (issued with a visitor's first reply) is
-- stored only as its SHA-256 hash, bound to one company and one conversation, and expires after
-- a configurable inactivity (expires_at slides on use). Identity secrets let a company's backend
-- sign its users' ids (HMAC-SHA256); the server needs the secret itself to verify, so it is
-- stored as webhook_secrets stores the webhook signing secret. At most two are active per
-- company (rotation).
CREATE TABLE IF NOT EXISTS visitor_tokens (
    token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
    company_id VARCHAR(255) NOT NULL,
    session_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_visitor_tokens_session ON visitor_tokens (company_id, session_id);
CREATE INDEX IF NOT EXISTS idx_visitor_tokens_expires ON visitor_tokens (expires_at);

CREATE TABLE IF NOT EXISTS identity_secrets (
    key_id VARCHAR(64) NOT NULL PRIMARY KEY,
    company_id VARCHAR(255) NOT NULL,
    prefix VARCHAR(32) NOT NULL,
    secret VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ NULL
);
CREATE INDEX IF NOT EXISTS idx_identity_secrets_company ON identity_secrets (company_id);
