//! Lexical (BM25) search on Pinecone: sparse vectors beside (or instead of) the dense ones.
//!
//! Records carry `sparseValues` ([`bm25::doc_sparse`] weights at [`bm25::REMOTE_AVGDL`]) and
//! lexical queries send `sparseVector` ([`LexicalQuery::sparse`]: the IDF of each term in the
//! company's own corpus statistics), so the dot product Pinecone computes is BM25. What the
//! index accepts depends on how it was created, read once from describe-index and cached:
//! - a dense index with metric `dotproduct` (a hybrid index): records carry both; a lexical
//!   query sends `vector` = zeros of the index dimension beside `sparseVector` (the dense part
//!   weighted 0, as Pinecone's hybrid-search guide weights it with `alpha = 0`);
//! - a dense index with metric `cosine` or `euclidean`: Pinecone refuses sparse queries, so
//!   records stay dense-only and lexical queries answer an empty list (one warning);
//! - a sparse index (`vector_type: "sparse"`, for a company with no dense embedder): records
//!   carry only `sparseValues`, queries only `sparseVector`.
//!
//! A dense index cannot hold a lexical-only company's records (no dense vector): that is a
//! configuration error at upsert, naming the fix.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use super::PineconeStore;
use super::wire::sanitize_metadata;
use crate::error::{Error, Result};
use crate::rag::bm25::{self, SparseVector};
use crate::rag::{LexicalQuery, VectorRecord};

/// Non-zero values one sparse vector may hold (Pinecone's limit).
pub const MAX_SPARSE_VALUES: usize = 1000;

/// `s` with at most [`MAX_SPARSE_VALUES`] entries: the heaviest kept (ties: lower index),
/// indices ascending.
pub(super) fn cap_sparse(s: SparseVector) -> SparseVector {
    if s.indices.len() <= MAX_SPARSE_VALUES {
        return s;
    }
    let mut pairs: Vec<(u32, f32)> = s.indices.into_iter().zip(s.values).collect();
    pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    pairs.truncate(MAX_SPARSE_VALUES);
    pairs.sort_by_key(|p| p.0);
    SparseVector { indices: pairs.iter().map(|p| p.0).collect(), values: pairs.iter().map(|p| p.1).collect() }
}

/// What describe-index says about the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// `cosine`, `euclidean` or `dotproduct`.
    pub metric: String,
    /// `dense` or `sparse`.
    pub vector_type: String,
    /// The dense dimension (none for a sparse index).
    pub dimension: Option<usize>,
}

impl IndexInfo {
    /// From the control plane's `GET /indexes/{name}` (snake_case) or the data plane's
    /// `describe_index_stats` (camelCase). Absent fields read as Pinecone's defaults (`cosine`,
    /// `dense`).
    pub(super) fn from_json(v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_ascii_lowercase);
        Self {
            metric: s("metric").unwrap_or_else(|| "cosine".into()),
            vector_type: s("vector_type").or_else(|| s("vectorType")).unwrap_or_else(|| "dense".into()),
            dimension: v.get("dimension").and_then(Value::as_u64).map(|d| d as usize),
        }
    }

    /// A sparse-only index.
    pub fn is_sparse(&self) -> bool {
        self.vector_type == "sparse"
    }

    /// Whether the index answers sparse (lexical) queries: sparse indexes and dense indexes
    /// with the `dotproduct` metric.
    pub fn sparse_queries(&self) -> bool {
        self.is_sparse() || self.metric == "dotproduct"
    }
}

/// The index description, learnt once per store (shared by its clones).
#[derive(Debug, Default)]
pub(super) struct IndexCell {
    pub(super) info: tokio::sync::OnceCell<IndexInfo>,
    warned: AtomicBool,
}

impl PineconeStore {
    /// The index's metric, vector type and dimension: from describe-index when the store was
    /// connected by index name, otherwise read once from `describe_index_stats`; cached.
    ///
    /// # Errors
    /// [`Error::Upstream`] when Pinecone cannot be asked.
    pub async fn index_info(&self) -> Result<IndexInfo> {
        self.index
            .info
            .get_or_try_init(|| async {
                let stats = self.post("/describe_index_stats", &json!({})).await?;
                Ok::<_, Error>(IndexInfo::from_json(&stats))
            })
            .await
            .cloned()
    }

    /// Whether lexical queries are answered: `true` until the index is known not to (its
    /// description is read on the first upsert with terms or lexical query).
    pub(super) fn lexical_known(&self) -> bool {
        self.index.info.get().is_none_or(IndexInfo::sparse_queries)
    }

    /// Remember `info` when nothing is known yet (from any describe response).
    pub(super) fn learn(&self, info: IndexInfo) {
        let _ = self.index.info.set(info);
    }

