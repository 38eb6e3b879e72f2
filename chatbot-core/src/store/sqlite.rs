//! SQLite implementation of [`Store`] (the embedded default).
//!
//! One database file in WAL mode: readers run concurrently with the one writer, `busy_timeout`
//! queues writers, and every write that must be atomic is a single statement (or a transaction
//! whose first statement writes, so it never has to upgrade a read lock). Timestamps are stored as
//! fixed-width RFC 3339 UTC text with microseconds, JSON as text.

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::types::Json;

use super::group_commit::GroupCommit;
use super::rows::{self, TouchThrottle, ts, ts_opt};
use super::wal_stamp::{Stamp, WalStamp};
use super::{ChunkRecord, EmbedderIdentity, SourceState, Store, WebhookDelivery};
use crate::auth::ApiKey;
use crate::cache::GenCache;
use crate::conversation::{Conversation, Message, Session};
use crate::error::{Error, Result};
use crate::lead::{Lead, LeadFilter};
use crate::tenant::{AiConfig, Company, NewCompany, WidgetSettings, WidgetSettingsPatch};

/// SQLite store.
pub struct SqliteStore {
    /// Readers: several connections, concurrent under WAL, each behind its own mutex (see
    /// `writer` for why not a pool).
    readers: Vec<std::sync::Arc<tokio::sync::Mutex<sqlx::SqliteConnection>>>,
    next_reader: std::sync::atomic::AtomicUsize,
    /// A small pool for migrations and tests (its connections close when idle).
    pool: sqlx::SqlitePool,
    /// The one writer. SQLite admits one write transaction at a time; writers sharing the
    /// reader pool would collide on its lock and back off in `busy_timeout` sleeps (1, 2, 5,
    /// 10 ms ...), so writes queue here, in order, instead. A plain connection behind a fair
    /// async mutex rather than a one-connection pool: a pool pings its connection on every
    /// release (a second trip to the connection's thread) and hands it over through a spawned
    /// task.
    writer: std::sync::Arc<tokio::sync::Mutex<sqlx::SqliteConnection>>,
    /// The chat turns' hot writes (conversation appends, a new visitor's lead) queue here and
    /// commit together on `writer` (see `group_commit`).
    group: GroupCommit,
    touch: TouchThrottle,
    /// The database's commit stamp (its wal-index header), read without a query.
    stamp: WalStamp,
    /// Companies with their widget settings (every widget request's first read), each stamped
    /// with the commit stamp read before its query: an entry is served only while the stamp is
    /// unchanged, so a write by any connection or process is seen by the next read.
    tenants: GenCache<String, (Stamp, Arc<Tenant>)>,
    /// The background checkpointer runs while this lives.
    _alive: std::sync::Arc<()>,
}

/// A company with its widget settings, as one request's tenant context needs them.
type Tenant = (Company, Option<WidgetSettings>);

/// Companies kept in the stamped tenant cache (a safety bound; entries are small).
const TENANT_CACHE_ENTRIES: usize = 10_000;
/// Age limit of a tenant cache entry (a safety net; the stamp decides freshness).
const TENANT_CACHE_AGE: Duration = Duration::from_secs(60);

/// How often the background checkpointer copies the WAL back into the database file.
/// Smaller, more frequent passes keep the copying from stalling turns: new-visitor chat p99
/// measured 40-44 ms at 50 ms (4 runs), 38-60 ms at 100 ms, 84-130 ms at 1 s.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
/// WAL pages (4 KiB) after which the writer checkpoints itself (SQLite's default is 1,000; the
/// background checkpointer normally keeps the WAL far below this).
const WRITER_CHECKPOINT_PAGES: u32 = 16_384;

/// Copy the WAL back into the database file every [`CHECKPOINT_EVERY`], on a reader connection,
/// in PASSIVE mode (never waits for, nor blocks, the writer or readers). Left to the writer,
/// this copying and its fsyncs happen inside a chat turn's write every 1,000 pages, and the
/// serial writer waits for them: new-visitor chat throughput measured 1,300/s that way, 2,100/s
/// without. Stops when the store is dropped.
fn spawn_checkpointer(
    conn: std::sync::Arc<tokio::sync::Mutex<sqlx::SqliteConnection>>,
    alive: std::sync::Weak<()>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if alive.strong_count() == 0 {
                break;
            }
            let mut c = conn.lock().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *c).await {
                tracing::debug!(error = %e, "background WAL checkpoint failed");
            }
        }
    });
}

macro_rules! company_cols {
    () => {
        "id, company_id, company_name, email, phone, website, logo_url, settings, ai_config, is_active, \
         created_at, updated_at"
    };
}

macro_rules! settings_cols {
    () => {
        "company_id, primary_color, secondary_color, text_color, background_color, border_radius, \
         company_name, company_logo, welcome_message, placeholder_text, position, auto_open, \
         show_typing_indicator, ai_personality, ai_temperature, max_tokens, allowed_origins, \
         created_at, updated_at"
    };
}

macro_rules! key_cols {
    () => {
        "key_id, company_id, kind, prefix, key_hash, created_at, last_used_at, revoked_at"
    };
}

macro_rules! session_cols {
    () => {
        "session_id, company_id, user_id, lead_id, client_ip, expires_at, created_at, last_seen_at"
    };
}

macro_rules! conversation_cols {
    () => {
        "id, company_id, user_id, session_id, messages, metadata, last_activity_at, created_at, updated_at"
    };
}

macro_rules! lead_select {
    () => {
        "SELECT l.lead_id, l.company_id, l.session_id, l.user_id, l.source, l.status, l.is_lead_ready, \
         l.name, l.email, l.phone, l.message, l.ai_summary, l.profile, l.notified_at, l.created_at, \
         l.updated_at, c.messages AS messages \
         FROM leads l LEFT JOIN chat_conversations c \
         ON c.company_id = l.company_id AND c.session_id = l.session_id "
    };
}

macro_rules! chunk_cols {
    () => {
        "company_id, vector_id, content, metadata, source"
    };
}

macro_rules! source_cols {
    () => {
        "company_id, source, title, content_hash, etag, last_modified, chunk_count, ingested_at"
    };
}

/// Most messages one `json_insert` call appends (SQLite caps function arguments at 127).
const APPEND_BATCH: usize = 50;

