//! The knowledge handle: ingest a site or files into the company's namespace, forget sources,
//! report status, search. Every call is checked once, when the handle is made.

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::ingest::index::NewChunk;
use crate::ingest::{
    ChunkRequest, EventSink, Forgotten, IndexTarget, IngestOptions, IngestSummary, KnowledgeStatus,
    SizingChoice,
};
use crate::tenant::TenantContext;

use super::Chatbot;
use super::types::SearchHit;

/// Most documents fetched, read or extracted at once.
const MAX_INGEST_CONCURRENCY: usize = 256;
/// Shortest time a PDF extraction or a crawl request is given (zero would fail them all).
const MIN_INGEST_TIMEOUT: Duration = Duration::from_secs(1);

/// A company's knowledge, for the company's secret key or the operator: get one with
/// [`Chatbot::knowledge`].
pub struct Knowledge<'a> {
    bot: &'a Chatbot,
    ctx: &'a TenantContext,
}

impl Chatbot {
    /// The company's knowledge.
    pub fn knowledge<'a>(&'a self, ctx: &'a TenantContext) -> Knowledge<'a> {
        Knowledge { bot: self, ctx }
    }

    /// Embed and index chunks into the company's namespace.
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without a secret key; embedder, vector store or storage
    /// failures.
    pub async fn index_chunks(&self, ctx: &TenantContext, chunks: &[NewChunk]) -> Result<Vec<String>> {
        self.knowledge(ctx).index_chunks(chunks).await
    }
}

impl Knowledge<'_> {
    /// Where ingestion writes: this instance's store, embedder and vectors (after the access
    /// check every knowledge call makes).
    fn target(&self) -> Result<IndexTarget<'_>> {
        self.ctx.require_admin()?;
        let c = &self.bot.inner.c;
        Ok(IndexTarget::new(&c.store, &c.embedder, &c.vectors))
    }

    fn cid(&self) -> &str {
        self.ctx.company_id()
    }

    /// After a change: queries read the new corpus statistics.
    fn changed(&self) {
        self.bot.inner.corpus_stats.invalidate(self.cid());
    }

    /// Ingest options for chunking as an operator asks for it: `sizing` is `tokens`, `chars`
    /// or `auto` (decided by the embedder), the size and overlap the sizing's defaults unless
    /// given (the rules: [`ChunkRequest::resolve`]).
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] naming `sizing`, `chunk_size` or `chunk_overlap`.
    pub fn chunk_options(
        &self,
        sizing: &str,
        size: Option<usize>,
        overlap: Option<usize>,
    ) -> Result<IngestOptions> {
        let request = ChunkRequest { sizing: sizing.parse::<SizingChoice>()?, size, overlap };
        Ok(IngestOptions {
            chunk: request.resolve_for(self.bot.embedder().as_ref())?,
            ..IngestOptions::default()
        })
    }

    /// Crawl a site (see [`crate::ingest::SiteOptions`]).
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without a secret key; as [`crate::ingest::ingest_site`].
    #[cfg(feature = "crawl")]
    #[cfg_attr(docsrs, doc(cfg(feature = "crawl")))]
    pub async fn ingest_site(
        &self,
        site: &crate::ingest::SiteOptions,
        opts: &IngestOptions,
        events: EventSink,
        cancel: &CancellationToken,
    ) -> Result<IngestSummary> {
        let target = self.target()?;
        let mut site = site.clone();
        site.max_pages = site.max_pages.max(1);
        site.timeout = site.timeout.max(MIN_INGEST_TIMEOUT);
        let opts = bounded(opts);
        let r = crate::ingest::ingest_site(target, self.cid(), &site, &opts, events, cancel).await;
        self.changed();
        r
    }

    /// Ingest files and folders (unchanged files are skipped; files gone from a folder are
    /// forgotten).
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without a secret key; as [`crate::ingest::ingest_files`].
    pub async fn ingest_files(
        &self,
        paths: &[PathBuf],
        opts: &IngestOptions,
        events: EventSink,
        cancel: &CancellationToken,
    ) -> Result<IngestSummary> {
        let target = self.target()?;
        let opts = bounded(opts);
        let r = crate::ingest::ingest_files(target, self.cid(), paths, &opts, events, cancel).await;
        self.changed();
        r
    }

    /// Forget one source (a URL or path, as [`Knowledge::status`] lists it), or everything.
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without a secret key; storage or vector store failures.
    pub async fn forget(&self, source: Option<&str>) -> Result<Forgotten> {
        let target = self.target()?;
        let r = crate::ingest::forget(target, self.cid(), source).await;
        self.changed();
        r
    }

    /// Rebuild the company's indexes from its stored chunks with the configured embedder and
    /// analysis (no re-crawl): the upgrade path when its recorded index identity differs.
    /// `on_batch` is told how many chunks each batch re-indexed. Returns the chunks re-indexed.
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without a secret key; embedder, vector store or storage
    /// failures (a failed run can be run again).
    pub async fn reindex(&self, on_batch: &(dyn Fn(usize) + Sync)) -> Result<usize> {
        let target = self.target()?;
        let r = crate::ingest::reindex(target, self.cid(), on_batch).await;
        self.bot.inner.identity_ok.remove(&self.cid().to_string());
        self.changed();
        r
    }

    /// The company's sources and chunk counts.
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without a secret key; storage failures.
    pub async fn status(&self) -> Result<KnowledgeStatus> {
        let target = self.target()?;
        crate::ingest::status(target, self.cid()).await
    }

    /// Search the company's knowledge (`top_k` in 1..=100).
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] (empty query, top_k), [`crate::Error::EmbedderMismatch`],
    /// upstream failures.
    pub async fn search(&self, query: &str, top_k: usize) -> Result<Vec<SearchHit>> {
        self.bot.search(self.ctx, query, top_k).await
    }

    /// Embed and index ready-made chunks.
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without a secret key; embedder, vector store or storage
    /// failures.
    pub async fn index_chunks(&self, chunks: &[NewChunk]) -> Result<Vec<String>> {
        let target = self.target()?;
        let ids = crate::ingest::ingest_chunks(target, self.cid(), chunks).await?;
        self.changed();
        Ok(ids)
    }
}

/// `opts` within the limits every front end gets: 1 to [`MAX_INGEST_CONCURRENCY`] documents at
/// once, at least [`MIN_INGEST_TIMEOUT`] per PDF.
fn bounded(opts: &IngestOptions) -> IngestOptions {
    let mut o = opts.clone();
    o.concurrency = o.concurrency.clamp(1, MAX_INGEST_CONCURRENCY);
    o.pdf_timeout = o.pdf_timeout.max(MIN_INGEST_TIMEOUT);
    o
}
