//! The SQL text both dialects share, written once. Arguments are numbered (`$1`, `$2`, ...),
//! which SQLite reads as it does `?NNN`. Column lists are macros so the statements can be
//! `concat!`-ed at compile time; the backends build their own statements from them too.

/// Columns of `user_companies`, in table order.
macro_rules! company_cols {
    () => {
        "id, company_id, company_name, email, phone, website, logo_url, settings, ai_config, is_active, \
         created_at, updated_at, client_type"
    };
}

/// Columns of `widget_settings`, in table order.
macro_rules! settings_cols {
    () => {
        "company_id, primary_color, secondary_color, text_color, background_color, border_radius, \
         company_name, company_logo, welcome_message, placeholder_text, position, auto_open, \
         show_typing_indicator, ai_personality, ai_temperature, max_tokens, allowed_origins, \
         suggested_questions, language, show_sources, launcher_label, created_at, updated_at"
    };
}

/// Columns of `api_keys`.
macro_rules! key_cols {
    () => {
        "key_id, company_id, kind, prefix, key_hash, created_at, last_used_at, revoked_at"
    };
}

/// Columns of `sessions`.
macro_rules! session_cols {
    () => {
        "session_id, company_id, user_id, lead_id, client_ip, expires_at, created_at, last_seen_at"
    };
}

/// Columns of `chat_conversations`.
macro_rules! conversation_cols {
    () => {
        "id, company_id, user_id, session_id, messages, metadata, last_activity_at, created_at, updated_at"
    };
}

/// A lead with its conversation's messages; a `WHERE` follows.
macro_rules! lead_select {
    () => {
        "SELECT l.lead_id, l.company_id, l.session_id, l.user_id, l.source, l.status, l.is_lead_ready, \
         l.name, l.email, l.phone, l.message, l.ai_summary, l.profile, l.notified_at, l.created_at, \
         l.updated_at, c.messages AS messages \
         FROM leads l LEFT JOIN chat_conversations c \
         ON c.company_id = l.company_id AND c.session_id = l.session_id "
    };
}

/// Columns of `pinecone_vectors` that make a [`crate::store::ChunkRecord`].
macro_rules! chunk_cols {
    () => {
        "company_id, vector_id, content, metadata, source"
    };
}

/// The lead columns after the ids, in table order (bound by `leads::detail_args`).
macro_rules! lead_detail_cols {
    () => {
        "source, status, is_lead_ready, name, email, phone, message, ai_summary, profile, notified_at, \
         created_at, updated_at"
    };
}

pub(crate) use {chunk_cols, conversation_cols, lead_detail_cols, lead_select};

// --- tenants -----------------------------------------------------------------------------------

/// A company with its widget settings in one query: the company's columns prefixed `c_`, the
/// settings' under their own names (NULL when the company has none).
pub(crate) const COMPANY_WITH_SETTINGS: &str = "SELECT c.id AS c_id, c.company_id AS c_company_id, \
     c.company_name AS c_company_name, c.email AS c_email, c.phone AS c_phone, c.website AS c_website, \
     c.logo_url AS c_logo_url, c.settings AS c_settings, c.ai_config AS c_ai_config, \
     c.is_active AS c_is_active, c.created_at AS c_created_at, c.updated_at AS c_updated_at, \
     c.client_type AS c_client_type, s.company_id, s.primary_color, s.secondary_color, s.text_color, s.background_color, \
     s.border_radius, s.company_name, s.company_logo, s.welcome_message, s.placeholder_text, \
     s.position, s.auto_open, s.show_typing_indicator, s.ai_personality, s.ai_temperature, \
     s.max_tokens, s.allowed_origins, s.suggested_questions, s.language, s.show_sources, \
     s.launcher_label, s.created_at, s.updated_at \
     FROM user_companies c LEFT JOIN widget_settings s ON s.company_id = c.company_id \
     WHERE c.company_id = $1";

pub(crate) const INSERT_COMPANY: &str = concat!(
    "INSERT INTO user_companies (company_id, company_name, email, phone, website, logo_url, \
     settings, ai_config, is_active, created_at, updated_at, client_type) \
     VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $9, $10) RETURNING ",
    company_cols!()
);

