//! Ingestion: crawl sites, read files, extract text, chunk, embed and upsert incrementally.
//! Progress is reported through [`IngestEvent`]s; the library never prints. Every run can be
//! cancelled with a [`CancellationToken`](tokio_util::sync::CancellationToken) and resumed
//! later without duplicates (vector ids are deterministic, a source's state is recorded only
//! after all its chunks are stored).
//!
//! Every entry point takes an [`IndexTarget`]: the store, embedder and vector store borrowed
//! from their owner. A run that changes a company's chunks ends by refreshing
//! its corpus statistics, so callers need not.
//!
//! Formats behind features: HTML (`html`), the crawler (`crawl`), PDF (`pdf`). A build without
//! one skips such files with a reason in an [`IngestEvent::Skipped`].
//!
//! Applications ingest through the facade's tenant-checked handle, which passes its own
//! components as the target:
//!
//! ```no_run
//! # async fn demo(bot: &chatbot_core::Chatbot) -> chatbot_core::Result<()> {
//! use std::sync::Arc;
//! use chatbot_core::ingest::IngestOptions;
//! let ctx = bot.operator_context("123").await?;
//! let cancel = tokio_util::sync::CancellationToken::new();
//! let summary = bot
//!     .knowledge(&ctx)
//!     .ingest_files(&["docs/".into()], &IngestOptions::default(), Arc::new(|_| {}), &cancel)
//!     .await?;
//! assert!(summary.failed.is_empty());
//! # Ok(()) }
//! //! ```

pub mod chunk;
#[cfg(feature = "crawl")]
#[cfg_attr(docsrs, doc(cfg(feature = "crawl")))]
pub mod crawl;
pub mod extract;
pub mod files;
/// Internal readers exposed for the fuzz targets in `fuzz/` (not a stable API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod index;
pub mod pipeline;
pub mod sync;
mod target;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use chunk::{ChunkRequest, ChunkSettings, Chunker, SectionChunk, Sizing, SizingChoice};
#[cfg(feature = "crawl")]
#[cfg_attr(docsrs, doc(cfg(feature = "crawl")))]
pub use crawl::{SiteOptions, ingest_site};
pub use files::ingest_files;
pub use index::{IndexOptions, NewChunk};
pub use pipeline::{Document, EventSink, Failure, IngestEvent, IngestSummary, chunk_document, forget_source};
pub use sync::{SourceSpec, SyncOutcome, SyncReport};
pub use target::IndexTarget;

use crate::error::Result;

/// Options shared by site and file ingestion.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub chunk: ChunkSettings,
    /// Documents fetched / read / extracted at once.
    pub concurrency: usize,
    /// Longest a single PDF extraction may take.
    pub pdf_timeout: Duration,
    /// Larger documents are skipped.
    pub max_document_bytes: u64,
    pub index: IndexOptions,
}

/// Most documents fetched, read or extracted at once (every front end's limit).
pub(crate) const MAX_INGEST_CONCURRENCY: usize = 256;
/// Shortest time a PDF extraction or a crawl request is given (zero would fail them all).
pub(crate) const MIN_INGEST_TIMEOUT: Duration = Duration::from_secs(1);

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            chunk: ChunkSettings::default(),
            concurrency: 8,
            pdf_timeout: Duration::from_secs(60),
            max_document_bytes: 64 * 1024 * 1024,
            index: IndexOptions::default(),
        }
    }
}

/// Validators (ETag, Last-Modified, file stamps) are stored prefixed with the chunk settings'
/// fingerprint, so changing the settings re-reads everything instead of getting a 304.
pub(crate) fn with_validator(fingerprint: &str, v: Option<&str>) -> Option<String> {
    v.map(|v| format!("{fingerprint}|{v}"))
}

pub(crate) fn strip_validator<'a>(fingerprint: &str, stored: Option<&'a str>) -> Option<&'a str> {
    stored?.strip_prefix(fingerprint)?.strip_prefix('|')
}

/// One source of a company's knowledge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceStatus {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub chunks: i64,
    pub ingested_at: DateTime<Utc>,
}

/// What a company's knowledge holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnowledgeStatus {
    pub company_id: String,
    pub sources: Vec<SourceStatus>,
    /// Rows in `pinecone_vectors`.
    pub chunks: i64,
    pub last_ingest: Option<DateTime<Utc>>,
    /// The registered sources `ingest sync` runs again, with their last runs.
    pub registered: Vec<crate::store::KnowledgeSource>,
}

/// Sources, chunk counts and the last ingest time of a company.
///
/// # Errors
/// Storage failures.
pub async fn status<'a>(target: impl Into<IndexTarget<'a>>, company_id: &str) -> Result<KnowledgeStatus> {
    let store = target.into().store;
    let mut sources: Vec<SourceStatus> = store
        .list_sources(company_id)
        .await?
        .into_iter()
        .map(|s| SourceStatus {
            source: s.source,
            title: s.title,
            chunks: s.chunk_count,
            ingested_at: s.ingested_at,
        })
        .collect();
    sources.sort_by(|a, b| a.source.cmp(&b.source));
    let chunks = store.count_chunks(company_id).await?;
    let last_ingest = sources.iter().map(|s| s.ingested_at).max();
    let registered = store.list_knowledge_sources(company_id).await?;
    Ok(KnowledgeStatus { company_id: company_id.to_string(), sources, chunks, last_ingest, registered })
}

