//! Storage: the [`Store`] seam, split into area traits ([`TenantStore`], [`ConversationStore`],
//! [`LeadStore`], [`KnowledgeStore`], [`UsageStore`], [`IdentityStore`], [`FeedbackStore`],
//! [`LimitStore`], [`SourceRegistry`], [`CuratedStore`], [`TurnStore`], [`StoreAdmin`]), and its two real
//! implementations through sqlx: SQLite (the embedded default, feature `sqlite`) and PostgreSQL
//! (several server instances, feature `postgres`). Both run one SQL text and one row decoder per
//! table; each backend keeps only its connection handling and the statements its dialect writes
//! differently. Every tenant-scoped method takes the company id and filters by it in SQL.
//!
//! Calling a store's methods on a concrete type (not through `dyn Store`) needs the area traits
//! in scope: `use chatbot_core::store::{TenantStore, ...}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod common;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
mod traits;

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod conformance;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

/// The widget-settings defaults the migrations' column defaults must match.
pub use crate::config::SqliteSynchronous;
pub use crate::tenant::defaults as widget_defaults;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;
pub use traits::{
    ConversationStore, CuratedStore, FeedbackStore, IdentityStore, KnowledgeStore, LeadStore, LimitStore,
    SourceRegistry, Store, StoreAdmin, TenantStore, TurnStore, UsageStore,
};

/// A chunk of knowledge as recorded in `pinecone_vectors` (the text lives here, not in the
/// vector service).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkRecord {
    pub company_id: String,
    pub vector_id: String,
    pub content: String,
    pub metadata: serde_json::Value,
    pub source: Option<String>,
}

/// What the last ingest saw of one source (URL or path), for incremental re-ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    pub company_id: String,
    pub source: String,
    pub title: Option<String>,
    pub content_hash: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub chunk_count: i64,
    pub ingested_at: DateTime<Utc>,
}

/// A registered knowledge source (`knowledge_sources`): what `ingest site` or `ingest files` ran,
/// with its options, how often to sync it, the last run's result and the lease of the instance
/// running it now. See [`crate::ingest::sync`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeSource {
    pub company_id: String,
    /// Stable id of the source within its company (a hash of kind and location).
    pub source_id: String,
    /// `site` or `files`.
    pub kind: String,
    /// The start URL, or the paths (one per line).
    pub location: String,
    /// The ingest options, as JSON ([`crate::ingest::sync::SourceSpec`]).
    pub options: serde_json::Value,
    /// Seconds between two syncs; 0: only when forced.
    pub interval_secs: i64,
    /// When the scheduler runs it next (`None`: only when forced).
    pub next_due_at: Option<DateTime<Utc>>,
    pub last_run: Option<SourceRun>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The result of one run of a registered source. Counts are documents (pages or files).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRun {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Pages fetched (304s included) or files looked at.
    pub pages: u64,
    /// Known documents whose content changed (re-chunked, new chunks embedded).
    pub changed: u64,
    /// Documents new to the company's knowledge.
    pub added: u64,
    /// Documents that disappeared and were removed from both stores.
    pub removed: u64,
    /// Documents that could not be fetched or read.
    pub failed: u64,
    /// Why the run as a whole failed, if it did.
    pub error: Option<String>,
}

/// The embedder a company's index was built with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedderIdentity {
    pub model: String,
    pub dimension: usize,
}

/// A webhook delivery attempt record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub company_id: String,
    pub lead_id: String,
    pub url: String,
    pub attempts: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub delivered: bool,
    pub created_at: DateTime<Utc>,
}

/// One GCRA step of [`LimitStore::rate_limit_steps`]: a key and its quota (microseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateStep {
    pub key: String,
    /// Time one request uses up.
    pub interval_us: i64,
    /// How far ahead of now the key's arrival time may run (the burst).
    pub tolerance_us: i64,
}

/// A company's stored corpus statistics: [`crate::rag::CorpusStats::to_bytes`] as counted by the
/// embedder `model`.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusStatsRow {
    pub company_id: String,
    pub model: String,
    pub doc_count: u64,
    pub stats: Vec<u8>,
    pub updated_at: DateTime<Utc>,
}

/// How to open a store (what a URL cannot say).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenOptions {
    /// SQLite's `synchronous` setting (default `FULL`: a commit survives a power loss).
    pub sqlite_synchronous: crate::config::SqliteSynchronous,
    /// SQLite's page cache per connection in MiB (`None`: SQLite's default).
    pub sqlite_cache_mib: Option<u32>,
}

impl OpenOptions {
    /// The options a configuration names.
    pub fn from_config(config: &crate::Config) -> Self {
        Self { sqlite_synchronous: config.sqlite_synchronous, sqlite_cache_mib: config.sqlite_cache_mib }
    }
}

/// Open the store a URL names: `sqlite:...` or `postgres:...` (each when its feature is
/// compiled in). Runs migrations.
///
/// # Errors
/// [`Error::Config`] for an unsupported URL or a backend this build does not include,
/// [`Error::Storage`] when it cannot connect.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    open_with(url, &OpenOptions::default()).await
}

/// [`open`] with options.
///
/// # Errors
/// As [`open`].
pub async fn open_with(url: &str, options: &OpenOptions) -> Result<std::sync::Arc<dyn Store>> {
    let store: std::sync::Arc<dyn Store> = if url.starts_with("sqlite:") {
        open_sqlite(url, options).await?
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        open_postgres(url).await?
    } else {
        return Err(Error::Config(format!(
            "DATABASE_URL must start with sqlite: or postgres:, got {:?}",
            url.split(':').next().unwrap_or_default()
        )));
    };
    store.migrate().await?;
    Ok(store)
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(url: &str, options: &OpenOptions) -> Result<std::sync::Arc<dyn Store>> {
    Ok(std::sync::Arc::new(SqliteStore::connect_opts(url, options).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(_url: &str, _options: &OpenOptions) -> Result<std::sync::Arc<dyn Store>> {
    Err(not_compiled("sqlite"))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    Ok(std::sync::Arc::new(PostgresStore::connect(url).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str) -> Result<std::sync::Arc<dyn Store>> {
    Err(not_compiled("postgres"))
}

/// The error for a URL whose backend this build leaves out.
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
fn not_compiled(backend: &str) -> Error {
    Error::Config(format!(
        "DATABASE_URL names a {backend} database, but this build of chatbot-core has no {backend} support \
         (enable the `{backend}` cargo feature)"
    ))
}
