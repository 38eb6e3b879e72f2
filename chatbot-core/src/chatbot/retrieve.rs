//! Retrieval over the tenant's own namespace: embed the question (with the company's corpus
//! statistics where the embedder uses them), query the vectors, join the stored chunk texts.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ingest::index::ensure_embedder_identity;
use crate::llm::Passage;
use crate::rag::QueryMatch;
use crate::store::ChunkRecord;
use crate::tenant::TenantContext;

use super::Chatbot;
use super::types::SearchHit;

impl Chatbot {
    pub(super) async fn retrieve(
        &self,
        ctx: &TenantContext,
        query: &str,
        top_k: usize,
    ) -> Result<Vec<Passage>> {
        let hits = self.search_hits(ctx, query, top_k).await?;
        Ok(hits
            .into_iter()
            .map(|h| Passage {
                text: h.text,
                source: Some(h.source),
                title: h.title,
                score: h.score,
                section: h.section,
            })
            .collect())
    }

    /// The configured embedder must be the one the company's knowledge was embedded with
    /// (checked in the store at most every [`IDENTITY_RECHECK`] per company).
    pub(super) async fn check_query_identity(&self, cid: &str) -> Result<()> {
        let key = cid.to_string();
        if self.inner.identity_ok.get(&key).is_some() {
            return Ok(());
        }
        ensure_embedder_identity(self.store().as_ref(), cid, self.embedder().as_ref(), false).await?;
        self.inner.identity_ok.insert(key, ());
        Ok(())
    }

    /// The stored chunks of the matches (from memory when read recently; one store query for
    /// the rest).
    pub(super) async fn chunk_texts(
        &self,
        cid: &str,
        matches: &[QueryMatch],
    ) -> Result<Vec<Arc<ChunkRecord>>> {
        let cache = &self.inner.chunks;
        let mut found = Vec::with_capacity(matches.len());
        let mut missing = Vec::new();
        for m in matches {
            match cache.get(&(cid.to_string(), m.id.clone())) {
                Some(c) => found.push(c),
                None => missing.push(m.id.clone()),
            }
        }
        if !missing.is_empty() {
            for c in self.store().get_chunks(cid, &missing).await? {
                let c = Arc::new(c);
                cache.insert((cid.to_string(), c.vector_id.clone()), c.clone());
                found.push(c);
            }
        }
        Ok(found)
    }

    /// Search the company's knowledge.
    ///
    /// # Errors
    /// [`Error::Invalid`] (empty query, top_k), [`Error::EmbedderMismatch`], upstream failures.
    pub async fn search(&self, ctx: &TenantContext, query: &str, top_k: usize) -> Result<Vec<SearchHit>> {
        if query.trim().is_empty() {
            return Err(Error::invalid("query", "must not be empty"));
        }
        if !(1..=100).contains(&top_k) {
            return Err(Error::invalid("top_k", "must be between 1 and 100"));
        }
        self.search_hits(ctx, query, top_k).await
    }

    pub(super) async fn search_hits(
        &self,
        ctx: &TenantContext,
        query: &str,
        top_k: usize,
    ) -> Result<Vec<SearchHit>> {
        let cid = ctx.company_id();
        self.check_query_identity(cid).await?;
        // IDF-style query weighting from this company's own corpus (never another's).
        let stats = if self.embedder().corpus_weighting().is_some() {
            self.inner.corpus_stats.get(self.store().as_ref(), cid, self.embedder().model()).await
        } else {
            None
        };
        let v = crate::rag::embed_query(self.embedder().as_ref(), query, stats.as_deref()).await?;
        let matches = self.vectors().query(cid, &v, top_k, None).await?;
        if matches.is_empty() {
            return Ok(Vec::new());
        }
        let chunks = self.chunk_texts(cid, &matches).await?;
        let by_id: HashMap<&str, &ChunkRecord> =
            chunks.iter().map(|c| (c.vector_id.as_str(), c.as_ref())).collect();
        Ok(matches
            .iter()
            .filter_map(|m| {
                let c = by_id.get(m.id.as_str())?;
                Some(SearchHit {
                    score: m.score,
                    source: c.source.clone().unwrap_or_default(),
                    title: c.metadata.get("title").and_then(|t| t.as_str()).map(String::from),
                    text: c.content.clone(),
                    vector_id: m.id.clone(),
                    section: c.metadata.get("section").and_then(|t| t.as_str()).map(String::from),
                })
            })
            .collect())
    }
}
