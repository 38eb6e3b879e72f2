//! The knowledge handle: ingest a site or files into the company's namespace, forget sources,
//! report status, search. Every call is checked once, when the handle is made.

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::ingest::index::NewChunk;
use crate::ingest::sync::{self, SourceSpec, SyncReport};
use crate::ingest::{
    ChunkRequest, EventSink, Forgotten, IndexTarget, IngestOptions, IngestSummary, KnowledgeStatus,
    SizingChoice,
};
use crate::tenant::TenantContext;

use super::Chatbot;
use super::types::SearchHit;

use crate::ingest::{MAX_INGEST_CONCURRENCY, MIN_INGEST_TIMEOUT};

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

    /// Ingest a site or files described by `spec` (build it with `SourceSpec::site` (feature `crawl`) or
    /// [`SourceSpec::files`]). With `Some(interval)` the source is registered first (or its
    /// registration updated: options and interval) and run under its lease, and the run is
    /// recorded: [`Knowledge::sync`] runs it again once `interval` has passed
    /// (`Duration::ZERO`: only when forced). With `None` it is a one-off run, not registered.
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without a secret key; [`crate::Error::Conflict`] when a
    /// sync of the same source is running; [`crate::Error::Invalid`] (field `interval`) above
    /// a year; as `ingest::ingest_site` / [`crate::ingest::ingest_files`].
    pub async fn ingest_source(
        &self,
        spec: &SourceSpec,
        interval: Option<Duration>,
        events: EventSink,
        cancel: &CancellationToken,
    ) -> Result<IngestSummary> {
        let target = self.target()?;
        let r = match interval {
            Some(every) => sync::register_and_run(target, self.cid(), spec, every, events, cancel).await,
            None => sync::run_spec(target, self.cid(), spec, events, cancel).await.map(|(s, _)| s),
        };
        self.changed();
        r
    }

    /// Run the company's registered sources again: those whose interval has passed, or all of
    /// them with `force`. Each runs under its lease (one held by another run is skipped and
    /// reported so), with conditional requests: unchanged pages are neither re-chunked nor
    /// embedded; pages gone from the source are removed from both stores. One report per
    /// source run or skipped; a source's own failure is in its report.
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without a secret key; storage failures listing sources.
    pub async fn sync(
        &self,
        force: bool,
        events: EventSink,
        cancel: &CancellationToken,
    ) -> Result<Vec<SyncReport>> {
        let target = self.target()?;
        let now = chrono::Utc::now();
        let mut out = Vec::new();
        for source in target.store.list_knowledge_sources(self.cid()).await? {
            if cancel.is_cancelled() {
                break;
            }
            if force || sync::is_due(&source, now) {
                out.push(sync::sync_source(target, &source, events.clone(), cancel).await);
                self.changed();
            }
        }
        Ok(out)
    }

    /// Stop syncing a registered source (by its id or location, as `status` lists them); its
    /// knowledge stays (forget it with [`Knowledge::forget`]).
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without a secret key; [`crate::Error::NotFound`] for
    /// an unknown source; storage failures.
    pub async fn unregister(&self, source: &str) -> Result<()> {
        let target = self.target()?;
        for r in target.store.list_knowledge_sources(self.cid()).await? {
            if r.source_id == source || r.location == source {
                target.store.delete_knowledge_source(self.cid(), &r.source_id).await?;
                return Ok(());
            }
        }
        Err(crate::Error::not_found(format!("registered source {source} of company {}", self.cid())))
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

impl Chatbot {
    /// Operator scope (the CLI's `ingest sync` without a company, the server's schedule): run
    /// every company's registered sources that are due, or all of them with `force`, each under
    /// its lease (see [`Knowledge::sync`]).
    ///
    /// # Errors
    /// Storage failures listing sources or companies (a source's own failure is in its report).
    pub async fn sync_knowledge(
        &self,
        force: bool,
        events: EventSink,
        cancel: &CancellationToken,
    ) -> Result<Vec<SyncReport>> {
        let c = &self.inner.c;
        let target = IndexTarget::new(&c.store, &c.embedder, &c.vectors);
        let sources = if force {
            let mut all = Vec::new();
            for company in c.store.list_companies().await? {
                all.extend(c.store.list_knowledge_sources(&company.company_id).await?);
            }
            all
        } else {
            c.store.due_knowledge_sources(chrono::Utc::now(), 0).await?
        };
        let mut out = Vec::new();
        for source in sources {
            if cancel.is_cancelled() {
                break;
            }
            out.push(sync::sync_source(target, &source, events.clone(), cancel).await);
            self.inner.corpus_stats.invalidate(&source.company_id);
        }
        Ok(out)
    }

    /// Sync due sources every `every` (see [`Chatbot::sync_knowledge`]) until `cancel` fires;
    /// a run in progress is cancelled with it (it stops cleanly: the next run resumes it).
    /// Each source's result is logged. What `chatbot serve --sync` runs beside the server.
    ///
    /// The future is not `Send` (no ingest future is: the pipeline's producer closures borrow
    /// across awaits), so poll it on the task that owns it, e.g. with `tokio::join!` beside
    /// the server as `chatbot serve --sync` does, or on a `LocalSet`; the crawl's fetches and
    /// the chunking still run on the runtime's other threads.
    pub async fn run_sync_schedule(&self, every: std::time::Duration, cancel: CancellationToken) {
        let quiet: EventSink = std::sync::Arc::new(|_| {});
        loop {
            match self.sync_knowledge(false, quiet.clone(), &cancel).await {
                Ok(reports) => {
                    for r in reports {
                        tracing::info!(
                            company = %r.company_id,
                            source = %r.location,
                            outcome = ?r.outcome,
                            pages = r.pages,
                            changed = r.changed,
                            added = r.added,
                            removed = r.removed,
                            failed = r.failed.len(),
                            error = r.error.as_deref().unwrap_or(""),
                            "knowledge sync"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "knowledge sync: listing due sources failed"),
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(every.max(std::time::Duration::from_secs(1))) => {}
            }
        }
    }
}
