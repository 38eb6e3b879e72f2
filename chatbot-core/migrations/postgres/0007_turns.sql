-- One row per chat turn (both route families and the terminal chat), written when the reply is
-- stored: what the bot had (top retrieval score, sources), how it answered (answered_by, whether
-- the fallback stood in for a configured model, whether it said it had no information, the
-- topic guard's decision), the grounding check, latency and tokens. The gap report reads it;
-- the visitor's rating is not copied: it is joined from message_feedback by message_id.
-- Rows older than the company's ai_config.turn_retention_days are purged periodically.
CREATE TABLE IF NOT EXISTS chat_turns (
    company_id VARCHAR(255) NOT NULL,
    session_id VARCHAR(255) NOT NULL,
    message_id VARCHAR(64) NOT NULL,
    visitor_message_id VARCHAR(64) NOT NULL,
    question TEXT NOT NULL,
    top_score DOUBLE PRECISION NULL,
    sources JSONB NOT NULL DEFAULT '[]',
    answered_by VARCHAR(16) NOT NULL CHECK (answered_by IN ('model', 'fallback', 'refusal', 'curated')),
    fell_back BOOLEAN NOT NULL DEFAULT FALSE,
    no_answer BOOLEAN NOT NULL DEFAULT FALSE,
    topic VARCHAR(16) NOT NULL CHECK (topic IN ('allowed', 'greeting', 'contact', 'off_topic', 'injection')),
    grounding_supported BIGINT NULL,
    grounding_unsupported BIGINT NULL,
    latency_ms BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NULL,
    completion_tokens BIGINT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, session_id, message_id)
);
CREATE INDEX IF NOT EXISTS idx_turns_company_created ON chat_turns (company_id, created_at);
CREATE INDEX IF NOT EXISTS idx_turns_created ON chat_turns (created_at);
