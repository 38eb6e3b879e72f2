-- Curated answers: an operator's own answer to a set of questions, given instead of a model's
-- answer when a visitor's question matches one of them by meaning. `questions` is a JSON array
-- of strings; `hits` counts the visitor questions it answered, `last_hit_at` the last one.
CREATE TABLE IF NOT EXISTS curated_answers (
    company_id VARCHAR(255) NOT NULL,
    answer_id VARCHAR(64) NOT NULL,
    questions TEXT NOT NULL DEFAULT '[]',
    answer TEXT NOT NULL,
    source TEXT NULL,
    hits BIGINT NOT NULL DEFAULT 0,
    last_hit_at TEXT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (company_id, answer_id)
);
CREATE INDEX IF NOT EXISTS idx_curated_company_created ON curated_answers (company_id, created_at);