    /// The JSON of one record as this index takes it; `None` for a record a sparse index
    /// cannot hold (no terms at all: an empty chunk).
    ///
    /// # Errors
    /// [`Error::Config`] when the record does not fit the index (see the module docs),
    /// [`Error::Invalid`] for malformed terms.
    pub(super) fn record_json(r: &VectorRecord, info: Option<&IndexInfo>) -> Result<Option<Value>> {
        let meta = sanitize_metadata(&r.metadata);
        let sparse = r
            .terms
            .as_ref()
            .map(|t| crate::rag::local::normalize_terms(&r.id, t))
            .transpose()?
            .filter(|t| !t.is_empty())
            .map(|t| cap_sparse(bm25::doc_sparse(&t, bm25::REMOTE_AVGDL)));
        let Some(info) = info else {
            return Ok(Some(json!({ "id": r.id, "values": r.values, "metadata": meta })));
        };
        if info.is_sparse() {
            if !r.values.is_empty() {
                return Err(Error::Config(format!(
                    "the Pinecone index is sparse (vector_type \"sparse\") but record {} carries a \
                     {}-dimensional dense vector: use a dense index with metric \"dotproduct\" for \
                     hybrid search, or a lexical-only embedder with this sparse index",
                    r.id,
                    r.values.len()
                )));
            }
            if r.terms.is_none() {
                return Err(Error::Config(format!(
                    "the Pinecone index is sparse but record {} has no terms to index; re-ingest \
                     the company (chatbot ingest reindex) with this version",
                    r.id
                )));
            }
            return Ok(sparse.map(|s| json!({ "id": r.id, "sparseValues": s, "metadata": meta })));
        }
        if r.values.is_empty() {
            return Err(Error::Config(format!(
                "the Pinecone index is dense ({}metric \"{}\") but record {} has no dense vector: \
                 the company's embedder is lexical only. Configure a dense embedder \
                 (CHATBOT_EMBEDDER=local or openai), or use a sparse Pinecone index \
                 (vector_type \"sparse\", metric \"dotproduct\") for lexical-only search",
                info.dimension.map_or(String::new(), |d| format!("{d}-dimensional, ")),
                info.metric,
                r.id
            )));
        }
        let mut one = json!({ "id": r.id, "values": r.values, "metadata": meta });
        if info.sparse_queries()
            && let Some(s) = sparse
        {
            one["sparseValues"] = json!(s);
        }
        Ok(Some(one))
    }

    /// The body of a lexical query, or `None` when this index answers none (after one
    /// warning per store).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a malformed query, [`Error::Upstream`] when the index cannot be
    /// described, [`Error::Config`] for a dense index of unknown dimension.
    pub(super) async fn lexical_body(
        &self,
        namespace: &str,
        query: &LexicalQuery,
        top_k: usize,
    ) -> Result<Option<Value>> {
        if query.ids.len() != query.weights.len() {
            return Err(Error::invalid(
                "query",
                format!("{} term ids but {} weights", query.ids.len(), query.weights.len()),
            ));
        }
        let mut sparse = SparseVector::default();
        for (&i, &w) in query.ids.iter().zip(&query.weights) {
            if w.is_finite() && w > 0.0 && sparse.indices.last().is_none_or(|&l| l < i) {
                sparse.indices.push(i);
                sparse.values.push(w);
            }
        }
        if sparse.is_empty() {
            return Ok(None);
        }
        let sparse = cap_sparse(sparse);
        let info = self.index_info().await?;
        let mut body = json!({
            "namespace": namespace,
            "sparseVector": sparse,
            "topK": top_k.min(10_000),
            "includeMetadata": true,
            "includeValues": false,
        });
        if info.is_sparse() {
            return Ok(Some(body));
        }
        if !info.sparse_queries() {
            if !self.index.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    metric = %info.metric,
                    "pinecone: the index's metric is not dotproduct, so it refuses sparse queries: \
                     lexical search is off and retrieval stays dense-only (create the index with \
                     metric \"dotproduct\" for hybrid search)"
                );
            }
            return Ok(None);
        }
        let dim = info.dimension.filter(|&d| d > 0).ok_or_else(|| {
            Error::Config("the Pinecone index is dense but describe-index gave no dimension".into())
        })?;
        body["vector"] = json!(vec![0f32; dim]);
        Ok(Some(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_vectors_keep_the_heaviest_values_under_the_limit() {
        let n = MAX_SPARSE_VALUES as u32 + 500;
        let s =
            SparseVector { indices: (0..n).collect(), values: (0..n).map(|i| (i % 700) as f32).collect() };
        let c = cap_sparse(s.clone());
        assert_eq!(c.indices.len(), MAX_SPARSE_VALUES);
        assert!(c.indices.windows(2).all(|w| w[0] < w[1]));
        let min_kept = c.values.iter().copied().fold(f32::INFINITY, f32::min);
        let dropped = s.indices.iter().filter(|i| !c.indices.contains(i)).map(|&i| s.values[i as usize]);
        assert!(dropped.into_iter().all(|v| v <= min_kept));
        let small = SparseVector { indices: vec![3, 9], values: vec![0.5, 0.25] };
        assert_eq!(cap_sparse(small.clone()), small);
    }

    #[test]
    fn index_descriptions_from_either_plane() {
        let cp = serde_json::json!({ "metric": "dotproduct", "vector_type": "sparse", "dimension": null });
        let i = IndexInfo::from_json(&cp);
        assert!(i.is_sparse() && i.sparse_queries() && i.dimension.is_none());
        let dp = serde_json::json!({ "metric": "cosine", "vectorType": "dense", "dimension": 8 });
        let i = IndexInfo::from_json(&dp);
        assert!(!i.is_sparse() && !i.sparse_queries());
        assert_eq!(i.dimension, Some(8));
        let old = IndexInfo::from_json(&serde_json::json!({ "dimension": 3 }));
        assert_eq!((old.metric.as_str(), old.vector_type.as_str()), ("cosine", "dense"));
    }
}
