//! Indexing: embed chunks in batches, upsert them into the tenant's namespace and record them in
//! `pinecone_vectors`. Vector ids are deterministic (company, source, content hash), so a repeat
//! or resumed run never duplicates.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::rag::{Embedder, Metadata, VectorRecord, VectorStore};
use crate::store::{ChunkRecord, EmbedderIdentity, Store};

/// A chunk ready to index.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChunk {
    /// URL or path it came from.
    pub source: String,
    pub title: Option<String>,
    /// Position of the chunk within its source (0-based).
    pub position: usize,
    pub text: String,
    /// The heading path of the chunk's section, outermost first, without the page title
    /// (empty for text before any heading and for documents without headings).
    pub headings: Vec<String>,
}

/// Longest `section` metadata value kept (characters).
const MAX_SECTION_CHARS: usize = 300;

impl NewChunk {
    /// The heading path as stored in the chunk's metadata (`"section"`): joined with `" > "`,
    /// at most 300 characters; `None` without headings.
    pub fn section(&self) -> Option<String> {
        let joined = self.headings.iter().map(|h| h.trim()).filter(|h| !h.is_empty()).collect::<Vec<_>>();
        if joined.is_empty() {
            return None;
        }
        Some(joined.join(" > ").chars().take(MAX_SECTION_CHARS).collect::<String>().trim_end().to_string())
    }

    /// The chunk's vector id: [`vector_id`] of its text, with its section line in front when it
    /// has one (so a chunk that moves to another section is stored again with its new context).
    pub fn vector_id(&self, company_id: &str) -> String {
        match self.section() {
            Some(s) => vector_id(company_id, &self.source, &format!("{s}\n{}", self.text)),
            None => vector_id(company_id, &self.source, &self.text),
        }
    }
}

/// The text indexed for a chunk: its page title on a line, its section path on a line, then
/// its text; a line is left out when absent (or blank) or when the text already begins with it
/// (Markdown heading marks aside: a chunk opening with `# Title` already says its title).
pub(crate) fn context_text(title: Option<&str>, section: Option<&str>, text: &str) -> String {
    let first_line = text.trim_start().lines().next().unwrap_or("").trim();
    let opening = first_line.trim_start_matches('#').trim();
    // `line` opens `s` as whole words (`Guide` opens `Guide¶`, not `Guidelines`).
    let opens = |s: &str, line: &str| {
        s.strip_prefix(line).is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric()))
    };
    let mut out = String::with_capacity(text.len() + 128);
    for line in [title, section].into_iter().flatten() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() || opens(opening, &line) || opens(first_line, &line) {
            continue;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(text);
    out
}

/// Deterministic vector id: `c_` + 32 hex chars of SHA-256(company, source, content).
pub fn vector_id(company_id: &str, source: &str, content: &str) -> String {
    let mut h = Sha256::new();
    for part in [company_id, source, content] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    format!("c_{}", &hex::encode(h.finalize())[..32])
}

/// [`context_text`] of a stored chunk (title and section from its metadata).
pub(crate) fn chunk_text(c: &ChunkRecord) -> String {
    let md = |k: &str| c.metadata.get(k).and_then(|v| v.as_str());
    context_text(md("title"), md("section"), &c.content)
}

/// The identity a company's index is recorded under: the dense embedder (model, dimension)
/// and the lexical analysis version, so neither changes under stored knowledge unnoticed.
pub fn index_identity(embedder: &dyn Embedder) -> EmbedderIdentity {
    EmbedderIdentity {
        model: format!("{}+{}", embedder.model(), crate::rag::bm25::ANALYZER),
        dimension: embedder.dimension(),
    }
}

/// Check (and on first write, record) the index identity ([`index_identity`]) a company's
/// knowledge is built with.
///
/// # Errors
/// [`Error::EmbedderMismatch`] when the index was built with another model, dimension or
/// analysis; its message names the upgrade path (`chatbot ingest reindex`).
pub async fn ensure_embedder_identity(
    store: &dyn Store,
    company_id: &str,
    embedder: &dyn Embedder,
    record_if_missing: bool,
) -> Result<()> {
    let current = index_identity(embedder);
    match store.get_embedder_identity(company_id).await? {
        Some(existing) if existing != current => Err(mismatch(company_id, &existing, &current)),
        Some(_) => Ok(()),
        None if record_if_missing => store.set_embedder_identity(company_id, Some(&current)).await,
        None => Ok(()),
    }
}