/// A new company's settings: every other column takes the schema's defaults (the seed's).
pub(crate) const INSERT_DEFAULT_SETTINGS: &str = "INSERT INTO widget_settings (company_id, company_name, \
     welcome_message, allowed_origins, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)";

pub(crate) const GET_COMPANY: &str =
    concat!("SELECT ", company_cols!(), " FROM user_companies WHERE company_id = $1");

pub(crate) const LIST_COMPANIES: &str =
    concat!("SELECT ", company_cols!(), " FROM user_companies ORDER BY id");

pub(crate) const SET_COMPANY_ACTIVE: &str =
    "UPDATE user_companies SET is_active = $2, updated_at = $3 WHERE company_id = $1";

/// Change the fields a [`CompanyPatch`](crate::tenant::CompanyPatch) names (NULL: unchanged;
/// `$3`/`$5` say whether phone/website are set, to NULL or not).
pub(crate) const PATCH_COMPANY: &str = concat!(
    "UPDATE user_companies SET company_name = COALESCE($2, company_name), \
     phone = CASE WHEN $3 THEN $4 ELSE phone END, \
     website = CASE WHEN $5 THEN $6 ELSE website END, \
     client_type = COALESCE($7, client_type), updated_at = $8 \
     WHERE company_id = $1 RETURNING ",
    company_cols!()
);

pub(crate) const SET_AI_CONFIG: &str =
    "UPDATE user_companies SET ai_config = $2, updated_at = $3 WHERE company_id = $1";

/// One UPDATE of the fields a patch names (`$7` says whether the logo is set, to NULL or not).
pub(crate) const PATCH_SETTINGS: &str = concat!(
    "UPDATE widget_settings SET \
     primary_color = COALESCE($1, primary_color), \
     secondary_color = COALESCE($2, secondary_color), \
     text_color = COALESCE($3, text_color), \
     background_color = COALESCE($4, background_color), \
     border_radius = COALESCE($5, border_radius), \
     company_name = COALESCE($6, company_name), \
     company_logo = CASE WHEN $7 THEN $8 ELSE company_logo END, \
     welcome_message = COALESCE($9, welcome_message), \
     placeholder_text = COALESCE($10, placeholder_text), \
     position = COALESCE($11, position), \
     auto_open = COALESCE($12, auto_open), \
     show_typing_indicator = COALESCE($13, show_typing_indicator), \
     ai_personality = COALESCE($14, ai_personality), \
     ai_temperature = COALESCE($15, ai_temperature), \
     max_tokens = COALESCE($16, max_tokens), \
     allowed_origins = COALESCE($17, allowed_origins), \
     updated_at = $18, \
     suggested_questions = COALESCE($20, suggested_questions), \
     language = COALESCE($21, language), \
     show_sources = COALESCE($22, show_sources), \
     launcher_label = COALESCE($23, launcher_label) \
     WHERE company_id = $19 RETURNING ",
    settings_cols!()
);

pub(crate) const INSERT_KEY: &str = "INSERT INTO api_keys (key_id, company_id, kind, prefix, key_hash, \
     created_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

pub(crate) const FIND_KEY: &str = concat!("SELECT ", key_cols!(), " FROM api_keys WHERE key_hash = $1");

pub(crate) const LIST_KEYS: &str = concat!(
    "SELECT ",
    key_cols!(),
    " FROM api_keys WHERE company_id = $1 ORDER BY created_at DESC, key_id DESC"
);

pub(crate) const REVOKE_KEY: &str =
    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1";

pub(crate) const TOUCH_KEY: &str = "UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1";

// --- sessions and conversations ----------------------------------------------------------------

pub(crate) const INSERT_SESSION: &str = "INSERT INTO sessions (session_id, company_id, user_id, lead_id, \
     client_ip, expires_at, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

pub(crate) const GET_SESSION: &str =
    concat!("SELECT ", session_cols!(), " FROM sessions WHERE session_id = $1 AND company_id = $2");

