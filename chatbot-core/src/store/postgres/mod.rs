//! PostgreSQL implementation of [`crate::store::Store`] (several server instances share one
//! database): its connection pool and the statements whose SQL is PostgreSQL's own.
//!
//! Timestamps are `TIMESTAMPTZ`, JSON is `JSONB`. Every atomic write is one statement: settings
//! patches are one `UPDATE ... SET col = COALESCE($n, col) ... RETURNING`, appends are
//! `messages = messages || $n`, counters are upserts. Migrations take sqlx's advisory lock, so
//! several processes may run them at once.

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Postgres, Row as _};

use super::ChunkRecord;
use super::common::{self, MigrationList, TouchThrottle};
use super::sql::columns::JsonColumns;
use super::sql::leads::with_lead;
use super::sql::{
    self, DialectArg, FromColumns, Query, Read, SqlBackend, Stmt, Tenant, Write, bind_common, decode_all,
    decode_opt, returned, text,
};
use crate::conversation::{Conversation, Message};
use crate::error::{Error, Result};
use crate::lead::Lead;

/// PostgreSQL's migrations, embedded at build time; add a new file with the next version number.
const MIGRATIONS: MigrationList = &[
    (1, "init", include_str!("../../../migrations/postgres/0001_init.sql")),
    (2, "corpus stats", include_str!("../../../migrations/postgres/0002_corpus_stats.sql")),
    (3, "visitor identity", include_str!("../../../migrations/postgres/0003_visitor_identity.sql")),
    (4, "widget settings more", include_str!("../../../migrations/postgres/0004_widget_settings_more.sql")),
    (5, "feedback", include_str!("../../../migrations/postgres/0005_feedback.sql")),
    (6, "client type", include_str!("../../../migrations/postgres/0006_client_type.sql")),
    (7, "turns", include_str!("../../../migrations/postgres/0007_turns.sql")),
    (8, "curated answers", include_str!("../../../migrations/postgres/0008_curated_answers.sql")),
    (9, "knowledge sources", include_str!("../../../migrations/postgres/0009_knowledge_sources.sql")),
    (10, "rate limits", include_str!("../../../migrations/postgres/0010_rate_limits.sql")),
    (11, "tenant notify", include_str!("../../../migrations/postgres/0011_tenant_notify.sql")),
    (12, "webhook recovery", include_str!("../../../migrations/postgres/0012_webhook_recovery.sql")),
    (13, "curated notify", include_str!("../../../migrations/postgres/0013_curated_notify.sql")),
];

mod tenants;

use tenants::TenantCache;

/// PostgreSQL store.
pub struct PostgresStore {
    pool: sqlx::PgPool,
    touch: TouchThrottle,
    /// Companies with their settings, invalidated through `LISTEN/NOTIFY` (see `tenants`).
    tenants: Arc<TenantCache>,
}

/// Rows per `INSERT ... SELECT FROM UNNEST(...)` statement when upserting chunks.
const UPSERT_BATCH: usize = 1000;

/// A statement as a PostgreSQL query with its arguments bound.
fn query(s: Stmt<'_>) -> Query<'static, Postgres> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(s.sql));
    for a in s.args {
        q = match bind_common(q, a) {
            Ok(q) => q,
            Err((q, DialectArg::Ts(t))) => q.bind(t),
            // 0 is no limit: `LIMIT NULL`.
            Err((q, DialectArg::Limit(n))) => q.bind((n != 0).then_some(i64::from(n))),
            Err((q, DialectArg::Ids(ids))) => q.bind(ids),
        };
    }
    q
}

impl JsonColumns for Postgres {
    fn json<T: DeserializeOwned + 'static>(row: &PgRow, col: &str) -> Result<Option<T>> {
        Ok(row.try_get::<Option<Json<T>>, _>(col)?.map(|j| j.0))
    }
}

impl PostgresStore {
    /// The longest a statement waits for a pooled connection (including connecting, which sqlx
    /// retries with backoff while the server refuses). Short, so that while the database is
    /// down or restarting a request fails fast with [`Error::is_store_unavailable`] (HTTP 503)
    /// instead of hanging; under normal load a connection is free within milliseconds.
    pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

