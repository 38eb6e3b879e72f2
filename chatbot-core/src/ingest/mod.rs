//! Ingestion: crawl sites, read files, extract text, chunk, embed and upsert incrementally.
//! Progress is reported through [`IngestEvent`]s; the library never prints. Every run can be
//! cancelled with a [`CancellationToken`](tokio_util::sync::CancellationToken) and resumed
//! later without duplicates (vector ids are deterministic, a source's state is recorded only
//! after all its chunks are stored).
//!
//! ```no_run
//! # async fn demo(bot: &chatbot_core::Chatbot) -> chatbot_core::Result<()> {
//! use std::sync::Arc;
//! use chatbot_core::ingest::{IngestOptions, Sinks, ingest_files};
//! let sinks = Sinks { store: bot.store().clone(), embedder: bot.embedder().clone(), vectors: bot.vectors().clone() };
//! let cancel = tokio_util::sync::CancellationToken::new();
//! let summary = ingest_files(&sinks, "123", &["docs/".into()], &IngestOptions::default(), Arc::new(|_| {}), &cancel).await?;
//! assert!(summary.failed.is_empty());
//! # Ok(()) }
//! ```

pub mod chunk;
pub mod crawl;
pub mod extract;
pub mod files;
pub mod index;
pub mod pipeline;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use chunk::{ChunkSettings, Chunker, Sizing};
pub use crawl::{SiteOptions, ingest_site};
pub use files::ingest_files;
pub use index::IndexOptions;
pub use pipeline::{Document, EventSink, Failure, IngestEvent, IngestSummary, Sinks, forget_source};

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
}

/// Sources, chunk counts and the last ingest time of a company.
///
/// # Errors
/// Storage failures.
pub async fn status(sinks: &Sinks, company_id: &str) -> Result<KnowledgeStatus> {
    let mut sources: Vec<SourceStatus> = sinks
        .store
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
    let chunks = sinks.store.count_chunks(company_id).await?;
    let last_ingest = sources.iter().map(|s| s.ingested_at).max();
    Ok(KnowledgeStatus { company_id: company_id.to_string(), sources, chunks, last_ingest })
}

/// What `forget` removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Forgotten {
    pub sources: usize,
    pub chunks: usize,
}

/// Delete one source's knowledge (`Some(source)`) or all of a company's (vectors, rows,
/// source states, and the recorded embedder identity).
///
/// # Errors
/// [`crate::Error::NotFound`] for an unknown source; storage or vector store failures.
pub async fn forget(sinks: &Sinks, company_id: &str, source: Option<&str>) -> Result<Forgotten> {
    if let Some(src) = source {
        let known = sinks.store.get_source(company_id, src).await?.is_some();
        let n = forget_source(sinks, company_id, src).await?;
        if !known && n == 0 {
            return Err(crate::Error::not_found(format!("source {src} of company {company_id}")));
        }
        crate::rag::stats::refresh_corpus_stats(sinks.store.as_ref(), &sinks.embedder, company_id).await?;
        return Ok(Forgotten { sources: usize::from(known), chunks: n });
    }
    let mut out = Forgotten::default();
    for s in sinks.store.list_sources(company_id).await? {
        out.chunks += forget_source(sinks, company_id, &s.source).await?;
        out.sources += 1;
    }
    // Chunks not tied to a recorded source (demo data, SDK `index_chunks` calls, killed runs).
    loop {
        let rows = sinks.store.list_chunks(company_id, 1000, 0).await?;
        if rows.is_empty() {
            break;
        }
        let ids: Vec<String> = rows.into_iter().map(|r| r.vector_id).collect();
        let n = index::delete_chunks(&sinks.store, &sinks.vectors, company_id, &ids).await?;
        out.chunks += usize::try_from(n).unwrap_or(ids.len());
        if n == 0 {
            break;
        }
    }
    sinks.vectors.delete_namespace(company_id).await?;
    sinks.store.set_embedder_identity(company_id, None).await?;
    crate::rag::stats::refresh_corpus_stats(sinks.store.as_ref(), &sinks.embedder, company_id).await?;
    Ok(out)
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