/// What `forget` removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Forgotten {
    pub sources: usize,
    pub chunks: usize,
}

/// Delete one source's knowledge (`Some(source)`) or all of a company's (vectors, rows,
/// source states, registered sources, and the recorded embedder identity); then refresh its
/// corpus statistics.
///
/// # Errors
/// [`crate::Error::NotFound`] for an unknown source; storage or vector store failures.
pub async fn forget<'a>(
    target: impl Into<IndexTarget<'a>>,
    company_id: &str,
    source: Option<&str>,
) -> Result<Forgotten> {
    let target = target.into();
    let out = match source {
        Some(src) => forget_one(target, company_id, src).await?,
        None => forget_all(target, company_id).await?,
    };
    target::knowledge_changed(target, company_id).await?;
    Ok(out)
}

async fn forget_one(target: IndexTarget<'_>, company_id: &str, src: &str) -> Result<Forgotten> {
    let known = target.store.get_source(company_id, src).await?.is_some();
    let n = forget_source(target, company_id, src).await?;
    if !known && n == 0 {
        return Err(crate::Error::not_found(format!("source {src} of company {company_id}")));
    }
    Ok(Forgotten { sources: usize::from(known), chunks: n })
}

async fn forget_all(target: IndexTarget<'_>, company_id: &str) -> Result<Forgotten> {
    let mut out = Forgotten::default();
    for s in target.store.list_sources(company_id).await? {
        out.chunks += forget_source(target, company_id, &s.source).await?;
        out.sources += 1;
    }
    // Chunks not tied to a recorded source (demo data, SDK `index_chunks` calls, killed runs).
    loop {
        let rows = target.store.list_chunks(company_id, 1000, 0).await?;
        if rows.is_empty() {
            break;
        }
        let ids: Vec<String> = rows.into_iter().map(|r| r.vector_id).collect();
        let n = index::delete_chunks(target.store, target.vectors, company_id, &ids).await?;
        out.chunks += usize::try_from(n).unwrap_or(ids.len());
        if n == 0 {
            break;
        }
    }
    target.vectors.delete_namespace(company_id).await?;
    target.store.set_embedder_identity(company_id, None).await?;
    // Nothing left to keep fresh: a later sync must not bring it back.
    for r in target.store.list_knowledge_sources(company_id).await? {
        target.store.delete_knowledge_source(company_id, &r.source_id).await?;
    }
    Ok(out)
}

/// Embed and store chunks a caller made itself (not from a crawl or files), then refresh the
/// company's corpus statistics. Returns the vector ids written, in input order.
///
/// # Errors
/// Embedder, vector store or storage failures; [`crate::Error::EmbedderMismatch`].
pub async fn ingest_chunks<'a>(
    target: impl Into<IndexTarget<'a>>,
    company_id: &str,
    chunks: &[NewChunk],
) -> Result<Vec<String>> {
    let target = target.into();
    let ids = index::index_chunks(target.store, target.embedder, target.vectors, company_id, chunks).await?;
    target::knowledge_changed(target, company_id).await?;
    Ok(ids)
}

/// Chunks re-indexed per batch by [`reindex`].
const REINDEX_PAGE: u32 = 1000;

/// Rebuild a company's indexes (lexical terms and, with a dense embedder, vectors) from its
/// stored chunks with the configured embedder and analysis, without fetching anything: the
/// upgrade path when the index identity changed (see [`index::ensure_embedder_identity`]).
/// Chunk ids, texts, titles and sections stay as they are. `on_batch` is told how many chunks
/// each batch re-indexed. Returns the number of chunks re-indexed.
///
/// # Errors
/// Embedder, vector store or storage failures (the identity is recorded only once every chunk
/// is re-indexed, so a failed run can simply be run again).
pub async fn reindex<'a>(
    target: impl Into<IndexTarget<'a>>,
    company_id: &str,
    on_batch: &(dyn Fn(usize) + Sync),
) -> Result<usize> {
    let target = target.into();
    target.vectors.delete_namespace(company_id).await?;
    target.store.set_embedder_identity(company_id, None).await?;
    let mut done = 0usize;
    let mut offset = 0u32;
    loop {
        let page = target.store.list_chunks(company_id, REINDEX_PAGE, offset).await?;
        if page.is_empty() {
            break;
        }
        let n = page.len();
        let records: Vec<index::StoredChunk> = page.into_iter().map(index::StoredChunk::from).collect();
        index::reindex_stored(target, company_id, &records).await?;
        on_batch(n);
        done += n;
        if n < REINDEX_PAGE as usize {
            break;
        }
        offset = offset.saturating_add(REINDEX_PAGE);
    }
    index::ensure_embedder_identity(target.store.as_ref(), company_id, target.embedder.as_ref(), true)
        .await?;
    target::knowledge_changed(target, company_id).await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_round_trip_only_with_same_settings() {
        let v = with_validator("A", Some("\"etag\""));
        assert_eq!(strip_validator("A", v.as_deref()), Some("\"etag\""));
        assert_eq!(strip_validator("B", v.as_deref()), None);
        assert_eq!(strip_validator("A", None), None);
    }
}