impl SqliteStore {
    /// Connect, creating the database file (and its directory) if missing. WAL journal,
    /// `synchronous=NORMAL`, a 5 s busy timeout, foreign keys on.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad URL, [`Error::Storage`] when it cannot open the file.
    pub async fn connect(url: &str) -> Result<Self> {
        let mut options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::Config(format!("bad SQLite URL {url:?}: {e}")))?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if in_memory {
            // A private in-memory database exists per connection; the reader pool and the writer
            // must share one: a named one with a shared cache, alive while the writer is open.
            let name = crate::auth::random_token("chatbot-mem-", 8);
            options = SqliteConnectOptions::from_str(&format!("sqlite:file:{name}?mode=memory&cache=shared"))
                .map_err(|e| Error::Config(format!("in-memory SQLite: {e}")))?;
        }
        if !in_memory
            && let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            tokio::fs::create_dir_all(dir).await?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            .statement_cache_capacity(256)
            // The background checkpointer (below) copies the WAL back into the database off the
            // write path; the writer checkpoints itself only when that falls this far behind.
            .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES.to_string());
        if !in_memory {
            // Switch a new file to WAL on one connection first: journal mode is stored in the
            // file, and pool connections opening a brand-new file at once would race for the
            // exclusive lock the switch needs ("database is locked" at open).
            let first = sqlx::ConnectOptions::connect(&options)
                .await
                .map_err(|e| Error::Storage(format!("cannot open SQLite database {url:?}: {e}")))?;
            sqlx::Connection::close(first).await?;
        }
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let readers = if in_memory { 1 } else { u32::try_from((cores * 2).clamp(4, 16)).unwrap_or(8) };
        let cannot_open =
            |e: sqlx::Error| Error::Storage(format!("cannot open SQLite database {url:?}: {e}"));
        let writer = sqlx::ConnectOptions::connect(&options).await.map_err(cannot_open)?;
        let writer = std::sync::Arc::new(tokio::sync::Mutex::new(writer));
        let mut conns = Vec::new();
        for _ in 0..readers {
            let c = sqlx::ConnectOptions::connect(&options).await.map_err(cannot_open)?;
            conns.push(std::sync::Arc::new(tokio::sync::Mutex::new(c)));
        }
        // Opened on use, closed when idle (each connection is a thread).
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .min_connections(0)
            .idle_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(cannot_open)?;
        let alive = std::sync::Arc::new(());
        if !in_memory {
            // On the first reader connection: no thread of its own (a thread is ~8 MB of RSS
            // under load); it holds that reader for a few milliseconds every tick.
            if let Some(first) = conns.first() {
                spawn_checkpointer(first.clone(), std::sync::Arc::downgrade(&alive));
            }
        }
        // The wal-index exists now (WAL connections are open) and stays while they live.
        let stamp = if in_memory { WalStamp::none() } else { WalStamp::open(options.get_filename()) };
        Ok(Self {
            readers: conns,
            next_reader: std::sync::atomic::AtomicUsize::new(0),
            pool,
            group: GroupCommit::start(writer.clone()),
            writer,
            touch: TouchThrottle::default(),
            stamp,
            tenants: GenCache::new(TENANT_CACHE_ENTRIES, TENANT_CACHE_AGE),
            _alive: alive,
        })
    }

    /// A free reader connection (any; else wait for one in turn).
    async fn reader(&self) -> tokio::sync::OwnedMutexGuard<sqlx::SqliteConnection> {
        let n = self.readers.len().max(1);
        let start = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n;
        for i in 0..n {
            if let Some(c) = self.readers.get((start + i) % n)
                && let Ok(guard) = c.clone().try_lock_owned()
            {
                return guard;
            }
        }
        match self.readers.get(start) {
            Some(c) => c.clone().lock_owned().await,
            // Never empty (connect opens at least one); the writer serves as a last resort.
            None => self.writer.clone().lock_owned().await,
        }
    }

    /// The company and its settings: from the stamped cache while no commit happened since it
    /// was read, else from the database (one query).
    async fn tenant(&self, company_id: &str) -> Result<Option<Arc<Tenant>>> {
        // Read before the query: the query's snapshot is at least this new.
        let stamp = self.stamp.read();
        if let Some(now) = stamp
            && let Some((at, t)) = self.tenants.get(company_id)
            && at == now
        {
            return Ok(Some(t));
        }
        let loaded = self.load_company_with_settings(company_id).await?.map(Arc::new);
        if let (Some(s), Some(t)) = (stamp, &loaded) {
            self.tenants.insert(company_id.to_string(), (s, t.clone()));
        }
        Ok(loaded)
    }

    async fn load_company_with_settings(&self, company_id: &str) -> Result<Option<Tenant>> {
        let row = sqlx::query(rows::COMPANY_WITH_SETTINGS_SQL)
            .bind(company_id)
            .fetch_optional(&mut *self.reader().await)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let company = company_row_p(&r, "c_")?;
        let has_settings: Option<String> = r.try_get("company_id")?;
        let settings = if has_settings.is_some() { Some(settings_row(&r)?) } else { None };
        Ok(Some((company, settings)))
    }

    /// Run `sql` (the conversation upsert, then the lead insert when `lead` is given) as a
    /// group-committed write and return its rows (the conversation's, then the lead id if the
    /// lead was inserted).
    async fn upsert_conversation_rows(
        &self,
        sql: String,
        company_id: &str,
        user_id: &str,
        session_id: &str,
        messages: &[Message],
        lead: Option<&Lead>,
    ) -> Result<Vec<SqliteRow>> {
        let d = Arc::new((
            sql,
            company_id.to_string(),
            user_id.to_string(),
            session_id.to_string(),
            messages.to_vec(),
            lead.cloned(),
        ));
        self.group
            .write(Box::new(move |conn| {
                let d = d.clone();
                Box::pin(async move {
                    let (sql, cid, uid, sid, messages, lead) = &*d;
                    let q = bind_conversation_upsert(
                        sqlx::query(sqlx::AssertSqlSafe(sql.as_str())),
                        cid,
                        uid,
                        sid,
                        messages,
                    )?;
                    let q = match lead {
                        Some(l) => bind_lead_details(q.bind(&l.lead_id).bind(&l.user_id), l),
                        None => q,
                    };
                    Ok(q.fetch_all(conn).await?)
                })
            }))
            .await
    }

    /// True when company and settings reads are served from the stamped cache (a database
    /// file in WAL mode; an in-memory database always reads).
    pub fn caches_tenant_reads(&self) -> bool {
        self.stamp.read().is_some()
    }

    /// Group commits so far: (batches, writes in them). Writes > batches once concurrent
    /// turns shared commits.
    pub fn group_commit_stats(&self) -> (u64, u64) {
        self.group.stats()
    }

    /// The underlying pool (for tests and tools).
    pub fn pool(&self) -> &sqlx::SqlitePool {
        &self.pool
    }
}