    /// Connect with a pool (16 connections at most, [`Self::ACQUIRE_TIMEOUT`] to acquire one).
    ///
    /// # Errors
    /// [`Error::Config`] for a bad URL, [`Error::Storage`] when it cannot connect.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::Config(format!("bad PostgreSQL URL: {e}")))?
            .statement_cache_capacity(256);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            // No liveness ping before each query: that would double the round trips of the hot
            // reads. A broken connection fails its query and is dropped by the pool.
            .test_before_acquire(false)
            .acquire_timeout(Self::ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| Error::Storage(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(Self { pool, touch: TouchThrottle::default(), tenants: Arc::default() })
    }

    /// The underlying pool (for tests and tools).
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// The notification channel of company and settings changes (see migration 0011).
    pub const TENANT_CHANNEL: &'static str = tenants::CHANNEL;
}

/// Create-or-append of a session's conversation (`$1` company, `$2` user, `$3` session, `$4`
/// messages, `$5` now), `RETURNING` it.
macro_rules! conversation_upsert {
    () => {
        concat!(
            "INSERT INTO chat_conversations (company_id, user_id, session_id, messages, last_activity_at, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, $5) \
             ON CONFLICT (company_id, session_id) DO UPDATE SET \
             messages = chat_conversations.messages || EXCLUDED.messages, \
             last_activity_at = EXCLUDED.last_activity_at, updated_at = EXCLUDED.updated_at \
             RETURNING ",
            text::conversation_cols!()
        )
    };
}

/// [`conversation_upsert!`] with the lead insert (`$6`.. the lead) in one statement.
const UPSERT_CONVERSATION_WITH_LEAD: &str = concat!(
    "WITH lead AS (INSERT INTO leads (company_id, session_id, lead_id, user_id, ",
    text::lead_detail_cols!(),
    ") VALUES ($1, $3, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
     ON CONFLICT (company_id, session_id) DO NOTHING RETURNING lead_id), conv AS (",
    conversation_upsert!(),
    ") SELECT conv.*, (SELECT COUNT(*) FROM lead) AS lead_inserted FROM conv"
);

/// [`SqlBackend::append_and_record`]: `$1`-`$17` the turn record (`$1` company, `$2` session),
/// `$18` the messages, `$19` now; the conversation's rows changed.
const APPEND_AND_RECORD: &str = concat!(
    "WITH conv AS (UPDATE chat_conversations SET messages = messages || $18, last_activity_at = $19, \
     updated_at = $19 WHERE company_id = $1 AND session_id = $2 RETURNING 1), \
     turn AS (INSERT INTO chat_turns (",
    sql::text::turn_cols!(),
    ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 FROM conv",
    sql::text::turn_upsert_tail!(),
    ") SELECT count(*) FROM conv"
);

#[async_trait]
impl SqlBackend for PostgresStore {
    const NAME: &'static str = "postgres";
    const WRITING_CTES: bool = true;
    const LIST_LEADS: &'static str =
        concat!(text::list_leads!(), "ORDER BY l.created_at DESC, l.lead_id DESC LIMIT $4 OFFSET $5");
    const CHUNKS_BY_ID: &'static str = concat!(
        "SELECT ",
        text::chunk_cols!(),
        " FROM pinecone_vectors WHERE company_id = $1 AND vector_id = ANY($2)"
    );
    const DELETE_CHUNKS_BY_ID: &'static str =
        "DELETE FROM pinecone_vectors WHERE company_id = $1 AND vector_id = ANY($2)";
    // The lead's row stays locked until the commit.
    const LEAD_FOR_UPDATE: &'static str = concat!(text::get_lead!(), " FOR UPDATE OF l");

    async fn read_opt<T: FromColumns>(&self, q: Read<'_>) -> Result<Option<T>> {
        decode_opt(query(q.0).fetch_optional(&self.pool).await?)
    }

    async fn read_all<T: FromColumns>(&self, q: Read<'_>) -> Result<Vec<T>> {
        decode_all(query(q.0).fetch_all(&self.pool).await?)
    }

    async fn write(&self, q: Write<'_>) -> Result<u64> {
        Ok(query(q.0).execute(&self.pool).await?.rows_affected())
    }

    async fn write_opt<T: FromColumns>(&self, q: Write<'_>) -> Result<Option<T>> {
        decode_opt(query(q.0).fetch_optional(&self.pool).await?)
    }

    async fn write_tx<T: FromColumns>(&self, first: Write<'_>, rest: Vec<Write<'_>>) -> Result<Option<T>> {
        sql::write_in_tx(self.pool.begin().await?, query, first, rest).await
    }

