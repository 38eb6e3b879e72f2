//! SQLite implementation of [`crate::store::Store`] (the embedded default): its connections
//! (several readers, one writer with group commit, a background checkpointer), the
//! commit-stamped tenant cache, and the statements whose SQL is SQLite's own (`append`).
//!
//! One database file in WAL mode: readers run concurrently with the one writer, `busy_timeout`
//! queues writers, and every write that must be atomic is a single statement (or a transaction
//! whose first statement writes, so it never has to upgrade a read lock). Timestamps are stored as
//! fixed-width RFC 3339 UTC text with microseconds, JSON as text.

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::common::{self, TouchThrottle};
use super::sql::{self, FromColumns, Read, SqlBackend, Tenant, Write, text};
use super::{ChunkRecord, LeadStore as _};
use crate::cache::GenCache;
use crate::conversation::{Conversation, Message};
use crate::error::{Error, Result};
use crate::lead::Lead;
use conn::{Reader, Writer};
use group_commit::GroupCommit;
use wal_stamp::{Stamp, WalStamp};

mod append;
mod conn;
mod group_commit;
mod wal_stamp;

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

impl SqliteStore {
    /// Connect, creating the database file (and its directory) if missing. WAL journal,
    /// `synchronous=FULL` (every acknowledged commit survives a power loss; group commit
    /// shares the fsync among concurrent turns), a 5 s busy timeout, foreign keys on.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad URL, [`Error::Storage`] when it cannot open the file.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, crate::config::SqliteSynchronous::Full).await
    }

    /// [`SqliteStore::connect`] with another `synchronous` setting (`NORMAL` survives a killed
    /// process but may lose the last commits on a power loss).
    ///
    /// # Errors
    /// As [`SqliteStore::connect`].
    pub async fn connect_with(url: &str, synchronous: crate::config::SqliteSynchronous) -> Result<Self> {
        Self::connect_opts(url, &super::OpenOptions { sqlite_synchronous: synchronous, ..Default::default() })
            .await
    }

    /// [`SqliteStore::connect`] with [`super::OpenOptions`] (`synchronous`, page cache size).
    ///
    /// # Errors
    /// As [`SqliteStore::connect`].
    pub async fn connect_opts(url: &str, opts: &super::OpenOptions) -> Result<Self> {
        let synchronous = opts.sqlite_synchronous;
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
            .synchronous(match synchronous {
                crate::config::SqliteSynchronous::Full => SqliteSynchronous::Full,
                crate::config::SqliteSynchronous::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            .statement_cache_capacity(256)
            .pragma("cache_size", cache_pragma(opts.sqlite_cache_mib))
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
        // Readers refuse writes themselves (a checkpoint is not a write).
        let read_only = options.clone().pragma("query_only", "ON");
        for _ in 0..readers {
            let c = sqlx::ConnectOptions::connect(&read_only).await.map_err(cannot_open)?;
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

    /// A free reader connection (any; else wait for one in turn). It runs [`Read`]s only.
    async fn read(&self) -> Reader {
        let n = self.readers.len().max(1);
        let start = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n;
        for i in 0..n {
            if let Some(c) = self.readers.get((start + i) % n)
                && let Ok(guard) = c.clone().try_lock_owned()
            {
                return Reader(guard);
            }
        }
        match self.readers.get(start) {
            Some(c) => Reader(c.clone().lock_owned().await),
            // Never empty (connect opens at least one); the writer serves as a last resort.
            None => Reader(self.writer.clone().lock_owned().await),
        }
    }

    /// The writer connection (in turn with every other write).
    async fn write(&self) -> Writer<'_> {
        Writer(self.writer.lock().await)
    }

    /// The company and its settings: from the stamped cache while no commit happened since it
    /// was read, else from the database (one query).
    async fn cached_tenant(&self, company_id: &str) -> Result<Option<Arc<Tenant>>> {
        // Read before the query: the query's snapshot is at least this new.
        let stamp = self.stamp.read();
        if let Some(now) = stamp
            && let Some((at, t)) = self.tenants.get(company_id)
            && at == now
        {
            return Ok(Some(t));
        }
        let loaded = sql::load_tenant(self, company_id).await?.map(Arc::new);
        if let (Some(s), Some(t)) = (stamp, &loaded) {
            self.tenants.insert(company_id.to_string(), (s, t.clone()));
        }
        Ok(loaded)
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

/// One chunk row, inserted or replaced (`$6`: now); PostgreSQL upserts a batch per statement.
const UPSERT_CHUNK: &str = "INSERT INTO pinecone_vectors (company_id, vector_id, content, metadata, \
     source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
     ON CONFLICT (company_id, vector_id) DO UPDATE SET content = excluded.content, \
     metadata = excluded.metadata, source = excluded.source, updated_at = excluded.updated_at";

#[async_trait]
impl SqlBackend for SqliteStore {
    const NAME: &'static str = "sqlite";
    const WRITING_CTES: bool = false;
    const LIST_LEADS: &'static str =
        concat!(text::list_leads!(), "ORDER BY l.created_at DESC, l.rowid DESC LIMIT $4 OFFSET $5");
    const CHUNKS_BY_ID: &'static str = concat!(
        "SELECT ",
        text::chunk_cols!(),
        " FROM pinecone_vectors WHERE company_id = $1 AND vector_id IN (SELECT value FROM json_each($2))"
    );
    const DELETE_CHUNKS_BY_ID: &'static str = "DELETE FROM pinecone_vectors WHERE company_id = $1 AND vector_id IN (SELECT value FROM json_each($2))";
    // The transaction is BEGIN IMMEDIATE: the write lock is taken before this read.
    const LEAD_FOR_UPDATE: &'static str = text::GET_LEAD;

    async fn read_opt<T: FromColumns>(&self, q: Read<'_>) -> Result<Option<T>> {
        self.read().await.fetch_opt(q).await
    }

    async fn read_all<T: FromColumns>(&self, q: Read<'_>) -> Result<Vec<T>> {
        self.read().await.fetch_all(q).await
    }

    async fn write(&self, q: Write<'_>) -> Result<u64> {
        self.write().await.execute(q).await
    }

    async fn write_opt<T: FromColumns>(&self, q: Write<'_>) -> Result<Option<T>> {
        self.write().await.fetch_opt(q).await
    }

    async fn write_tx<T: FromColumns>(&self, first: Write<'_>, rest: Vec<Write<'_>>) -> Result<Option<T>> {
        let mut w = self.write().await;
        sql::write_in_tx(sqlx::Connection::begin(w.conn()).await?, conn::query, first, rest).await
    }

    async fn read_modify_write<T: FromColumns>(
        &self,
        select: Read<'_>,
        f: &mut (dyn for<'l> FnMut(&'l mut T) -> bool + Send),
        update: for<'t> fn(&'t T) -> Result<Write<'t>>,
    ) -> Result<Option<T>> {
        // IMMEDIATE: take the write lock before the read, so nobody writes in between.
        let mut w = self.write().await;
        let tx = sqlx::Connection::begin_with(w.conn(), "BEGIN IMMEDIATE").await?;
        sql::modify_in_tx(tx, conn::query, select, f, update).await
    }

    async fn run_migrations(&self) -> Result<()> {
        // SQLite has no advisory lock: when two processes migrate one new file at once, the
        // loser fails on the version row; its retry then finds the migration applied.
        let migrator = common::migrator(conn::MIGRATIONS);
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

    fn touch_throttle(&self) -> &TouchThrottle {
        &self.touch
    }

    async fn tenant(&self, company_id: &str) -> Result<Option<Arc<Tenant>>> {
        self.cached_tenant(company_id).await
    }

    fn tenant_cache_state(&self) -> &'static str {
        "commit-stamp"
    }

    async fn append(&self, company_id: &str, session_id: &str, messages: &[Message]) -> Result<u64> {
        append::append_messages(self, company_id, session_id, messages).await
    }

    async fn append_and_record(
        &self,
        company_id: &str,
        session_id: &str,
        messages: &[Message],
        turn: &crate::turns::TurnRecord,
    ) -> Result<u64> {
        append::append_and_record(self, company_id, session_id, messages, turn).await
    }

    async fn upsert_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
        messages: &[Message],
        lead: Option<&Lead>,
    ) -> Result<(Conversation, bool)> {
        if messages.is_empty() || messages.len() > append::APPEND_BATCH {
            // Rare (nothing to append, or more than one statement takes): step by step.
            let conv = append::append_step_by_step(self, company_id, session_id, user_id, messages).await?;
            let inserted = match lead {
                None => false,
                Some(l) => match self.insert_lead(l).await {
                    Ok(()) => true,
                    Err(Error::Conflict(_)) => false,
                    Err(e) => return Err(e),
                },
            };
            return Ok((conv, inserted));
        }
        append::upsert_conversation(self, company_id, session_id, user_id, messages, lead).await
    }

    async fn upsert_chunk_rows(&self, chunks: &[ChunkRecord]) -> Result<()> {
        let now = common::now();
        let mut w = self.write().await;
        let mut tx = sqlx::Connection::begin(w.conn()).await?;
        for c in common::dedup_chunks(chunks) {
            let q = Write::new(UPSERT_CHUNK)
                .bind(&c.company_id)
                .bind(&c.vector_id)
                .bind(&c.content)
                .bind(sql::json((!c.metadata.is_null()).then_some(&c.metadata))?)
                .bind(&c.source)
                .bind(now);
            conn::query(q.0).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// `PRAGMA cache_size` for `mib` MiB per connection (negative: KiB), or SQLite's default.
fn cache_pragma(mib: Option<u32>) -> String {
    mib.map_or_else(|| "-2000".to_string(), |m| format!("-{}", u64::from(m) * 1024))
}