/// The error of a company indexed with another embedder, naming the upgrade path.
fn mismatch(company_id: &str, existing: &EmbedderIdentity, current: &EmbedderIdentity) -> Error {
    Error::EmbedderMismatch(format!(
        "company {company_id}'s knowledge was indexed with {} ({} dimensions) but this version indexes with {} ({} dimensions); rebuild its index from the stored chunks with `chatbot ingest reindex {company_id}` (no re-crawl), or configure the original embedder",
        existing.model, existing.dimension, current.model, current.dimension
    ))
}

/// How [`index_chunks_with`] batches and retries.
#[derive(Debug, Clone, Copy)]
pub struct IndexOptions {
    /// Batches embedded and upserted at once.
    pub concurrency: usize,
    /// Retries of a batch after a transient (retryable) failure.
    pub max_retries: u32,
    /// Largest upsert request body to aim for (Pinecone's limit is 2 MB).
    pub max_request_bytes: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        Self { concurrency: 4, max_retries: 4, max_request_bytes: 2_000_000 }
    }
}

/// Chunks per embed/upsert call: the embedder's and the vector store's limits, and a body-size
/// estimate (a float is ~12 bytes of JSON, plus metadata and the sparse terms).
pub fn batch_size(embedder: &dyn Embedder, vectors: &dyn VectorStore, max_request_bytes: usize) -> usize {
    let per_vector = embedder.dimension().saturating_mul(12).saturating_add(4096).max(1);
    embedder
        .max_batch()
        .max(1)
        .min(vectors.max_upsert_batch().max(1))
        .min((max_request_bytes / per_vector).max(1))
}

/// Run `f` again after retryable failures, with exponential backoff (or the server's
/// `retry_after`).
///
/// # Errors
/// The last error, or the first non-retryable one.
pub async fn with_retries<T, F, Fut>(max_retries: u32, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    // Ingestion's policy (200 ms doubling to 12.8 s; a server's Retry-After honoured up to a
    // minute); the loop is the one every outside call uses.
    let policy = crate::net::retry::RetryPolicy::new(max_retries)
        .with_backoff(std::time::Duration::from_millis(200), std::time::Duration::from_millis(12_800))
        .with_max_retry_after(std::time::Duration::from_secs(60))
        .with_clamped_retry_after(true);
    crate::net::retry::retry_transient(&policy, "ingest batch", |_| f()).await
}

/// Embed and store chunks. Returns the vector ids written, in input order.
///
/// # Errors
/// Embedder, vector store or storage failures; [`Error::EmbedderMismatch`].
pub async fn index_chunks(
    store: &Arc<dyn Store>,
    embedder: &Arc<dyn Embedder>,
    vectors: &Arc<dyn VectorStore>,
    company_id: &str,
    chunks: &[NewChunk],
) -> Result<Vec<String>> {
    index_chunks_with(store, embedder, vectors, company_id, chunks, IndexOptions::default(), &|_| {}).await
}

/// [`index_chunks`] with explicit batching, concurrency and retries; `on_batch` is called with
/// the size of every batch once it is embedded and upserted.
///
/// # Errors
/// Embedder, vector store or storage failures (after retries); [`Error::EmbedderMismatch`].
pub async fn index_chunks_with(
    store: &Arc<dyn Store>,
    embedder: &Arc<dyn Embedder>,
    vectors: &Arc<dyn VectorStore>,
    company_id: &str,
    chunks: &[NewChunk],
    opts: IndexOptions,
    on_batch: &(dyn Fn(usize) + Sync),
) -> Result<Vec<String>> {
    use futures::StreamExt as _;
    if chunks.is_empty() {
        return Ok(Vec::new());
    }
    let current = index_identity(embedder.as_ref());
    match store.get_embedder_identity(company_id).await? {
        Some(existing) if existing != current => return Err(mismatch(company_id, &existing, &current)),
        Some(_) => {}
        None => {
            if store.count_chunks(company_id).await? == 0 && vectors.stats(company_id).await?.vector_count > 0
            {
                // The company's first knowledge: whatever its namespace holds was left by another
                // database or an older version (records without stored text, never searchable,
                // possibly of another dimension). Start the namespace clean instead of failing.
                vectors.delete_namespace(company_id).await?;
            }
            store.set_embedder_identity(company_id, Some(&current)).await?;
        }
    }
    let batch = batch_size(embedder.as_ref(), vectors.as_ref(), opts.max_request_bytes);
    let results: Vec<Result<Vec<String>>> = futures::stream::iter(chunks.chunks(batch))
        .map(|group| async move {
            let ids = index_batch(store, embedder, vectors, company_id, group, opts.max_retries).await?;
            on_batch(ids.len());
            Ok(ids)
        })
        .buffered(opts.concurrency.max(1))
        .collect()
        .await;
    let mut ids = Vec::with_capacity(chunks.len());
    for r in results {
        ids.extend(r?);
    }
    Ok(ids)
}

