//! Retrieval over the tenant's own namespace: the lexical (BM25) ranking of the question, the
//! dense ranking when a dense embedder is configured, fused (`rag::fusion`), joined with the
//! stored chunk texts.

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
    pub(super) async fn chunk_texts(&self, cid: &str, ids: &[String]) -> Result<Vec<Arc<ChunkRecord>>> {
        let cache = &self.inner.chunks;
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match cache.get(&(cid.to_string(), id.clone())) {
                Some(c) => found.push(c),
                None => missing.push(id.clone()),
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
        let pool = crate::rag::fusion::candidates(top_k);
        let lexical = self.lexical_matches(cid, query, pool);
        let dense = self.dense_matches(ctx, query, pool);
        let (lexical, dense) = futures::future::try_join(lexical, dense).await?;
        let fused =
            crate::rag::fusion::fuse_weighted(&lexical, &dense, self.inner.config.dense_weight, top_k);
        if fused.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = fused.iter().map(|f| f.id.clone()).collect();
        let chunks = self.chunk_texts(cid, &ids).await?;
        let by_id: HashMap<&str, &ChunkRecord> =
            chunks.iter().map(|c| (c.vector_id.as_str(), c.as_ref())).collect();
        Ok(fused
            .iter()
            .filter_map(|f| {
                let c = by_id.get(f.id.as_str())?;
                Some(SearchHit {
                    score: f.relevance(),
                    lexical_score: f.lexical,
                    dense_score: f.dense,
                    source: c.source.clone().unwrap_or_default(),
                    title: c.metadata.get("title").and_then(|t| t.as_str()).map(String::from),
                    text: c.content.clone(),
                    vector_id: f.id.clone(),
                    section: c.metadata.get("section").and_then(|t| t.as_str()).map(String::from),
                })
            })
            .collect())
    }

    /// The lexical (BM25) ranking: the query analysed as chunks are, weighted by the company's
    /// own statistics where the vector store needs them (never another company's).
    async fn lexical_matches(&self, cid: &str, query: &str, pool: usize) -> Result<Vec<QueryMatch>> {
        let vectors = self.vectors();
        if !vectors.lexical() {
            return Ok(Vec::new());
        }
        let terms = crate::rag::bm25::query_terms(query);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let stats = if vectors.needs_corpus_stats() {
            self.inner.corpus_stats.get(self.store().as_ref(), cid, crate::rag::bm25::ANALYZER).await
        } else {
            None
        };
        let q = crate::rag::LexicalQuery::new(&terms, stats.as_deref());
        vectors.query_lexical(cid, &q, pool, None).await
    }

    /// The dense ranking, when a dense embedder is configured and the company keeps hybrid
    /// search on.
    async fn dense_matches(&self, ctx: &TenantContext, query: &str, pool: usize) -> Result<Vec<QueryMatch>> {
        if self.embedder().dimension() == 0 || !ctx.company().ai_config.hybrid_search() {
            return Ok(Vec::new());
        }
        let v = crate::rag::embed_query(self.question_embedder(ctx.company_id()).as_ref(), query).await?;
        self.vectors().query(ctx.company_id(), &v, pool, None).await
    }
}
