//! The offline default: lexical retrieval only, no dense model.
//!
//! [`OfflineEmbedder`] is the [`Embedder`] of a company searched by BM25 alone (see
//! [`crate::rag::bm25`]): its vectors have no dimensions, so nothing is computed or stored for
//! the dense side and a search is the lexical index's exact BM25 ranking over the company's own
//! chunks. It needs no network, no download and no model files. Configure a dense embedder
//! (the local MiniLM, OpenAI or any OpenAI-compatible server) to add semantic search; lexical
//! and dense rankings are then fused.

use async_trait::async_trait;

use super::Embedder;
use crate::error::Result;

/// Identity of the lexical-only default (recorded per company with the analysis version).
pub const MODEL: &str = "offline-lexical";

/// The lexical-only embedder: dimension 0, every "embedding" empty.
#[derive(Debug, Clone, Default)]
pub struct OfflineEmbedder;

impl OfflineEmbedder {
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Embedder for OfflineEmbedder {
    fn model(&self) -> &str {
        MODEL
    }

    fn dimension(&self) -> usize {
        0
    }

    fn max_batch(&self) -> usize {
        2048
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        Ok(vec![Vec::new(); texts.len()])
    }
}