async fn index_batch(
    store: &Arc<dyn Store>,
    embedder: &Arc<dyn Embedder>,
    vectors: &Arc<dyn VectorStore>,
    company_id: &str,
    group: &[NewChunk],
    max_retries: u32,
) -> Result<Vec<String>> {
    let texts: Vec<String> =
        group.iter().map(|c| context_text(c.title.as_deref(), c.section().as_deref(), &c.text)).collect();
    let (embedded, terms) = embed_and_analyse(embedder, &texts, max_retries).await?;
    let mut records = Vec::with_capacity(group.len());
    let mut rows = Vec::with_capacity(group.len());
    let mut ids = Vec::with_capacity(group.len());
    for ((c, values), terms) in group.iter().zip(embedded).zip(terms) {
        let id = c.vector_id(company_id);
        let mut md = Metadata::new();
        md.insert("source".into(), c.source.clone().into());
        md.insert("position".into(), (c.position as u64).into());
        if let Some(t) = &c.title {
            md.insert("title".into(), t.chars().take(200).collect::<String>().into());
        }
        if let Some(s) = c.section() {
            md.insert("section".into(), s.into());
        }
        rows.push(ChunkRecord {
            company_id: company_id.to_string(),
            vector_id: id.clone(),
            content: c.text.clone(),
            metadata: serde_json::Value::Object(md.clone()),
            source: Some(c.source.clone()),
        });
        records.push(VectorRecord { id: id.clone(), values, terms: Some(terms), metadata: md });
        ids.push(id);
    }
    // Text first: a vector is never searchable without its text.
    with_retries(max_retries, || store.upsert_chunks(&rows)).await?;
    with_retries(max_retries, || vectors.upsert(company_id, &records)).await?;
    Ok(ids)
}

/// A stored chunk to re-index: its id and metadata are kept as they are.
#[derive(Debug, Clone)]
pub(crate) struct StoredChunk {
    id: String,
    text: String,
    metadata: Metadata,
}

impl From<ChunkRecord> for StoredChunk {
    fn from(c: ChunkRecord) -> Self {
        let text = chunk_text(&c);
        let metadata = match c.metadata {
            serde_json::Value::Object(m) => m,
            _ => Metadata::new(),
        };
        Self { id: c.vector_id, text, metadata }
    }
}

/// Embed and analyse stored chunks again and upsert their records (the rows stay as stored).
pub(crate) async fn reindex_stored(
    target: crate::ingest::IndexTarget<'_>,
    company_id: &str,
    chunks: &[StoredChunk],
) -> Result<()> {
    let batch = batch_size(
        target.embedder.as_ref(),
        target.vectors.as_ref(),
        IndexOptions::default().max_request_bytes,
    );
    let retries = IndexOptions::default().max_retries;
    for group in chunks.chunks(batch) {
        let texts: Vec<String> = group.iter().map(|c| c.text.clone()).collect();
        let (embedded, terms) = embed_and_analyse(target.embedder, &texts, retries).await?;
        let records: Vec<VectorRecord> = group
            .iter()
            .zip(embedded)
            .zip(terms)
            .map(|((c, values), terms)| VectorRecord {
                id: c.id.clone(),
                values,
                terms: Some(terms),
                metadata: c.metadata.clone(),
            })
            .collect();
        with_retries(retries, || target.vectors.upsert(company_id, &records)).await?;
    }
    Ok(())
}