fn company_row(r: &SqliteRow) -> Result<Company> {
    company_row_p(r, "")
}

/// A company from columns named with `prefix` (a join's aliases).
fn company_row_p(r: &SqliteRow, prefix: &str) -> Result<Company> {
    let c = |name: &str| format!("{prefix}{name}");
    let settings: Option<Json<serde_json::Value>> = r.try_get(c("settings").as_str())?;
    let ai_config: Option<Json<serde_json::Value>> = r.try_get(c("ai_config").as_str())?;
    Ok(Company {
        id: r.try_get(c("id").as_str())?,
        company_id: r.try_get(c("company_id").as_str())?,
        company_name: r.try_get(c("company_name").as_str())?,
        email: r.try_get(c("email").as_str())?,
        phone: r.try_get(c("phone").as_str())?,
        website: r.try_get(c("website").as_str())?,
        logo_url: r.try_get(c("logo_url").as_str())?,
        settings: settings.map(|j| j.0),
        ai_config: rows::parse_ai_config(ai_config.map(|j| j.0))?,
        is_active: r.try_get(c("is_active").as_str())?,
        created_at: r.try_get(c("created_at").as_str())?,
        updated_at: r.try_get(c("updated_at").as_str())?,
    })
}

fn settings_row(r: &SqliteRow) -> Result<WidgetSettings> {
    let position: String = r.try_get("position")?;
    let origins: Json<Vec<String>> = r.try_get("allowed_origins")?;
    Ok(WidgetSettings {
        company_id: r.try_get("company_id")?,
        primary_color: r.try_get("primary_color")?,
        secondary_color: r.try_get("secondary_color")?,
        text_color: r.try_get("text_color")?,
        background_color: r.try_get("background_color")?,
        border_radius: r.try_get("border_radius")?,
        company_name: r.try_get("company_name")?,
        company_logo: r.try_get("company_logo")?,
        welcome_message: r.try_get("welcome_message")?,
        placeholder_text: r.try_get("placeholder_text")?,
        position: rows::parse_position(&position)?,
        auto_open: r.try_get("auto_open")?,
        show_typing_indicator: r.try_get("show_typing_indicator")?,
        ai_personality: r.try_get("ai_personality")?,
        ai_temperature: r.try_get("ai_temperature")?,
        max_tokens: r.try_get("max_tokens")?,
        allowed_origins: origins.0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn key_row(r: &SqliteRow) -> Result<ApiKey> {
    let kind: String = r.try_get("kind")?;
    Ok(ApiKey {
        key_id: r.try_get("key_id")?,
        company_id: r.try_get("company_id")?,
        kind: rows::parse_kind(&kind)?,
        prefix: r.try_get("prefix")?,
        key_hash: r.try_get("key_hash")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn session_row(r: &SqliteRow) -> Result<Session> {
    Ok(Session {
        session_id: r.try_get("session_id")?,
        company_id: r.try_get("company_id")?,
        user_id: r.try_get("user_id")?,
        lead_id: r.try_get("lead_id")?,
        client_ip: r.try_get("client_ip")?,
        expires_at: r.try_get("expires_at")?,
        created_at: r.try_get("created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
    })
}

fn conversation_row(r: &SqliteRow) -> Result<Conversation> {
    let messages: Json<Vec<Message>> = r.try_get("messages")?;
    let metadata: Option<Json<serde_json::Value>> = r.try_get("metadata")?;
    Ok(Conversation {
        id: r.try_get("id")?,
        company_id: r.try_get("company_id")?,
        user_id: r.try_get("user_id")?,
        session_id: r.try_get("session_id")?,
        messages: messages.0,
        metadata: metadata.map(|j| j.0),
        last_activity_at: r.try_get("last_activity_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn lead_row(r: &SqliteRow) -> Result<Lead> {
    let status: String = r.try_get("status")?;
    let profile: Json<serde_json::Map<String, serde_json::Value>> = r.try_get("profile")?;
    let messages: Option<Json<Vec<Message>>> = r.try_get("messages")?;
    Ok(Lead {
        lead_id: r.try_get("lead_id")?,
        company_id: r.try_get("company_id")?,
        session_id: r.try_get("session_id")?,
        user_id: r.try_get("user_id")?,
        source: r.try_get("source")?,
        status: rows::parse_status(&status)?,
        is_lead_ready: r.try_get("is_lead_ready")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        phone: r.try_get("phone")?,
        message: r.try_get("message")?,
        messages: messages.map(|j| j.0).unwrap_or_default(),
        ai_summary: r.try_get("ai_summary")?,
        profile: profile.0,
        notified_at: r.try_get("notified_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn chunk_row(r: &SqliteRow) -> Result<ChunkRecord> {
    let metadata: Option<Json<serde_json::Value>> = r.try_get("metadata")?;
    Ok(ChunkRecord {
        company_id: r.try_get("company_id")?,
        vector_id: r.try_get("vector_id")?,
        content: r.try_get("content")?,
        metadata: metadata.map(|j| j.0).unwrap_or(serde_json::Value::Null),
        source: r.try_get("source")?,
    })
}

fn source_row(r: &SqliteRow) -> Result<SourceState> {
    Ok(SourceState {
        company_id: r.try_get("company_id")?,
        source: r.try_get("source")?,
        title: r.try_get("title")?,
        content_hash: r.try_get("content_hash")?,
        etag: r.try_get("etag")?,
        last_modified: r.try_get("last_modified")?,
        chunk_count: r.try_get("chunk_count")?,
        ingested_at: r.try_get("ingested_at")?,
    })
}

fn delivery_row(r: &SqliteRow) -> Result<WebhookDelivery> {
    Ok(WebhookDelivery {
        company_id: r.try_get("company_id")?,
        lead_id: r.try_get("lead_id")?,
        url: r.try_get("url")?,
        attempts: r.try_get("attempts")?,
        status_code: r.try_get("status_code")?,
        error: r.try_get("error")?,
        delivered: r.try_get("delivered")?,
        created_at: r.try_get("created_at")?,
    })
}

fn json_null_to_none(v: &serde_json::Value) -> Option<Json<&serde_json::Value>> {
    if v.is_null() { None } else { Some(Json(v)) }
}

/// `UPDATE ... SET messages = json_insert(messages, '$[#]', json($4), '$[#]', json($5), ...)`:
/// one statement appends `n` messages in order (each `$[#]` is the end of the array so far).
fn append_sql(n: usize) -> String {
    let mut sql = String::from("UPDATE chat_conversations SET messages = json_insert(messages");
    for i in 0..n {
        sql.push_str(&format!(", '$[#]', json(${})", i + 4));
    }
    sql.push_str("), last_activity_at = $3, updated_at = $3 WHERE company_id = $1 AND session_id = $2");
    sql
}

/// [`append_sql`] with its arguments: company, session, the time, then the encoded messages.
fn append_query<'q>(
    sql: &'q str,
    company_id: &'q str,
    session_id: &'q str,
    now: &'q str,
    encoded: &'q [String],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(session_id).bind(now);
    for m in encoded {
        q = q.bind(m);
    }
    q
}

/// The conversation upsert: create the session's conversation holding `n` messages, or append
/// them to it, `RETURNING` its columns. Arguments: $1 company, $2 user, $3 session, $4 now, then
/// one per message (bound by [`bind_conversation_upsert`]).
fn conversation_upsert_sql(n: usize) -> String {
    let params: Vec<String> = (0..n).map(|i| format!("json(${})", i + 5)).collect();
    let appended: String = params.iter().map(|p| format!(", '$[#]', {p}")).collect();
    format!(
        "INSERT INTO chat_conversations (company_id, user_id, session_id, messages, last_activity_at, \
         created_at, updated_at) VALUES ($1, $2, $3, json_array({}), $4, $4, $4) \
         ON CONFLICT (company_id, session_id) DO UPDATE SET \
         messages = json_insert(chat_conversations.messages{appended}), \
         last_activity_at = excluded.last_activity_at, updated_at = excluded.updated_at \
         RETURNING {}",
        params.join(", "),
        conversation_cols!()
    )
}

/// Bind the arguments of [`conversation_upsert_sql`].
fn bind_conversation_upsert<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    company_id: &'q str,
    user_id: &'q str,
    session_id: &'q str,
    messages: &[Message],
) -> Result<sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>> {
    let mut q = q.bind(company_id).bind(user_id).bind(session_id).bind(ts(&rows::now()));
    for m in messages {
        q = q.bind(serde_json::to_string(m)?);
    }
    Ok(q)
}

/// Bind a lead's columns from `source` to `updated_at`, in table order (the inserts' tail).
fn bind_lead_details<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    l: &'q Lead,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    q.bind(&l.source)
        .bind(l.status.as_str())
        .bind(l.is_lead_ready)
        .bind(&l.name)
        .bind(&l.email)
        .bind(&l.phone)
        .bind(&l.message)
        .bind(&l.ai_summary)
        .bind(Json(&l.profile))
        .bind(ts_opt(l.notified_at.as_ref()))
        .bind(ts(&l.created_at))
        .bind(ts(&l.updated_at))
}

/// `UPDATE leads` of every mutable field; the number of rows changed.
async fn exec_update_lead<'e, E: sqlx::Executor<'e, Database = sqlx::Sqlite>>(e: E, l: &Lead) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE leads SET user_id = $3, source = $4, status = $5, is_lead_ready = $6, name = $7, \
         email = $8, phone = $9, message = $10, ai_summary = $11, profile = $12, notified_at = $13, \
         updated_at = $14 WHERE lead_id = $1 AND company_id = $2",
    )
    .bind(&l.lead_id)
    .bind(&l.company_id)
    .bind(&l.user_id)
    .bind(&l.source)
    .bind(l.status.as_str())
    .bind(l.is_lead_ready)
    .bind(&l.name)
    .bind(&l.email)
    .bind(&l.phone)
    .bind(&l.message)
    .bind(&l.ai_summary)
    .bind(Json(&l.profile))
    .bind(ts_opt(l.notified_at.as_ref()))
    .bind(ts(&rows::now()))
    .execute(e)
    .await?;
    Ok(done.rows_affected())
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<()> {
        // SQLite has no advisory lock: when two processes migrate one new file at once, the
        // loser fails on the version row; its retry then finds the migration applied.
        let migrator = rows::migrator(rows::SQLITE_MIGRATIONS);
        let mut last = None;
        for attempt in 0..5u64 {
            match migrator.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::debug!(attempt, error = %e, "sqlite migration attempt failed; retrying");
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
                }
            }
        }
        Err(last.map_or_else(|| Error::Storage("migration failed".into()), Error::from))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&mut *self.reader().await).await?;
        Ok(())
    }

    async fn create_company(&self, new: &NewCompany) -> Result<Company> {
        let now = rows::now();
        let defaults = WidgetSettings::defaults_for(&new.company_id, &new.company_name, now);
        let mut conn = self.writer.lock().await;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let inserted = sqlx::query(concat!(
            "INSERT INTO user_companies (company_id, company_name, email, phone, website, logo_url, \
             settings, ai_config, is_active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, 1, $8, $8) RETURNING ",
            company_cols!()
        ))
        .bind(&new.company_id)
        .bind(&new.company_name)
        .bind(&new.email)
        .bind(&new.phone)
        .bind(&new.website)
        .bind(&new.logo_url)
        .bind(Json(&new.ai_config))
        .bind(ts(&now))
        .fetch_one(&mut *tx)
        .await;
        let row = match inserted {
            Ok(row) => row,
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                return Err(Error::Conflict(format!("company {} already exists", new.company_id)));
            }
            Err(e) => return Err(e.into()),
        };
        let company = company_row(&row)?;
        // Every other column takes the schema's defaults (the seed's).
        sqlx::query(
            "INSERT INTO widget_settings (company_id, company_name, welcome_message, allowed_origins, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&new.company_id)
        .bind(&new.company_name)
        .bind(&defaults.welcome_message)
        .bind(Json(&new.allowed_origins))
        .bind(ts(&now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(company)
    }

    async fn get_company(&self, company_id: &str) -> Result<Option<Company>> {
        let row =
            sqlx::query(concat!("SELECT ", company_cols!(), " FROM user_companies WHERE company_id = $1"))
                .bind(company_id)
                .fetch_optional(&mut *self.reader().await)
                .await?;
        row.as_ref().map(company_row).transpose()
    }

    async fn get_company_with_settings(
        &self,
        company_id: &str,
    ) -> Result<Option<(Company, Option<WidgetSettings>)>> {
        Ok(self.tenant(company_id).await?.map(|t| (t.0.clone(), t.1.clone())))
    }

    async fn list_companies(&self) -> Result<Vec<Company>> {
        let rows = sqlx::query(concat!("SELECT ", company_cols!(), " FROM user_companies ORDER BY id"))
            .fetch_all(&mut *self.reader().await)
            .await?;
        rows.iter().map(company_row).collect()
    }

    async fn set_company_active(&self, company_id: &str, active: bool) -> Result<()> {
        let done =
            sqlx::query("UPDATE user_companies SET is_active = $2, updated_at = $3 WHERE company_id = $1")
                .bind(company_id)
                .bind(active)
                .bind(ts(&rows::now()))
                .execute(&mut *self.writer.lock().await)
                .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("company {company_id}")));
        }
        Ok(())
    }

    async fn update_ai_config(&self, company_id: &str, config: &AiConfig) -> Result<()> {
        let done =
            sqlx::query("UPDATE user_companies SET ai_config = $2, updated_at = $3 WHERE company_id = $1")
                .bind(company_id)
                .bind(Json(config))
                .bind(ts(&rows::now()))
                .execute(&mut *self.writer.lock().await)
                .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("company {company_id}")));
        }
        Ok(())
    }

    async fn get_widget_settings(&self, company_id: &str) -> Result<Option<WidgetSettings>> {
        Ok(self.tenant(company_id).await?.and_then(|t| t.1.clone()))
    }

    async fn get_public_widget_settings(&self, company_id: &str) -> Result<Option<(bool, WidgetSettings)>> {
        Ok(self.tenant(company_id).await?.and_then(|t| t.1.as_ref().map(|s| (t.0.is_active, s.clone()))))
    }

    async fn update_widget_settings(
        &self,
        company_id: &str,
        patch: &WidgetSettingsPatch,
    ) -> Result<WidgetSettings> {
        let row = sqlx::query(concat!(
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
             updated_at = $18 \
             WHERE company_id = $19 RETURNING ",
            settings_cols!()
        ))
        .bind(&patch.primary_color)
        .bind(&patch.secondary_color)
        .bind(&patch.text_color)
        .bind(&patch.background_color)
        .bind(patch.border_radius)
        .bind(&patch.company_name)
        .bind(patch.company_logo.is_some())
        .bind(patch.company_logo.clone().flatten())
        .bind(&patch.welcome_message)
        .bind(&patch.placeholder_text)
        .bind(patch.position.map(|p| p.as_str()))
        .bind(patch.auto_open)
        .bind(patch.show_typing_indicator)
        .bind(&patch.ai_personality)
        .bind(patch.ai_temperature)
        .bind(patch.max_tokens)
        .bind(patch.allowed_origins.as_ref().map(Json))
        .bind(ts(&rows::now()))
        .bind(company_id)
        .fetch_optional(&mut *self.writer.lock().await)
        .await?;
        match row {
            Some(r) => settings_row(&r),
            None => Err(Error::not_found(format!("widget settings of company {company_id}"))),
        }
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (key_id, company_id, kind, prefix, key_hash, created_at, last_used_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&key.key_id)
        .bind(&key.company_id)
        .bind(key.kind.as_str())
        .bind(&key.prefix)
        .bind(&key.key_hash)
        .bind(ts(&key.created_at))
        .bind(ts_opt(key.last_used_at.as_ref()))
        .bind(ts_opt(key.revoked_at.as_ref()))
        .execute(&mut *self.writer.lock().await)
        .await?;
        Ok(())
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let row = sqlx::query(concat!("SELECT ", key_cols!(), " FROM api_keys WHERE key_hash = $1"))
            .bind(key_hash)
            .fetch_optional(&mut *self.reader().await)
            .await?;
        row.as_ref().map(key_row).transpose()
    }

    async fn list_api_keys(&self, company_id: &str) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            key_cols!(),
            " FROM api_keys WHERE company_id = $1 ORDER BY created_at DESC, key_id DESC"
        ))
        .bind(company_id)
        .fetch_all(&mut *self.reader().await)
        .await?;
        rows.iter().map(key_row).collect()
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1")
            .bind(key_id)
            .bind(ts(&rows::now()))
            .execute(&mut *self.writer.lock().await)
            .await?;
        self.touch.forget(key_id);
        Ok(done.rows_affected() > 0)
    }

    async fn touch_api_key(&self, key_id: &str, at: DateTime<Utc>) -> Result<()> {
        if !self.touch.should_write(key_id, at) {
            return Ok(());
        }
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1")
            .bind(key_id)
            .bind(ts(&at))
            .execute(&mut *self.writer.lock().await)
            .await?;
        Ok(())
    }

    async fn insert_session(&self, s: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (session_id, company_id, user_id, lead_id, client_ip, expires_at, \
             created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.session_id)
        .bind(&s.company_id)
        .bind(&s.user_id)
        .bind(&s.lead_id)
        .bind(&s.client_ip)
        .bind(ts(&s.expires_at))
        .bind(ts(&s.created_at))
        .bind(ts(&s.last_seen_at))
        .execute(&mut *self.writer.lock().await)
        .await?;
        Ok(())
    }

    async fn get_session(&self, company_id: &str, session_id: &str) -> Result<Option<Session>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE session_id = $1 AND company_id = $2"
        ))
        .bind(session_id)
        .bind(company_id)
        .fetch_optional(&mut *self.reader().await)
        .await?;
        row.as_ref().map(session_row).transpose()
    }

    async fn update_session(&self, s: &Session) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sessions SET user_id = $3, lead_id = $4, client_ip = $5, expires_at = $6, \
             last_seen_at = $7 WHERE session_id = $1 AND company_id = $2",
        )
        .bind(&s.session_id)
        .bind(&s.company_id)
        .bind(&s.user_id)
        .bind(&s.lead_id)
        .bind(&s.client_ip)
        .bind(ts(&s.expires_at))
        .bind(ts(&s.last_seen_at))
        .execute(&mut *self.writer.lock().await)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("session"));
        }
        Ok(())
    }

    async fn ensure_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
    ) -> Result<Conversation> {
        if let Some(c) = self.get_conversation(company_id, session_id).await? {
            return Ok(c);
        }
        let now = ts(&rows::now());
        sqlx::query(
            "INSERT INTO chat_conversations (company_id, user_id, session_id, messages, last_activity_at, \
             created_at, updated_at) VALUES ($1, $2, $3, '[]', $4, $4, $4) \
             ON CONFLICT (company_id, session_id) DO NOTHING",
        )
        .bind(company_id)
        .bind(user_id)
        .bind(session_id)
        .bind(&now)
        .execute(&mut *self.writer.lock().await)
        .await?;
        self.get_conversation(company_id, session_id)
            .await?
            .ok_or_else(|| Error::Internal("conversation vanished right after its insert".into()))
    }

    async fn get_conversation(&self, company_id: &str, session_id: &str) -> Result<Option<Conversation>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            conversation_cols!(),
            " FROM chat_conversations WHERE company_id = $1 AND session_id = $2"
        ))
        .bind(company_id)
        .bind(session_id)
        .fetch_optional(&mut *self.reader().await)
        .await?;
        row.as_ref().map(conversation_row).transpose()
    }

    async fn append_messages(&self, company_id: &str, session_id: &str, messages: &[Message]) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let now = ts(&rows::now());
        let encoded = messages.iter().map(serde_json::to_string).collect::<Result<Vec<_>, _>>()?;
        let affected = if encoded.len() <= APPEND_BATCH {
            // The common case: one statement, atomic on its own; it joins a group commit.
            let d = Arc::new((
                append_sql(encoded.len()),
                company_id.to_string(),
                session_id.to_string(),
                now,
                encoded,
            ));
            self.group
                .write(Box::new(move |conn| {
                    let d = d.clone();
                    Box::pin(async move {
                        let (sql, cid, sid, now, encoded) = &*d;
                        Ok(append_query(sql, cid, sid, now, encoded).execute(conn).await?.rows_affected())
                    })
                }))
                .await?
        } else {
            let mut conn = self.writer.lock().await;
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let mut affected = 0;
            for batch in encoded.chunks(APPEND_BATCH) {
                let sql = append_sql(batch.len());
                affected = append_query(&sql, company_id, session_id, &now, batch)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if affected == 0 {
                    break;
                }
            }
            tx.commit().await?;
            affected
        };
        if affected == 0 {
            return Err(Error::not_found("conversation"));
        }
        Ok(())
    }

    async fn append_to_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
        messages: &[Message],
    ) -> Result<Conversation> {
        if messages.is_empty() || messages.len() > APPEND_BATCH {
            self.ensure_conversation(company_id, session_id, user_id).await?;
            self.append_messages(company_id, session_id, messages).await?;
            return self
                .get_conversation(company_id, session_id)
                .await?
                .ok_or_else(|| Error::not_found("conversation"));
        }
        let rows = self
            .upsert_conversation_rows(
                conversation_upsert_sql(messages.len()),
                company_id,
                user_id,
                session_id,
                messages,
                None,
            )
            .await?;
        rows.first()
            .ok_or_else(|| Error::Internal("conversation upsert returned no row".into()))
            .and_then(conversation_row)
    }

    async fn append_to_conversation_with_lead(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
        messages: &[Message],
        l: &Lead,
    ) -> Result<(Conversation, bool)> {
        if l.company_id != company_id || l.session_id != session_id {
            return Err(Error::Internal("lead of another conversation".into()));
        }
        if messages.is_empty() || messages.len() > APPEND_BATCH {
            let conv = self.append_to_conversation(company_id, session_id, user_id, messages).await?;
            let inserted = match self.insert_lead(l).await {
                Ok(()) => true,
                Err(Error::Conflict(_)) => false,
                Err(e) => return Err(e),
            };
            return Ok((conv, inserted));
        }
        // Two statements in one command (one trip to the connection's thread); `$n` numbers
        // index one shared argument list: the upsert's, then the lead's.
        let n = messages.len();
        let lead_params: Vec<String> = (0..14).map(|i| format!("${}", n + 5 + i)).collect();
        let sql = format!(
            "{}; INSERT INTO leads (company_id, session_id, lead_id, user_id, source, status, \
             is_lead_ready, name, email, phone, message, ai_summary, profile, notified_at, created_at, \
             updated_at) VALUES ($1, $3, {}) ON CONFLICT (company_id, session_id) DO NOTHING \
             RETURNING lead_id",
            conversation_upsert_sql(n),
            lead_params.join(", ")
        );
        let rows =
            self.upsert_conversation_rows(sql, company_id, user_id, session_id, messages, Some(l)).await?;
        let conv = rows
            .first()
            .ok_or_else(|| Error::Internal("conversation upsert returned no row".into()))
            .and_then(conversation_row)?;
        Ok((conv, rows.len() > 1))
    }

    async fn list_conversations(
        &self,
        company_id: &str,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            conversation_cols!(),
            " FROM chat_conversations WHERE company_id = $1 \
             ORDER BY last_activity_at DESC, id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(company_id)
        .bind(rows::sqlite_limit(limit))
        .bind(i64::from(offset))
        .fetch_all(&mut *self.reader().await)
        .await?;
        rows.iter().map(conversation_row).collect()
    }

    async fn delete_conversation(&self, company_id: &str, session_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM chat_conversations WHERE company_id = $1 AND session_id = $2")
            .bind(company_id)
            .bind(session_id)
            .execute(&mut *self.writer.lock().await)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_lead(&self, l: &Lead) -> Result<()> {
        let q = sqlx::query(
            "INSERT INTO leads (lead_id, company_id, session_id, user_id, source, status, is_lead_ready, \
             name, email, phone, message, ai_summary, profile, notified_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&l.lead_id)
        .bind(&l.company_id)
        .bind(&l.session_id)
        .bind(&l.user_id);
        bind_lead_details(q, l).execute(&mut *self.writer.lock().await).await?;
        Ok(())
    }

    async fn get_lead(&self, company_id: &str, lead_id: &str) -> Result<Option<Lead>> {
        let row = sqlx::query(concat!(lead_select!(), "WHERE l.lead_id = $1 AND l.company_id = $2"))
            .bind(lead_id)
            .bind(company_id)
            .fetch_optional(&mut *self.reader().await)
            .await?;
        row.as_ref().map(lead_row).transpose()
    }

    async fn get_lead_by_session(&self, company_id: &str, session_id: &str) -> Result<Option<Lead>> {
        let row = sqlx::query(concat!(lead_select!(), "WHERE l.company_id = $1 AND l.session_id = $2"))
            .bind(company_id)
            .bind(session_id)
            .fetch_optional(&mut *self.reader().await)
            .await?;
        row.as_ref().map(lead_row).transpose()
    }

    async fn find_lead_any_company(&self, lead_id: &str) -> Result<Option<Lead>> {
        let row = sqlx::query(concat!(lead_select!(), "WHERE l.lead_id = $1"))
            .bind(lead_id)
            .fetch_optional(&mut *self.reader().await)
            .await?;
        row.as_ref().map(lead_row).transpose()
    }

    async fn update_lead(&self, l: &Lead) -> Result<()> {
        if exec_update_lead(&mut *self.writer.lock().await, l).await? == 0 {
            return Err(Error::not_found(format!("lead {}", l.lead_id)));
        }
        Ok(())
    }

    async fn modify_lead(
        &self,
        company_id: &str,
        lead_id: &str,
        f: &mut (dyn for<'l> FnMut(&'l mut Lead) -> bool + Send),
    ) -> Result<Option<Lead>> {
        // IMMEDIATE: take the write lock before the read, so nobody writes in between.
        let mut conn = self.writer.lock().await;
        let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
        let row = sqlx::query(concat!(lead_select!(), "WHERE l.lead_id = $1 AND l.company_id = $2"))
            .bind(lead_id)
            .bind(company_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(mut lead) = row.as_ref().map(lead_row).transpose()? else {
            return Ok(None);
        };
        if f(&mut lead) {
            exec_update_lead(&mut *tx, &lead).await?;
            tx.commit().await?;
        }
        Ok(Some(lead))
    }

    async fn list_leads(&self, company_id: &str, filter: &LeadFilter) -> Result<Vec<Lead>> {
        let rows = sqlx::query(concat!(
            lead_select!(),
            "WHERE l.company_id = $1 AND ($2 IS NULL OR l.status = $2) \
             AND ($3 IS NULL OR l.is_lead_ready = $3) \
             ORDER BY l.created_at DESC, l.rowid DESC LIMIT $4 OFFSET $5"
        ))
        .bind(company_id)
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.ready)
        .bind(rows::sqlite_limit(filter.limit))
        .bind(i64::from(filter.offset))
        .fetch_all(&mut *self.reader().await)
        .await?;
        rows.iter().map(lead_row).collect()
    }

    async fn upsert_chunks(&self, chunks: &[ChunkRecord]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        let now = ts(&rows::now());
        let mut conn = self.writer.lock().await;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for c in rows::dedup_chunks(chunks) {
            sqlx::query(
                "INSERT INTO pinecone_vectors (company_id, vector_id, content, metadata, source, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (company_id, vector_id) DO UPDATE SET content = excluded.content, \
                 metadata = excluded.metadata, source = excluded.source, updated_at = excluded.updated_at",
            )
            .bind(&c.company_id)
            .bind(&c.vector_id)
            .bind(&c.content)
            .bind(json_null_to_none(&c.metadata))
            .bind(&c.source)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_chunks(&self, company_id: &str, vector_ids: &[String]) -> Result<Vec<ChunkRecord>> {
        if vector_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            "SELECT ",
            chunk_cols!(),
            " FROM pinecone_vectors WHERE company_id = $1 \
             AND vector_id IN (SELECT value FROM json_each($2))"
        ))
        .bind(company_id)
        .bind(Json(vector_ids))
        .fetch_all(&mut *self.reader().await)
        .await?;
        let found = rows.iter().map(chunk_row).collect::<Result<Vec<_>>>()?;
        Ok(rows::order_like(vector_ids, found))
    }

    async fn chunk_ids_for_source(&self, company_id: &str, source: &str) -> Result<Vec<String>> {
        let ids = sqlx::query_scalar(
            "SELECT vector_id FROM pinecone_vectors WHERE company_id = $1 AND source = $2 ORDER BY vector_id",
        )
        .bind(company_id)
        .bind(source)
        .fetch_all(&mut *self.reader().await)
        .await?;
        Ok(ids)
    }

    async fn delete_chunks(&self, company_id: &str, vector_ids: &[String]) -> Result<u64> {
        if vector_ids.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "DELETE FROM pinecone_vectors WHERE company_id = $1 \
             AND vector_id IN (SELECT value FROM json_each($2))",
        )
        .bind(company_id)
        .bind(Json(vector_ids))
        .execute(&mut *self.writer.lock().await)
        .await?;
        Ok(done.rows_affected())
    }

    async fn list_chunks(&self, company_id: &str, limit: u32, offset: u32) -> Result<Vec<ChunkRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            chunk_cols!(),
            " FROM pinecone_vectors WHERE company_id = $1 ORDER BY vector_id LIMIT $2 OFFSET $3"
        ))
        .bind(company_id)
        .bind(rows::sqlite_limit(limit))
        .bind(i64::from(offset))
        .fetch_all(&mut *self.reader().await)
        .await?;
        rows.iter().map(chunk_row).collect()
    }

    async fn count_chunks(&self, company_id: &str) -> Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM pinecone_vectors WHERE company_id = $1")
            .bind(company_id)
            .fetch_one(&mut *self.reader().await)
            .await?;
        Ok(n)
    }

    async fn upsert_source(&self, s: &SourceState) -> Result<()> {
        sqlx::query(
            "INSERT INTO ingest_sources (company_id, source, title, content_hash, etag, last_modified, \
             chunk_count, ingested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (company_id, source) DO UPDATE SET title = excluded.title, \
             content_hash = excluded.content_hash, etag = excluded.etag, \
             last_modified = excluded.last_modified, chunk_count = excluded.chunk_count, \
             ingested_at = excluded.ingested_at",
        )
        .bind(&s.company_id)
        .bind(&s.source)
        .bind(&s.title)
        .bind(&s.content_hash)
        .bind(&s.etag)
        .bind(&s.last_modified)
        .bind(s.chunk_count)
        .bind(ts(&s.ingested_at))
        .execute(&mut *self.writer.lock().await)
        .await?;
        Ok(())
    }

    async fn get_source(&self, company_id: &str, source: &str) -> Result<Option<SourceState>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            source_cols!(),
            " FROM ingest_sources WHERE company_id = $1 AND source = $2"
        ))
        .bind(company_id)
        .bind(source)
        .fetch_optional(&mut *self.reader().await)
        .await?;
        row.as_ref().map(source_row).transpose()
    }

    async fn list_sources(&self, company_id: &str) -> Result<Vec<SourceState>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            source_cols!(),
            " FROM ingest_sources WHERE company_id = $1 ORDER BY source"
        ))
        .bind(company_id)
        .fetch_all(&mut *self.reader().await)
        .await?;
        rows.iter().map(source_row).collect()
    }

    async fn delete_source(&self, company_id: &str, source: &str) -> Result<()> {
        sqlx::query("DELETE FROM ingest_sources WHERE company_id = $1 AND source = $2")
            .bind(company_id)
            .bind(source)
            .execute(&mut *self.writer.lock().await)
            .await?;
        Ok(())
    }

    async fn get_embedder_identity(&self, company_id: &str) -> Result<Option<EmbedderIdentity>> {
        let row = sqlx::query("SELECT model, dimension FROM company_embedders WHERE company_id = $1")
            .bind(company_id)
            .fetch_optional(&mut *self.reader().await)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(EmbedderIdentity {
                model: r.try_get("model")?,
                dimension: rows::dimension_from_i64(r.try_get("dimension")?)?,
            })),
        }
    }

    async fn set_embedder_identity(&self, company_id: &str, id: Option<&EmbedderIdentity>) -> Result<()> {
        match id {
            None => {
                sqlx::query("DELETE FROM company_embedders WHERE company_id = $1")
                    .bind(company_id)
                    .execute(&mut *self.writer.lock().await)
                    .await?;
            }
            Some(id) => {
                sqlx::query(
                    "INSERT INTO company_embedders (company_id, model, dimension) VALUES ($1, $2, $3) \
                     ON CONFLICT (company_id) DO UPDATE SET model = excluded.model, \
                     dimension = excluded.dimension",
                )
                .bind(company_id)
                .bind(&id.model)
                .bind(rows::dimension_to_i64(id.dimension)?)
                .execute(&mut *self.writer.lock().await)
                .await?;
            }
        }
        Ok(())
    }

    async fn add_token_usage(&self, company_id: &str, day: NaiveDate, tokens: u64) -> Result<u64> {
        let total: i64 = sqlx::query_scalar(
            "INSERT INTO token_usage (company_id, day, tokens) VALUES ($1, $2, $3) \
             ON CONFLICT (company_id, day) DO UPDATE SET tokens = token_usage.tokens + excluded.tokens \
             RETURNING tokens",
        )
        .bind(company_id)
        .bind(day)
        .bind(rows::to_i64("tokens", tokens)?)
        .fetch_one(&mut *self.writer.lock().await)
        .await?;
        Ok(rows::to_u64(total))
    }

    async fn token_usage(&self, company_id: &str, day: NaiveDate) -> Result<u64> {
        let total: Option<i64> =
            sqlx::query_scalar("SELECT tokens FROM token_usage WHERE company_id = $1 AND day = $2")
                .bind(company_id)
                .bind(day)
                .fetch_optional(&mut *self.reader().await)
                .await?;
        Ok(total.map_or(0, rows::to_u64))
    }

    async fn webhook_secret(&self, company_id: &str) -> Result<String> {
        let select = "SELECT secret FROM webhook_secrets WHERE company_id = $1";
        if let Some(s) =
            sqlx::query_scalar(select).bind(company_id).fetch_optional(&mut *self.reader().await).await?
        {
            return Ok(s);
        }
        sqlx::query(
            "INSERT INTO webhook_secrets (company_id, secret) VALUES ($1, $2) \
             ON CONFLICT (company_id) DO NOTHING",
        )
        .bind(company_id)
        .bind(crate::auth::random_token("whsec_", 32))
        .execute(&mut *self.writer.lock().await)
        .await?;
        Ok(sqlx::query_scalar(select).bind(company_id).fetch_one(&mut *self.reader().await).await?)
    }

    async fn record_webhook_delivery(&self, d: &WebhookDelivery) -> Result<()> {
        sqlx::query(
            "INSERT INTO webhook_deliveries (company_id, lead_id, url, attempts, status_code, error, \
             delivered, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&d.company_id)
        .bind(&d.lead_id)
        .bind(&d.url)
        .bind(d.attempts)
        .bind(d.status_code)
        .bind(&d.error)
        .bind(d.delivered)
        .bind(ts(&d.created_at))
        .execute(&mut *self.writer.lock().await)
        .await?;
        Ok(())
    }

    async fn list_webhook_deliveries(&self, company_id: &str, limit: u32) -> Result<Vec<WebhookDelivery>> {
        let rows = sqlx::query(
            "SELECT company_id, lead_id, url, attempts, status_code, error, delivered, created_at \
             FROM webhook_deliveries WHERE company_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(company_id)
        .bind(rows::sqlite_limit(limit))
        .fetch_all(&mut *self.reader().await)
        .await?;
        rows.iter().map(delivery_row).collect()
    }

    async fn get_corpus_stats(&self, company_id: &str) -> Result<Option<super::CorpusStatsRow>> {
        let row = sqlx::query(
            "SELECT company_id, model, doc_count, stats, updated_at FROM corpus_stats WHERE company_id = $1",
        )
        .bind(company_id)
        .fetch_optional(&mut *self.reader().await)
        .await?;
        row.map(|r| -> Result<super::CorpusStatsRow> {
            Ok(super::CorpusStatsRow {
                company_id: r.try_get("company_id")?,
                model: r.try_get("model")?,
                doc_count: rows::to_u64(r.try_get("doc_count")?),
                stats: r.try_get("stats")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    async fn put_corpus_stats(
        &self,
        company_id: &str,
        model: &str,
        doc_count: u64,
        stats: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO corpus_stats (company_id, model, doc_count, stats, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (company_id) DO UPDATE SET model = excluded.model, doc_count = excluded.doc_count, \
             stats = excluded.stats, updated_at = excluded.updated_at",
        )
        .bind(company_id)
        .bind(model)
        .bind(rows::to_i64("doc_count", doc_count)?)
        .bind(stats)
        .bind(ts(&rows::now()))
        .execute(&mut *self.reader().await)
        .await?;
        Ok(())
    }
}