pub(crate) const PURGE_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at < $1";

pub(crate) const UPDATE_SESSION: &str = "UPDATE sessions SET user_id = $3, lead_id = $4, client_ip = $5, \
     expires_at = $6, last_seen_at = $7 WHERE session_id = $1 AND company_id = $2";

pub(crate) const INSERT_EMPTY_CONVERSATION: &str = "INSERT INTO chat_conversations (company_id, user_id, \
     session_id, messages, last_activity_at, created_at, updated_at) VALUES ($1, $2, $3, '[]', $4, $4, $4) \
     ON CONFLICT (company_id, session_id) DO NOTHING";

pub(crate) const GET_CONVERSATION: &str = concat!(
    "SELECT ",
    conversation_cols!(),
    " FROM chat_conversations WHERE company_id = $1 AND session_id = $2"
);

pub(crate) const LIST_CONVERSATIONS: &str = concat!(
    "SELECT ",
    conversation_cols!(),
    " FROM chat_conversations WHERE company_id = $1 \
     ORDER BY last_activity_at DESC, id DESC LIMIT $2 OFFSET $3"
);

pub(crate) const DELETE_CONVERSATION: &str =
    "DELETE FROM chat_conversations WHERE company_id = $1 AND session_id = $2 RETURNING id AS v";

/// The ratings of a conversation's replies (deleted with it).
pub(crate) const DELETE_CONVERSATION_FEEDBACK: &str =
    "DELETE FROM message_feedback WHERE company_id = $1 AND session_id = $2";

// --- leads -------------------------------------------------------------------------------------

pub(crate) const INSERT_LEAD: &str = concat!(
    "INSERT INTO leads (lead_id, company_id, session_id, user_id, ",
    lead_detail_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
);

/// One lead of a company: `$1` lead, `$2` company.
macro_rules! get_lead {
    () => {
        concat!(crate::store::sql::text::lead_select!(), "WHERE l.lead_id = $1 AND l.company_id = $2")
    };
}
#[cfg_attr(not(feature = "postgres"), allow(unused_imports))]
pub(crate) use get_lead;

pub(crate) const GET_LEAD: &str = get_lead!();

pub(crate) const LEAD_BY_SESSION: &str =
    concat!(lead_select!(), "WHERE l.company_id = $1 AND l.session_id = $2");

pub(crate) const LEAD_ANY_COMPANY: &str = concat!(lead_select!(), "WHERE l.lead_id = $1");

/// Ready leads stamped for a webhook before `$1` with no delivery recorded, oldest first, `$2`
/// at most.
pub(crate) const UNSENT_NOTIFICATIONS: &str = concat!(
    lead_select!(),
    "WHERE l.is_lead_ready = TRUE AND l.notified_at IS NOT NULL AND l.notified_at < $1 \
     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
     WHERE d.company_id = l.company_id AND d.lead_id = l.lead_id) \
     ORDER BY l.notified_at, l.lead_id LIMIT $2"
);

/// Move a lead's `notified_at` from `$3` to `$4` if it is still `$3`: `$1` company, `$2` lead.
pub(crate) const CLAIM_NOTIFICATION: &str =
    "UPDATE leads SET notified_at = $4 WHERE company_id = $1 AND lead_id = $2 AND notified_at = $3";

/// Leads of a company with the optional filters; `ORDER BY` follows (the dialect's tie-break).
macro_rules! list_leads {
    () => {
        concat!(
            crate::store::sql::text::lead_select!(),
            "WHERE l.company_id = $1 AND ($2 IS NULL OR l.status = $2) \
             AND ($3 IS NULL OR l.is_lead_ready = $3) "
        )
    };
}
pub(crate) use list_leads;

pub(crate) const UPDATE_LEAD: &str = "UPDATE leads SET user_id = $3, source = $4, status = $5, \
     is_lead_ready = $6, name = $7, email = $8, phone = $9, message = $10, ai_summary = $11, profile = $12, \
     notified_at = $13, updated_at = $14 WHERE lead_id = $1 AND company_id = $2";