/// The dense vectors (empty for a lexical-only embedder) and the analysed terms of `texts`.
async fn embed_and_analyse(
    embedder: &Arc<dyn Embedder>,
    texts: &[String],
    max_retries: u32,
) -> Result<(Vec<Vec<f32>>, Vec<crate::rag::Terms>)> {
    let embedded = if embedder.dimension() == 0 {
        vec![Vec::new(); texts.len()]
    } else {
        with_retries(max_retries, || embedder.embed(texts)).await?
    };
    if embedded.len() != texts.len() {
        return Err(Error::upstream(
            "embeddings",
            "returned a different number of vectors than inputs",
            false,
        ));
    }
    // Text analysis is CPU work: keep it off the async workers.
    let to_analyse = texts.to_vec();
    let terms = tokio::task::spawn_blocking(move || {
        to_analyse.iter().map(|t| crate::rag::bm25::document_terms(t)).collect()
    })
    .await
    .map_err(|e| Error::Internal(format!("text analysis task failed: {e}")))?;
    Ok((embedded, terms))
}

/// Remove chunks from both the vector store and `pinecone_vectors`.
///
/// # Errors
/// Vector store or storage failures.
pub async fn delete_chunks(
    store: &Arc<dyn Store>,
    vectors: &Arc<dyn VectorStore>,
    company_id: &str,
    ids: &[String],
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    for group in ids.chunks(1000) {
        with_retries(IndexOptions::default().max_retries, || vectors.delete(company_id, group)).await?;
    }
    store.delete_chunks(company_id, ids).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_scoped() {
        let a = vector_id("123", "https://x/a", "hello");
        assert_eq!(a, vector_id("123", "https://x/a", "hello"));
        assert_ne!(a, vector_id("456", "https://x/a", "hello"));
        assert_ne!(a, vector_id("123", "https://x/b", "hello"));
        assert_ne!(vector_id("12", "3x", "y"), vector_id("123", "x", "y"));
        assert!(a.len() < 512);
    }

    fn chunk(headings: &[&str]) -> NewChunk {
        NewChunk {
            source: "s".into(),
            title: None,
            position: 0,
            text: "body".into(),
            headings: headings.iter().map(|h| (*h).to_string()).collect(),
        }
    }

    #[test]
    fn section_is_joined_capped_and_part_of_the_id() {
        assert_eq!(chunk(&[]).section(), None);
        assert_eq!(chunk(&[" ", ""]).section(), None);
        assert_eq!(chunk(&["A", "B c"]).section().as_deref(), Some("A > B c"));
        let long = chunk(&["é".repeat(250).as_str(), "ü".repeat(250).as_str()]).section().unwrap();
        assert_eq!(long.chars().count(), 300);
        assert!(long.starts_with('é') && long.ends_with('ü'));
        assert_eq!(chunk(&[]).vector_id("1"), vector_id("1", "s", "body"));
        assert_ne!(chunk(&["A"]).vector_id("1"), chunk(&["B"]).vector_id("1"));
        assert_ne!(chunk(&["A"]).vector_id("1"), chunk(&[]).vector_id("1"));
    }

    #[test]
    fn context_text_adds_missing_lines_only() {
        assert_eq!(context_text(None, None, "body"), "body");
        assert_eq!(
            context_text(Some("Guide"), Some("Install > Linux"), "body"),
            "Guide\nInstall > Linux\nbody"
        );
        assert_eq!(context_text(Some("  "), Some(""), "body"), "body");
        // The text already opens with the title (as a Markdown heading or plain).
        assert_eq!(context_text(Some("Guide"), None, "# Guide\n\nbody"), "# Guide\n\nbody");
        assert_eq!(context_text(Some("Guide"), Some("Setup"), "Guide\nbody"), "Setup\nGuide\nbody");
        assert_eq!(context_text(None, Some("Setup"), "## Setup\n\nbody"), "## Setup\n\nbody");
        // Only whole words count as the text opening with a line.
        assert_eq!(context_text(Some("Guide"), None, "Guidelines\nbody"), "Guide\nGuidelines\nbody");
        assert_eq!(context_text(Some("Guide"), None, "## Guide¶\nbody"), "## Guide¶\nbody");
        // Whitespace in a title is collapsed; a title only mentioned later is still added.
        assert_eq!(context_text(Some("A\n  B"), None, "x A B"), "A B\nx A B");
    }
}

#[cfg(test)]
mod retry_tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn retries_transient_errors_only() {
        let calls = AtomicU32::new(0);
        let r = with_retries(3, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(Error::upstream("embeddings", "503", true))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let calls = AtomicU32::new(0);
        let r: Result<()> = with_retries(3, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::upstream("embeddings", "400 bad input", false))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
