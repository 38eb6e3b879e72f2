//! Retrieval: the [`Embedder`] and [`VectorStore`] seams, their implementations, and helpers
//! that assemble retrieved context.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

pub mod bm25;
pub mod eval;
pub mod fusion;
pub mod local;
#[cfg(feature = "local-embed")]
pub mod minilm;
pub mod offline;
pub(crate) mod paraphrase;
pub(crate) mod question_cache;
pub(crate) mod similar;
pub mod stats;

pub use crate::chatbot::{SearchHit, SourceRef};
#[cfg(feature = "openai")]
pub use crate::providers::openai::OpenAiEmbedder;
#[cfg(feature = "pinecone")]
pub use crate::providers::pinecone::PineconeStore;
pub use bm25::{LexicalQuery, SparseVector, Terms};
pub use local::LocalIndex;
#[cfg(feature = "local-embed")]
pub use minilm::LocalEmbedder;
pub use offline::OfflineEmbedder;
pub use stats::CorpusStats;

/// Turns texts into vectors. Order is preserved: output `i` embeds input `i`.
#[async_trait]
pub trait Embedder: Send + Sync + 'static {
    /// Model name, recorded per company with [`Embedder::dimension`] (the embedder's identity).
    fn model(&self) -> &str;
    /// Length of every vector returned (0: no dense side, the company is searched lexically
    /// only, as with [`OfflineEmbedder`]).
    fn dimension(&self) -> usize;
    /// The most inputs one call may carry (callers split larger batches).
    fn max_batch(&self) -> usize;
    /// Embed a batch.
    ///
    /// # Errors
    /// [`crate::Error::Upstream`] (retryable or not) for a remote failure.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>>;
}

/// Embed one search query with the dense embedder.
///
/// # Errors
/// As [`Embedder::embed`]; [`crate::Error::Upstream`] when it returns no single vector.
pub async fn embed_query(embedder: &dyn Embedder, query: &str) -> Result<Vec<f32>> {
    let mut v = embed_exact(embedder, &[query.to_string()]).await?;
    Ok(v.remove(0))
}

/// [`Embedder::embed`], checked to return one vector per text.
///
/// # Errors
/// As [`Embedder::embed`]; [`crate::Error::Upstream`] for any other number of vectors.
pub(crate) async fn embed_exact(embedder: &dyn Embedder, texts: &[String]) -> Result<Vec<Vec<f32>>> {
    let v = embedder.embed(texts).await?;
    if v.len() != texts.len() {
        return Err(crate::Error::Upstream {
            service: "embedder".into(),
            message: format!("expected {} vectors, got {}", texts.len(), v.len()),
            retryable: false,
            retry_after: None,
        });
    }
    Ok(v)
}

/// Lexical statistics of a corpus: document frequency of every analysed term (BM25's IDF for
/// stores that cannot count them, such as Pinecone).
pub fn corpus_stats<'a>(texts: impl IntoIterator<Item = &'a str>) -> CorpusStats {
    let mut stats = CorpusStats::new();
    for t in texts {
        stats.add_document(&bm25::document_terms(t).ids);
    }
    stats
}

/// Flat metadata (Pinecone's rules: no nesting, no nulls).
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// A vector with its id and metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorRecord {
    pub id: String,
    /// The dense embedding (empty when the company's embedder is lexical only).
    pub values: Vec<f32>,
    /// The chunk's analysed terms for lexical (BM25) search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<Terms>,
    pub metadata: Metadata,
}

/// A query hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryMatch {
    pub id: String,
    /// Cosine similarity from [`VectorStore::query`], the lexical relevance from
    /// [`VectorStore::query_lexical`] (higher is closer in both).
    pub score: f32,
    pub metadata: Metadata,
}

/// Metadata filter: every `(key, value)` must be equal (Pinecone `{"key":{"$eq":value}}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetadataFilter {
    pub equals: Vec<(String, serde_json::Value)>,
}

impl MetadataFilter {
    pub fn eq(key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        Self { equals: vec![(key.into(), value.into())] }
    }

    pub fn matches(&self, metadata: &Metadata) -> bool {
        self.equals.iter().all(|(k, v)| metadata.get(k) == Some(v))
    }
}

/// Namespace statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamespaceStats {
    pub vector_count: u64,
    pub dimension: Option<usize>,
}

/// Vector index seam, one namespace per company. Implementations: [`LocalIndex`] (embedded,
/// default) and `crate::providers::pinecone::PineconeStore` (feature `pinecone`).
#[async_trait]
pub trait VectorStore: Send + Sync + 'static {
    /// `local` or `pinecone`.
    fn name(&self) -> &'static str;
    /// Most records one upsert call may carry (callers also respect bytes for remote stores).
    fn max_upsert_batch(&self) -> usize;
    /// Insert or replace records by id.
    async fn upsert(&self, namespace: &str, records: &[VectorRecord]) -> Result<usize>;
    /// Top-k by cosine similarity, best first.
    async fn query(
        &self,
        namespace: &str,
        vector: &[f32],
        top_k: usize,
        filter: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>>;
    /// Whether [`VectorStore::query_lexical`] searches (a declared capability; a store that
    /// cannot answers lexical queries with an empty list).
    fn lexical(&self) -> bool {
        false
    }
    /// Whether lexical queries need the company's IDF weights from outside
    /// ([`LexicalQuery::weights`], from [`CorpusStats`] the engine keeps per company). A store
    /// that counts its own document frequencies (the local index) says `false`, and no
    /// statistics are kept for it.
    fn needs_corpus_stats(&self) -> bool {
        true
    }
    /// Top-k by BM25 over the records' [`VectorRecord::terms`], best first. `score` is the BM25
    /// score divided by the query's IDF mass ([`bm25::relevance`]: 1 is a chunk of average
    /// length holding every query term once), so scores compare across queries.
    async fn query_lexical(
        &self,
        namespace: &str,
        query: &LexicalQuery,
        top_k: usize,
        filter: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
        let _ = (namespace, query, top_k, filter);
        Ok(Vec::new())
    }
    /// Records by id (missing ids are skipped).
    async fn fetch(&self, namespace: &str, ids: &[String]) -> Result<Vec<VectorRecord>>;
    /// Delete records by id (missing ids are ignored).
    async fn delete(&self, namespace: &str, ids: &[String]) -> Result<()>;
    /// Delete every record of a namespace.
    async fn delete_namespace(&self, namespace: &str) -> Result<()>;
    async fn stats(&self, namespace: &str) -> Result<NamespaceStats>;
}

/// Cosine similarity of two equal-length vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na.sqrt() * nb.sqrt()) }
}

/// Scale a vector to unit length in place (no-op for the zero vector).
pub fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}