// --- knowledge ---------------------------------------------------------------------------------

pub(crate) const CHUNK_IDS_FOR_SOURCE: &str = "SELECT vector_id AS v FROM pinecone_vectors \
     WHERE company_id = $1 AND source = $2 ORDER BY vector_id";

pub(crate) const LIST_CHUNKS: &str = concat!(
    "SELECT ",
    chunk_cols!(),
    " FROM pinecone_vectors WHERE company_id = $1 ORDER BY vector_id LIMIT $2 OFFSET $3"
);

pub(crate) const COUNT_CHUNKS: &str = "SELECT COUNT(*) AS v FROM pinecone_vectors WHERE company_id = $1";

pub(crate) const UPSERT_SOURCE: &str = "INSERT INTO ingest_sources (company_id, source, title, content_hash, \
     etag, last_modified, chunk_count, ingested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (company_id, source) DO UPDATE SET title = excluded.title, \
     content_hash = excluded.content_hash, etag = excluded.etag, \
     last_modified = excluded.last_modified, chunk_count = excluded.chunk_count, \
     ingested_at = excluded.ingested_at";

macro_rules! source_select {
    () => {
        "SELECT company_id, source, title, content_hash, etag, last_modified, chunk_count, ingested_at \
         FROM ingest_sources WHERE company_id = $1"
    };
}

pub(crate) const GET_SOURCE: &str = concat!(source_select!(), " AND source = $2");

pub(crate) const LIST_SOURCES: &str = concat!(source_select!(), " ORDER BY source");

pub(crate) const DELETE_SOURCE: &str = "DELETE FROM ingest_sources WHERE company_id = $1 AND source = $2";

pub(crate) const GET_EMBEDDER: &str = "SELECT model, dimension FROM company_embedders WHERE company_id = $1";

pub(crate) const DELETE_EMBEDDER: &str = "DELETE FROM company_embedders WHERE company_id = $1";

pub(crate) const SET_EMBEDDER: &str = "INSERT INTO company_embedders (company_id, model, dimension) \
     VALUES ($1, $2, $3) ON CONFLICT (company_id) DO UPDATE SET model = excluded.model, \
     dimension = excluded.dimension";

pub(crate) const GET_CORPUS_STATS: &str =
    "SELECT company_id, model, doc_count, stats, updated_at FROM corpus_stats WHERE company_id = $1";

pub(crate) const PUT_CORPUS_STATS: &str = "INSERT INTO corpus_stats (company_id, model, doc_count, stats, \
     updated_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (company_id) DO UPDATE SET model = excluded.model, doc_count = excluded.doc_count, \
     stats = excluded.stats, updated_at = excluded.updated_at";

// --- usage and webhooks ------------------------------------------------------------------------

pub(crate) const ADD_TOKENS: &str = "INSERT INTO token_usage (company_id, day, tokens) VALUES ($1, $2, $3) \
     ON CONFLICT (company_id, day) DO UPDATE SET tokens = token_usage.tokens + excluded.tokens \
     RETURNING tokens AS v";

pub(crate) const GET_TOKENS: &str = "SELECT tokens AS v FROM token_usage WHERE company_id = $1 AND day = $2";

pub(crate) const GET_WEBHOOK_SECRET: &str = "SELECT secret AS v FROM webhook_secrets WHERE company_id = $1";

pub(crate) const INSERT_WEBHOOK_SECRET: &str = "INSERT INTO webhook_secrets (company_id, secret) \
     VALUES ($1, $2) ON CONFLICT (company_id) DO NOTHING";

