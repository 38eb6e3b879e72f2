-- Issue 14: four more widget settings, and owner mode.
-- suggested_questions: a JSON list of at most four strings (chips before the first message);
-- language: 'auto' or a language code the widget has strings for; show_sources: show the
-- sources under each answer; launcher_label: the launcher's text ('' = the widget's own).
ALTER TABLE widget_settings ADD COLUMN IF NOT EXISTS suggested_questions JSONB NOT NULL DEFAULT '[]';
ALTER TABLE widget_settings ADD COLUMN IF NOT EXISTS language VARCHAR(8) NOT NULL DEFAULT 'auto';
ALTER TABLE widget_settings ADD COLUMN IF NOT EXISTS show_sources BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE widget_settings ADD COLUMN IF NOT EXISTS launcher_label VARCHAR(40) NOT NULL DEFAULT '';

-- Owner mode: settings-only owner tokens ('token', ot_...) and one-time codes ('code', oc_...),
-- stored only as their SHA-256 hash, bound to one company, valid until expires_at; a code is
-- spent when used_at is set (one atomic UPDATE, so it is exchanged at most once).
CREATE TABLE IF NOT EXISTS owner_tokens (
    token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
    company_id VARCHAR(255) NOT NULL,
    kind VARCHAR(8) NOT NULL CHECK (kind IN ('token', 'code')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ NULL
);
CREATE INDEX IF NOT EXISTS idx_owner_tokens_expires ON owner_tokens (expires_at);
