//! [`KnowledgeStore`] for every SQL backend.

use async_trait::async_trait;

use super::{Arg, Read, Scalar, SqlBackend, Write, text};
use crate::error::Result;
use crate::store::common::{dimension_to_i64, now, order_like, to_i64};
use crate::store::traits::KnowledgeStore;
use crate::store::{ChunkRecord, CorpusStatsRow, EmbedderIdentity, SourceState};

#[async_trait]
impl<B: SqlBackend> KnowledgeStore for B {
    async fn upsert_chunks(&self, chunks: &[ChunkRecord]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        self.upsert_chunk_rows(chunks).await
    }

    async fn get_chunks(&self, company_id: &str, vector_ids: &[String]) -> Result<Vec<ChunkRecord>> {
        if vector_ids.is_empty() {
            return Ok(Vec::new());
        }
        let q = Read::new(B::CHUNKS_BY_ID).bind(company_id).bind(Arg::Ids(vector_ids));
        Ok(order_like(vector_ids, self.read_all(q).await?))
    }

    async fn chunk_ids_for_source(&self, company_id: &str, source: &str) -> Result<Vec<String>> {
        let q = Read::new(text::CHUNK_IDS_FOR_SOURCE).bind(company_id).bind(source);
        Ok(self.read_all::<Scalar<String>>(q).await?.into_iter().map(|s| s.0).collect())
    }

    async fn delete_chunks(&self, company_id: &str, vector_ids: &[String]) -> Result<u64> {
        if vector_ids.is_empty() {
            return Ok(0);
        }
        self.write(Write::new(B::DELETE_CHUNKS_BY_ID).bind(company_id).bind(Arg::Ids(vector_ids))).await
    }

    async fn list_chunks(&self, company_id: &str, limit: u32, offset: u32) -> Result<Vec<ChunkRecord>> {
        let q = Read::new(text::LIST_CHUNKS).bind(company_id).bind(Arg::Limit(limit)).bind(i64::from(offset));
        self.read_all(q).await
    }

    async fn count_chunks(&self, company_id: &str) -> Result<i64> {
        let n = self.read_opt::<Scalar<i64>>(Read::new(text::COUNT_CHUNKS).bind(company_id)).await?;
        Ok(n.map_or(0, |n| n.0))
    }

    async fn upsert_source(&self, s: &SourceState) -> Result<()> {
        let q = Write::new(text::UPSERT_SOURCE)
            .bind(&s.company_id)
            .bind(&s.source)
            .bind(&s.title)
            .bind(&s.content_hash)
            .bind(&s.etag)
            .bind(&s.last_modified)
            .bind(s.chunk_count)
            .bind(s.ingested_at);
        self.write(q).await?;
        Ok(())
    }

    async fn get_source(&self, company_id: &str, source: &str) -> Result<Option<SourceState>> {
        self.read_opt(Read::new(text::GET_SOURCE).bind(company_id).bind(source)).await
    }

    async fn list_sources(&self, company_id: &str) -> Result<Vec<SourceState>> {
        self.read_all(Read::new(text::LIST_SOURCES).bind(company_id)).await
    }

    async fn delete_source(&self, company_id: &str, source: &str) -> Result<()> {
        self.write(Write::new(text::DELETE_SOURCE).bind(company_id).bind(source)).await?;
        Ok(())
    }

    async fn get_embedder_identity(&self, company_id: &str) -> Result<Option<EmbedderIdentity>> {
        self.read_opt(Read::new(text::GET_EMBEDDER).bind(company_id)).await
    }

    async fn set_embedder_identity(&self, company_id: &str, id: Option<&EmbedderIdentity>) -> Result<()> {
        let q = match id {
            None => Write::new(text::DELETE_EMBEDDER).bind(company_id),
            Some(id) => Write::new(text::SET_EMBEDDER)
                .bind(company_id)
                .bind(&id.model)
                .bind(dimension_to_i64(id.dimension)?),
        };
        self.write(q).await?;
        Ok(())
    }

    async fn get_corpus_stats(&self, company_id: &str) -> Result<Option<CorpusStatsRow>> {
        self.read_opt(Read::new(text::GET_CORPUS_STATS).bind(company_id)).await
    }

    async fn put_corpus_stats(
        &self,
        company_id: &str,
        model: &str,
        doc_count: u64,
        stats: &[u8],
    ) -> Result<()> {
        let q = Write::new(text::PUT_CORPUS_STATS)
            .bind(company_id)
            .bind(model)
            .bind(to_i64("doc_count", doc_count)?)
            .bind(stats)
            .bind(now());
        self.write(q).await?;
        Ok(())
    }
}
