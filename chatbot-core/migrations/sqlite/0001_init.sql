-- Initial schema (SQLite). The four tables of the seed with every column, default, index and
-- unique key it lists, plus the tables the toolkit needs (sessions, leads, keys, ingest state,
-- usage, webhooks). Timestamps are RFC 3339 UTC text with microseconds (fixed width, so they
-- sort as text); JSON is TEXT; booleans are 0/1. Named unique keys are unique indexes so the
-- catalog shows the seed's names.

CREATE TABLE IF NOT EXISTS user_companies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id VARCHAR(255) NOT NULL UNIQUE,
    company_name VARCHAR(255) NOT NULL,
    email VARCHAR(255) NOT NULL,
    phone VARCHAR(255) NULL,
    website VARCHAR(255) NULL,
    logo_url VARCHAR(500) NULL,
    settings TEXT NULL,
    ai_config TEXT NULL,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS widget_settings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id VARCHAR(255) NOT NULL,
    primary_color VARCHAR(7) NOT NULL DEFAULT '#007bff',
    secondary_color VARCHAR(7) NOT NULL DEFAULT '#6c757d',
    text_color VARCHAR(7) NOT NULL DEFAULT '#ffffff',
    background_color VARCHAR(7) NOT NULL DEFAULT '#ffffff',
    border_radius INTEGER NOT NULL DEFAULT 12,
    company_name VARCHAR(255) NOT NULL,
    company_logo VARCHAR(500) NULL,
    welcome_message TEXT NOT NULL,
    placeholder_text VARCHAR(255) NOT NULL DEFAULT 'Type your message...',
    position VARCHAR(12) NOT NULL DEFAULT 'bottom-right'
        CHECK (position IN ('bottom-right', 'bottom-left', 'top-right', 'top-left')),
    auto_open BOOLEAN NOT NULL DEFAULT 0,
    show_typing_indicator BOOLEAN NOT NULL DEFAULT 1,
    ai_personality TEXT NOT NULL DEFAULT 'friendly and helpful assistant',
    ai_temperature REAL NOT NULL DEFAULT 0.7,
    max_tokens INTEGER NOT NULL DEFAULT 500,
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    FOREIGN KEY (company_id) REFERENCES user_companies (company_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS unique_widget_company ON widget_settings (company_id);

CREATE TABLE IF NOT EXISTS chat_conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    session_id VARCHAR(255) NOT NULL,
    messages TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NULL,
    last_activity_at TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX IF NOT EXISTS unique_company_session ON chat_conversations (company_id, session_id);
CREATE INDEX IF NOT EXISTS idx_company_user ON chat_conversations (company_id, user_id);
CREATE INDEX IF NOT EXISTS idx_company_session ON chat_conversations (company_id, session_id);
CREATE INDEX IF NOT EXISTS idx_conversations_activity ON chat_conversations (company_id, last_activity_at);

CREATE TABLE IF NOT EXISTS pinecone_vectors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id VARCHAR(255) NOT NULL,
    vector_id VARCHAR(255) NOT NULL,
    content TEXT NOT NULL,
    metadata TEXT NULL,
    source VARCHAR(255) NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX IF NOT EXISTS unique_company_vector ON pinecone_vectors (company_id, vector_id);
CREATE INDEX IF NOT EXISTS idx_company ON pinecone_vectors (company_id);
CREATE INDEX IF NOT EXISTS idx_company_source ON pinecone_vectors (company_id, source);

CREATE TABLE IF NOT EXISTS sessions (
    session_id VARCHAR(255) NOT NULL PRIMARY KEY,
    company_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    lead_id VARCHAR(255) NULL,
    client_ip VARCHAR(64) NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_seen_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS idx_sessions_company ON sessions (company_id);

CREATE TABLE IF NOT EXISTS leads (
    lead_id VARCHAR(255) NOT NULL PRIMARY KEY,
    company_id VARCHAR(255) NOT NULL,
    session_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    source VARCHAR(64) NOT NULL DEFAULT 'chatbot',
    status VARCHAR(16) NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'contacted', 'qualified', 'converted')),
    is_lead_ready BOOLEAN NOT NULL DEFAULT 0,
    name VARCHAR(255) NOT NULL DEFAULT 'Anonymous',
    email VARCHAR(255) NOT NULL DEFAULT '',
    phone VARCHAR(255) NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    ai_summary TEXT NOT NULL DEFAULT '',
    profile TEXT NOT NULL DEFAULT '{}',
    notified_at TEXT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX IF NOT EXISTS unique_lead_session ON leads (company_id, session_id);
CREATE INDEX IF NOT EXISTS idx_leads_company_status ON leads (company_id, status);
CREATE INDEX IF NOT EXISTS idx_leads_company_created ON leads (company_id, created_at);

CREATE TABLE IF NOT EXISTS api_keys (
    key_id VARCHAR(64) NOT NULL PRIMARY KEY,
    company_id VARCHAR(255) NOT NULL,
    kind VARCHAR(16) NOT NULL CHECK (kind IN ('publishable', 'secret')),
    prefix VARCHAR(32) NOT NULL,
    key_hash VARCHAR(64) NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_used_at TEXT NULL,
    revoked_at TEXT NULL
);
CREATE INDEX IF NOT EXISTS idx_api_keys_company ON api_keys (company_id);

CREATE TABLE IF NOT EXISTS ingest_sources (
    company_id VARCHAR(255) NOT NULL,
    source VARCHAR(2048) NOT NULL,
    title TEXT NULL,
    content_hash VARCHAR(128) NOT NULL,
    etag TEXT NULL,
    last_modified TEXT NULL,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    ingested_at TEXT NOT NULL,
    PRIMARY KEY (company_id, source)
);

CREATE TABLE IF NOT EXISTS company_embedders (
    company_id VARCHAR(255) NOT NULL PRIMARY KEY,
    model VARCHAR(255) NOT NULL,
    dimension INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS token_usage (
    company_id VARCHAR(255) NOT NULL,
    day TEXT NOT NULL,
    tokens INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (company_id, day)
);

CREATE TABLE IF NOT EXISTS webhook_secrets (
    company_id VARCHAR(255) NOT NULL PRIMARY KEY,
    secret VARCHAR(255) NOT NULL
);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id VARCHAR(255) NOT NULL,
    lead_id VARCHAR(255) NOT NULL,
    url TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status_code INTEGER NULL,
    error TEXT NULL,
    delivered BOOLEAN NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS idx_webhook_deliveries_company ON webhook_deliveries (company_id, created_at);