pub(crate) const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries (company_id, lead_id, url, attempts, \
     status_code, error, delivered, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

pub(crate) const LIST_DELIVERIES: &str = "SELECT company_id, lead_id, url, attempts, status_code, error, \
     delivered, created_at FROM webhook_deliveries WHERE company_id = $1 \
     ORDER BY created_at DESC, id DESC LIMIT $2";

// --- visitor identity --------------------------------------------------------------------------

/// Columns of `visitor_tokens`.
macro_rules! visitor_token_cols {
    () => {
        "token_hash, company_id, session_id, user_id, created_at, last_used_at, expires_at"
    };
}

/// Columns of `identity_secrets`.
macro_rules! identity_secret_cols {
    () => {
        "key_id, company_id, prefix, secret, created_at, revoked_at"
    };
}

pub(crate) const INSERT_VISITOR_TOKEN: &str =
    concat!("INSERT INTO visitor_tokens (", visitor_token_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)");

pub(crate) const FIND_VISITOR_TOKEN: &str = concat!(
    "SELECT ",
    visitor_token_cols!(),
    " FROM visitor_tokens WHERE token_hash = $1 AND company_id = $2"
);

pub(crate) const TOUCH_VISITOR_TOKEN: &str = "UPDATE visitor_tokens SET last_used_at = $3, expires_at = $4 \
     WHERE token_hash = $1 AND company_id = $2";

pub(crate) const PURGE_VISITOR_TOKENS: &str = "DELETE FROM visitor_tokens WHERE expires_at <= $1";

pub(crate) const DELETE_CONVERSATION_TOKENS: &str =
    "DELETE FROM visitor_tokens WHERE company_id = $1 AND session_id = $2";

/// Insert unless the company has `$7` unrevoked secrets already (one statement, so two
/// concurrent creations on SQLite's single writer cannot both pass the count).
pub(crate) const INSERT_IDENTITY_SECRET: &str = concat!(
    "INSERT INTO identity_secrets (",
    identity_secret_cols!(),
    ") SELECT $1, $2, $3, $4, $5, $6 WHERE (SELECT COUNT(*) FROM identity_secrets \
     WHERE company_id = $2 AND revoked_at IS NULL) < $7"
);

pub(crate) const LIST_IDENTITY_SECRETS: &str = concat!(
    "SELECT ",
    identity_secret_cols!(),
    " FROM identity_secrets WHERE company_id = $1 ORDER BY created_at DESC, key_id DESC"
);

pub(crate) const ACTIVE_IDENTITY_SECRETS: &str = concat!(
    "SELECT ",
    identity_secret_cols!(),
    " FROM identity_secrets WHERE company_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, key_id DESC"
);

pub(crate) const REVOKE_IDENTITY_SECRET: &str =
    "UPDATE identity_secrets SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1";

// --- feedback ----------------------------------------------------------------------------------

/// Columns of `message_feedback`, in table order.
macro_rules! feedback_cols {
    () => {
        "company_id, session_id, message_id, rating, comment, message, question, created_at, updated_at"
    };
}

/// Insert a rating, or replace an earlier one's rating and comment (its `created_at` stays).
pub(crate) const PUT_FEEDBACK: &str = concat!(
    "INSERT INTO message_feedback (",
    feedback_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (company_id, session_id, message_id) DO UPDATE SET rating = excluded.rating, \
     comment = excluded.comment, message = excluded.message, question = excluded.question, \
     updated_at = excluded.updated_at RETURNING ",
    feedback_cols!()
);

pub(crate) const LIST_FEEDBACK: &str = concat!(
    "SELECT ",
    feedback_cols!(),
    " FROM message_feedback WHERE company_id = $1 \
     ORDER BY updated_at DESC, session_id DESC, message_id DESC LIMIT $2 OFFSET $3"
);

pub(crate) const CONVERSATION_FEEDBACK: &str = concat!(
    "SELECT ",
    feedback_cols!(),
    " FROM message_feedback WHERE company_id = $1 AND session_id = $2 ORDER BY created_at, message_id"
);

// --- owner mode --------------------------------------------------------------------------------

/// Columns of `owner_tokens`.
macro_rules! owner_token_cols {
    () => {
        "token_hash, company_id, kind, created_at, expires_at, used_at"
    };
}

pub(crate) const INSERT_OWNER_TOKEN: &str =
    concat!("INSERT INTO owner_tokens (", owner_token_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6)");

pub(crate) const FIND_OWNER_TOKEN: &str = concat!(
    "SELECT ",
    owner_token_cols!(),
    " FROM owner_tokens WHERE token_hash = $1 AND company_id = $2 AND kind = $3"
);

/// Spend an unspent, unexpired code of the company: one statement, so of two concurrent
/// exchanges exactly one changes the row.
pub(crate) const SPEND_OWNER_CODE: &str = "UPDATE owner_tokens SET used_at = $3 \
     WHERE token_hash = $1 AND company_id = $2 AND kind = 'code' AND used_at IS NULL AND expires_at > $3";

pub(crate) const PURGE_OWNER_TOKENS: &str = "DELETE FROM owner_tokens WHERE expires_at <= $1";

// --- rate limits -------------------------------------------------------------------------------

/// One GCRA step: `$1` key, `$2` now (µs), `$3` emission interval (µs), `$4` tolerance (µs, the
/// burst). The new arrival time is max(stored, now) + interval, written only when it stays
/// within now + tolerance; the row comes back only then (no row: refused). Plain `CASE` for the
/// maximum: SQLite's is `max()`, PostgreSQL's `GREATEST`.
pub(crate) const RATE_LIMIT_STEP: &str = "INSERT INTO rate_limits (key, tat_us) VALUES ($1, $2 + $3) \
     ON CONFLICT (key) DO UPDATE SET tat_us = \
     (CASE WHEN rate_limits.tat_us > $2 THEN rate_limits.tat_us ELSE $2 END) + $3 \
     WHERE (CASE WHEN rate_limits.tat_us > $2 THEN rate_limits.tat_us ELSE $2 END) + $3 <= $2 + $4 \
     RETURNING tat_us AS v";

/// A key's stored arrival time (µs): `$1` key.
pub(crate) const RATE_LIMIT_TAT: &str = "SELECT tat_us AS v FROM rate_limits WHERE key = $1";

/// Forget keys whose arrival time has passed: `$1` now (µs).
pub(crate) const PURGE_RATE_LIMITS: &str = "DELETE FROM rate_limits WHERE tat_us < $1";

// --- registered knowledge sources --------------------------------------------------------------

/// Columns of `knowledge_sources`, in table order.
macro_rules! knowledge_source_cols {
    () => {
        "company_id, source_id, kind, location, options, interval_secs, next_due_at, \
         last_started_at, last_finished_at, last_pages, last_changed, last_added, last_removed, \
         last_failed, last_error, lease_owner, lease_until, created_at, updated_at"
    };
}

/// Register a source, or replace a registration's kind, location, options, interval and next
/// due time (its last run, lease and `created_at` stay).
pub(crate) const REGISTER_KNOWLEDGE_SOURCE: &str = "INSERT INTO knowledge_sources (company_id, \
     source_id, kind, location, options, interval_secs, next_due_at, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
     ON CONFLICT (company_id, source_id) DO UPDATE SET kind = excluded.kind, \
     location = excluded.location, options = excluded.options, \
     interval_secs = excluded.interval_secs, next_due_at = excluded.next_due_at, \
     updated_at = excluded.updated_at";

pub(crate) const GET_KNOWLEDGE_SOURCE: &str = concat!(
    "SELECT ",
    knowledge_source_cols!(),
    " FROM knowledge_sources WHERE company_id = $1 AND source_id = $2"
);

pub(crate) const LIST_KNOWLEDGE_SOURCES: &str = concat!(
    "SELECT ",
    knowledge_source_cols!(),
    " FROM knowledge_sources WHERE company_id = $1 ORDER BY location, source_id"
);

/// Every company's sources due at `$1` whose lease is free or expired, soonest first, `$2` at
/// most (operator scope: the scheduler).
pub(crate) const DUE_KNOWLEDGE_SOURCES: &str = concat!(
    "SELECT ",
    knowledge_source_cols!(),
    " FROM knowledge_sources WHERE next_due_at IS NOT NULL AND next_due_at <= $1 \
     AND (lease_until IS NULL OR lease_until < $1) \
     ORDER BY next_due_at, company_id, source_id LIMIT $2"
);

pub(crate) const DELETE_KNOWLEDGE_SOURCE: &str =
    "DELETE FROM knowledge_sources WHERE company_id = $1 AND source_id = $2";

/// Take or renew a lease: one conditional statement, so of two instances racing for a free
/// (or expired) lease exactly one changes the row. `$3` owner, `$4` now, `$5` until.
pub(crate) const TAKE_SOURCE_LEASE: &str = "UPDATE knowledge_sources \
     SET lease_owner = $3, lease_until = $5 \
     WHERE company_id = $1 AND source_id = $2 \
     AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until < $4 OR lease_owner = $3)";

/// Record a run and release the lease, only while `$3` holds it.
pub(crate) const FINISH_SOURCE_RUN: &str = "UPDATE knowledge_sources SET last_started_at = $4, \
     last_finished_at = $5, last_pages = $6, last_changed = $7, last_added = $8, \
     last_removed = $9, last_failed = $10, last_error = $11, next_due_at = $12, \
     lease_owner = NULL, lease_until = NULL, updated_at = $5 \
     WHERE company_id = $1 AND source_id = $2 AND lease_owner = $3";

pub(crate) const RELEASE_SOURCE_LEASE: &str = "UPDATE knowledge_sources \
     SET lease_owner = NULL, lease_until = NULL \
     WHERE company_id = $1 AND source_id = $2 AND lease_owner = $3";
// --- turn records ------------------------------------------------------------------------------

/// Columns of `chat_turns` (written).
macro_rules! turn_cols {
    () => {
        "company_id, session_id, message_id, visitor_message_id, question, top_score, sources, \
         answered_by, fell_back, no_answer, topic, grounding_supported, grounding_unsupported, \
         latency_ms, prompt_tokens, completion_tokens, created_at"
    };
}

/// What a turn record's upsert sets when the reply was recorded before (same message id).
macro_rules! turn_upsert_tail {
    () => {
        " ON CONFLICT (company_id, session_id, message_id) DO UPDATE SET \
         visitor_message_id = excluded.visitor_message_id, question = excluded.question, \
         top_score = excluded.top_score, sources = excluded.sources, answered_by = excluded.answered_by, \
         fell_back = excluded.fell_back, no_answer = excluded.no_answer, topic = excluded.topic, \
         grounding_supported = excluded.grounding_supported, \
         grounding_unsupported = excluded.grounding_unsupported, latency_ms = excluded.latency_ms, \
         prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, \
         created_at = excluded.created_at"
    };
}
pub(crate) use {turn_cols, turn_upsert_tail};

pub(crate) const RECORD_TURN: &str = concat!(
    "INSERT INTO chat_turns (",
    turn_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    turn_upsert_tail!()
);

/// A company's turns since `$2`, newest first, limit `$3`, each with its reply's rating (the
/// feedback row of the same company, conversation and message).
pub(crate) const LIST_TURNS: &str = "SELECT t.company_id, t.session_id, t.message_id, \
     t.visitor_message_id, t.question, t.top_score, t.sources, t.answered_by, t.fell_back, \
     t.no_answer, t.topic, t.grounding_supported, t.grounding_unsupported, t.latency_ms, \
     t.prompt_tokens, t.completion_tokens, t.created_at, f.rating \
     FROM chat_turns t LEFT JOIN message_feedback f ON f.company_id = t.company_id \
     AND f.session_id = t.session_id AND f.message_id = t.message_id \
     WHERE t.company_id = $1 AND t.created_at >= $2 \
     ORDER BY t.created_at DESC, t.session_id DESC, t.message_id DESC LIMIT $3";

pub(crate) const PURGE_COMPANY_TURNS: &str =
    "DELETE FROM chat_turns WHERE company_id = $1 AND created_at < $2";

pub(crate) const PURGE_ALL_TURNS: &str = "DELETE FROM chat_turns WHERE created_at < $1";

pub(crate) const DELETE_CONVERSATION_TURNS: &str =
    "DELETE FROM chat_turns WHERE company_id = $1 AND session_id = $2";