    async fn read_modify_write<T: FromColumns>(
        &self,
        select: Read<'_>,
        f: &mut (dyn for<'l> FnMut(&'l mut T) -> bool + Send),
        update: for<'t> fn(&'t T) -> Result<Write<'t>>,
    ) -> Result<Option<T>> {
        // The select locks the row (`FOR UPDATE`) until the commit.
        sql::modify_in_tx(self.pool.begin().await?, query, select, f, update).await
    }

    async fn run_migrations(&self) -> Result<()> {
        // sqlx holds a PostgreSQL advisory lock while migrating: concurrent processes queue.
        common::migrator(MIGRATIONS).run(&self.pool).await?;
        Ok(())
    }

    fn touch_throttle(&self) -> &TouchThrottle {
        &self.touch
    }

    async fn tenant(&self, company_id: &str) -> Result<Option<Arc<Tenant>>> {
        // The listener starts with the first read (a CLI command that reads once never waits
        // for it: the cache is used only once a heartbeat came back).
        self.tenants.start(&self.pool);
        if let Some(t) = self.tenants.get(company_id) {
            return Ok(Some(t));
        }
        let epoch = self.tenants.epoch();
        let t = sql::load_tenant(self, company_id).await?.map(Arc::new);
        if let Some(t) = &t {
            self.tenants.put(company_id, t.clone(), epoch);
        }
        Ok(t)
    }

    fn tenant_cache_state(&self) -> &'static str {
        if self.tenants.live() { "notified" } else { "bypassed" }
    }

    fn curated_version(&self, company_id: &str) -> Option<u64> {
        self.tenants.start(&self.pool);
        self.tenants.curated_version(company_id)
    }

    fn tenant_changed(&self, company_id: &str) {
        // This instance's own writes are seen at once (the notification follows).
        self.tenants.invalidate(company_id);
    }

    async fn append(&self, company_id: &str, session_id: &str, messages: &[Message]) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE chat_conversations SET messages = messages || $3, last_activity_at = $4, \
             updated_at = $4 WHERE company_id = $1 AND session_id = $2",
        )
        .bind(company_id)
        .bind(session_id)
        .bind(Json(messages))
        .bind(common::now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn append_and_record(
        &self,
        company_id: &str,
        session_id: &str,
        messages: &[Message],
        turn: &crate::turns::TurnRecord,
    ) -> Result<u64> {
        // The record's own company and session ($1, $2) name the conversation.
        if turn.company_id != company_id || turn.session_id != session_id {
            return Err(Error::Internal("turn record of another conversation".into()));
        }
        // One statement, one round trip: the append, and the record inserted from its
        // `RETURNING` row (none when the conversation does not exist).
        let q = sql::turns::record_stmt(turn)?.bind(sql::json(Some(messages))?).bind(common::now());
        let row = query(Write::new(APPEND_AND_RECORD).bind_all(q.0.args).0).fetch_one(&self.pool).await?;
        Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or_default())
    }

    async fn upsert_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
        messages: &[Message],
        lead: Option<&Lead>,
    ) -> Result<(Conversation, bool)> {
        let sql = if lead.is_some() { UPSERT_CONVERSATION_WITH_LEAD } else { conversation_upsert!() };
        let mut q = Write::new(sql)
            .bind(company_id)
            .bind(user_id)
            .bind(session_id)
            .bind(sql::json(Some(messages))?)
            .bind(common::now());
        if let Some(l) = lead {
            q = with_lead(q, l)?;
        }
        let row = returned(query(q.0).fetch_optional(&self.pool).await?, "conversation upsert")?;
        let inserted = lead.is_some() && row.try_get::<i64, _>("lead_inserted")? > 0;
        Ok((Conversation::from_columns(&row)?, inserted))
    }

    async fn upsert_chunk_rows(&self, chunks: &[ChunkRecord]) -> Result<()> {
        let now = common::now();
        let chunks = common::dedup_chunks(chunks);
        let mut tx = self.pool.begin().await?;
        for batch in chunks.chunks(UPSERT_BATCH) {
            let companies: Vec<&str> = batch.iter().map(|c| c.company_id.as_str()).collect();
            let ids: Vec<&str> = batch.iter().map(|c| c.vector_id.as_str()).collect();
            let contents: Vec<&str> = batch.iter().map(|c| c.content.as_str()).collect();
            let metadata: Vec<Option<Json<&serde_json::Value>>> =
                batch.iter().map(|c| (!c.metadata.is_null()).then_some(Json(&c.metadata))).collect();
            let sources: Vec<Option<&str>> = batch.iter().map(|c| c.source.as_deref()).collect();
            sqlx::query(
                "INSERT INTO pinecone_vectors (company_id, vector_id, content, metadata, source, created_at, \
                 updated_at) SELECT u.c, u.v, u.t, u.m, u.s, $6, $6 \
                 FROM UNNEST($1::varchar[], $2::varchar[], $3::text[], $4::jsonb[], $5::varchar[]) \
                 AS u(c, v, t, m, s) \
                 ON CONFLICT (company_id, vector_id) DO UPDATE SET content = excluded.content, \
                 metadata = excluded.metadata, source = excluded.source, updated_at = excluded.updated_at",
            )
            .bind(companies)
            .bind(ids)
            .bind(contents)
            .bind(metadata)
            .bind(sources)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
