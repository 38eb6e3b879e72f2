-- Visitors' ratings of bot replies. One row per rated reply of a conversation (a second rating
-- replaces the first); the id is the reply's id in the conversation's messages (ids are random,
-- or for replies stored before messages had ids their position, hence unique per conversation).
-- The reply's text and the question it answered are copied, so a listing reads one table.
CREATE TABLE IF NOT EXISTS message_feedback (
    company_id VARCHAR(255) NOT NULL,
    session_id VARCHAR(255) NOT NULL,
    message_id VARCHAR(64) NOT NULL,
    rating VARCHAR(8) NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NULL,
    message TEXT NOT NULL,
    question TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (company_id, session_id, message_id)
);
CREATE INDEX IF NOT EXISTS idx_feedback_company_updated ON message_feedback (company_id, updated_at);
