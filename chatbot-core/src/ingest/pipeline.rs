//! The incremental indexing stage shared by site and file ingestion: content hashes decide what
//! changed, deterministic ids decide what is already embedded, stale chunks are deleted, and a
//! source's state is recorded only once all its chunks are stored (so a killed run resumes
//! without duplicates or gaps).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::chunk::{Chunker, SectionChunk};
use super::extract::{Section, TextFormat};
use super::index::{IndexOptions, NewChunk, delete_chunks, index_chunks_with};
use super::target::{IndexTarget, Sinks, knowledge_changed};
use crate::error::{Error, Result};
use crate::store::SourceState;

/// A document ready for chunking.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// URL or absolute path.
    pub source: String,
    pub title: Option<String>,
    pub text: String,
    pub format: TextFormat,
    /// `text` cut at its headings (see [`Section`]); empty means one section without headings.
    pub sections: Vec<Section>,
    /// Validators for conditional re-fetching (HTTP ETag / Last-Modified, or file size+mtime).
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// Progress of an ingest run. Front ends draw these; the library never prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum IngestEvent {
    /// A URL was queued for fetching (or a file found).
    Discovered { source: String },
    /// A page (or file) was fetched or read.
    Fetched { source: String, status: u16 },
    /// Text was extracted from a document.
    Extracted { source: String, chars: usize },
    /// The document is unchanged since the last run (content hash or HTTP 304).
    Unchanged { source: String },
    /// A changed document was split; `to_embed` of its chunks are new.
    Chunked { source: String, chunks: usize, to_embed: usize },
    /// Chunks embedded and upserted (one batch).
    Embedded { count: usize },
    /// A source's state was recorded: its chunks are searchable.
    Committed { source: String, chunks: usize },
    /// Chunks deleted (stale chunks of a changed source, or a vanished source).
    Deleted { source: String, chunks: usize },
    /// Not ingested, by rule (robots.txt, content type, off-site, duplicate).
    Skipped { source: String, reason: String },
    /// Not ingested because something failed.
    Failed { source: String, reason: String },
}

/// Callback receiving [`IngestEvent`]s (called from several tasks).
pub type EventSink = Arc<dyn Fn(IngestEvent) + Send + Sync>;

/// A source that failed, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub source: String,
    pub reason: String,
}

/// The result of a run. `deleted` counts chunks.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestSummary {
    /// Pages fetched (HTTP responses, 304s included) or files read.
    pub pages: usize,
    /// Documents whose text was extracted.
    pub documents: usize,
    /// Chunks of changed documents.
    pub chunks: usize,
    /// Chunks embedded and upserted.
    pub embedded: usize,
    /// Documents found unchanged.
    pub unchanged: usize,
    /// Chunks deleted.
    pub deleted: usize,
    /// Sources skipped by rule.
    pub skipped: usize,
    pub failed: Vec<Failure>,
    /// The run was stopped before it finished (run it again to resume).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
}

/// Counts and forwards events.
#[derive(Clone)]
pub(crate) struct Reporter {
    sink: EventSink,
    summary: Arc<Mutex<IngestSummary>>,
}

impl Reporter {
    pub(crate) fn new(sink: EventSink) -> Self {
        Self { sink, summary: Arc::new(Mutex::new(IngestSummary::default())) }
    }

    fn update(&self, f: impl FnOnce(&mut IngestSummary)) {
        if let Ok(mut s) = self.summary.lock() {
            f(&mut s);
        }
    }

    pub(crate) fn emit(&self, ev: IngestEvent) {
        match &ev {
            IngestEvent::Fetched { .. } => self.update(|s| s.pages += 1),
            IngestEvent::Extracted { .. } => self.update(|s| s.documents += 1),
            IngestEvent::Unchanged { .. } => self.update(|s| s.unchanged += 1),
            IngestEvent::Chunked { chunks, .. } => self.update(|s| s.chunks += chunks),
            IngestEvent::Embedded { count } => self.update(|s| s.embedded += count),
            IngestEvent::Deleted { chunks, .. } => self.update(|s| s.deleted += chunks),
            IngestEvent::Skipped { .. } => self.update(|s| s.skipped += 1),
            IngestEvent::Failed { source, reason } => {
                let f = Failure { source: source.clone(), reason: reason.clone() };
                self.update(|s| s.failed.push(f));
            }
            IngestEvent::Discovered { .. } | IngestEvent::Committed { .. } => {}
        }
        (self.sink)(ev);
    }

    pub(crate) fn fail(&self, source: &str, reason: impl Into<String>) {
        self.emit(IngestEvent::Failed { source: source.to_string(), reason: reason.into() });
    }

    pub(crate) fn skip(&self, source: &str, reason: impl Into<String>) {
        self.emit(IngestEvent::Skipped { source: source.to_string(), reason: reason.into() });
    }

    pub(crate) fn summary(&self) -> IngestSummary {
        self.summary.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Hash of what decides a source's chunks: chunk settings, title, text and section paths
/// (`sections-1` marks chunks that carry their sections: sources stored before re-chunk once).
pub fn content_hash(chunker: &Chunker, doc: &Document) -> String {
    let mut h = Sha256::new();
    for part in [
        chunker.settings().fingerprint().as_str(),
        doc.title.as_deref().unwrap_or(""),
        &doc.text,
        "sections-1",
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    for s in &doc.sections {
        h.update((s.headings.len() as u64).to_le_bytes());
        for part in &s.headings {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
    }
    hex::encode(h.finalize())
}

/// Whether a page title names the same thing as a heading: equal, or the heading followed by a
/// separator and more (`Install — Acme Docs`), ignoring case and surrounding space.
fn title_names(title: &str, heading: &str) -> bool {
    let (t, h) = (title.trim().to_lowercase(), heading.trim().to_lowercase());
    if h.is_empty() {
        return false;
    }
    match t.strip_prefix(&h) {
        Some(rest) => {
            let rest = rest.trim_start();
            rest.is_empty() || rest.starts_with(['—', '–', '-', '|', ':', '·', '»'])
        }
        None => false,
    }
}

/// A chunk's heading path without the page title as its first element.
fn page_headings(title: Option<&str>, mut headings: Vec<String>) -> Vec<String> {
    if let (Some(t), Some(first)) = (title, headings.first())
        && title_names(t, first)
    {
        headings.remove(0);
    }
    headings
}

/// A document's chunks, in order, with their heading paths (the page title left out of them:
/// a first heading that names the page, as `Install` does in `Install — Acme Docs`).
pub fn chunk_document(chunker: &Chunker, doc: &Document) -> Vec<SectionChunk> {
    let whole;
    let sections = if doc.sections.is_empty() {
        whole = Section::whole(&doc.text);
        &whole
    } else {
        &doc.sections
    };
    chunker
        .split_sections(sections, doc.format)
        .into_iter()
        .map(|c| SectionChunk { headings: page_headings(doc.title.as_deref(), c.headings), text: c.text })
        .collect()
}

/// Consumes documents, indexes what changed. Run one per ingest.
pub(crate) struct Indexer {
    pub(crate) sinks: Sinks,
    pub(crate) company_id: String,
    pub(crate) chunker: Arc<Chunker>,
    pub(crate) reporter: Reporter,
    pub(crate) opts: IndexOptions,
}

/// What a producer (the crawler, the file walker) hands back when it is done.
pub(crate) struct Produced {
    /// Sources whose stored knowledge stays (fetched, unchanged, or failed transiently).
    pub(crate) keep: HashSet<String>,
    /// Every source in scope was visited, so stored ones not kept have vanished.
    pub(crate) complete: bool,
}

/// Most documents handled as one group (one embedding pass, then one commit each).
const GROUP_DOCS: usize = 64;

impl Indexer {
    /// One ingest run: index the documents `produce` sends as they come; after a complete,
    /// uncancelled run forget the stored sources `in_scope` that were not kept; end a run that
    /// changed chunks with [`knowledge_changed`].
    pub(crate) async fn ingest<Fut>(
        &self,
        produce: impl FnOnce(mpsc::Sender<Document>) -> Fut,
        in_scope: impl Fn(&str) -> bool,
        cancel: &CancellationToken,
    ) -> Result<IngestSummary>
    where
        Fut: Future<Output = Produced>,
    {
        let (tx, rx) = mpsc::channel::<Document>(256);
        let (produced, indexed) = tokio::join!(produce(tx), self.run(rx, cancel));
        indexed?;
        let target = self.sinks.target();
        let cancelled = cancel.is_cancelled();
        if !cancelled && produced.complete {
            sweep_vanished(target, &self.company_id, &produced.keep, in_scope, &self.reporter).await?;
        }
        let mut summary = self.reporter.summary();
        summary.cancelled = cancelled;
        if summary.chunks > 0 || summary.embedded > 0 || summary.deleted > 0 {
            knowledge_changed(target, &self.company_id).await?;
        }
        Ok(summary)
    }

    /// Process documents until the channel closes or `cancel` fires. Returns the sources
    /// committed or found unchanged.
    pub(crate) async fn run(
        &self,
        mut rx: mpsc::Receiver<Document>,
        cancel: &CancellationToken,
    ) -> Result<HashSet<String>> {
        let mut seen = HashSet::new();
        loop {
            let first = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                d = rx.recv() => d,
            };
            let Some(first) = first else { break };
            let mut group = vec![first];
            while group.len() < GROUP_DOCS {
                match rx.try_recv() {
                    Ok(d) => group.push(d),
                    Err(_) => break,
                }
            }
            for s in self.process_group(group, cancel).await? {
                seen.insert(s);
            }
        }
        Ok(seen)
    }

    /// Index a group of documents; returns the sources committed or unchanged.
    pub(crate) async fn process_group(
        &self,
        docs: Vec<Document>,
        cancel: &CancellationToken,
    ) -> Result<Vec<String>> {
        let store = &self.sinks.store;
        let cid = self.company_id.as_str();
        let mut done = Vec::new();
        // 1. Unchanged documents (same hash) need nothing but fresher validators.
        let mut changed = Vec::new();
        for doc in docs {
            let hash = content_hash(&self.chunker, &doc);
            let prev = store.get_source(cid, &doc.source).await?;
            match prev {
                Some(p) if p.content_hash == hash => {
                    if p.etag != doc.etag || p.last_modified != doc.last_modified {
                        let st = SourceState {
                            etag: doc.etag.clone(),
                            last_modified: doc.last_modified.clone(),
                            ..p
                        };
                        store.upsert_source(&st).await?;
                    }
                    self.reporter.emit(IngestEvent::Unchanged { source: doc.source.clone() });
                    done.push(doc.source);
                }
                _ => changed.push((doc, hash)),
            }
        }
        if changed.is_empty() {
            return Ok(done);
        }
        // 2. Chunk (CPU work, off the async threads).
        let chunker = Arc::clone(&self.chunker);
        let changed = tokio::task::spawn_blocking(move || {
            changed
                .into_iter()
                .map(|(doc, hash)| {
                    let pieces = chunk_document(&chunker, &doc);
                    (doc, hash, pieces)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| Error::Internal(format!("chunking task failed: {e}")))?;

        // 3. Decide what to embed: ids already stored and present in the vector store are kept.
        struct Plan {
            doc: Document,
            hash: String,
            ids: Vec<String>,
            stale: Vec<String>,
        }
        let mut plans = Vec::with_capacity(changed.len());
        let mut to_embed: Vec<NewChunk> = Vec::new();
        for (doc, hash, pieces) in changed {
            let mut ids = Vec::with_capacity(pieces.len());
            let mut fresh = Vec::new();
            let mut unique = HashSet::new();
            for (position, SectionChunk { headings, text }) in pieces.into_iter().enumerate() {
                let chunk = NewChunk {
                    source: doc.source.clone(),
                    title: doc.title.clone(),
                    position,
                    text,
                    headings,
                };
                let id = chunk.vector_id(cid);
                if !unique.insert(id.clone()) {
                    continue; // the same text twice in one section of a source: one vector
                }
                ids.push(id);
                fresh.push(chunk);
            }
            let existing: HashSet<String> =
                store.chunk_ids_for_source(cid, &doc.source).await?.into_iter().collect();
            let reuse: Vec<String> = ids.iter().filter(|i| existing.contains(*i)).cloned().collect();
            // A killed run can leave a row whose vector was never written: check the vectors.
            let present: HashSet<String> = if reuse.is_empty() {
                HashSet::new()
            } else {
                self.sinks.vectors.fetch(cid, &reuse).await?.into_iter().map(|r| r.id).collect()
            };
            let new_chunks: Vec<NewChunk> = fresh
                .into_iter()
                .zip(&ids)
                .filter(|(_, id)| !present.contains(*id))
                .map(|(c, _)| c)
                .collect();
            let id_set: HashSet<&String> = ids.iter().collect();
            let stale: Vec<String> = existing.iter().filter(|i| !id_set.contains(i)).cloned().collect();
            self.reporter.emit(IngestEvent::Chunked {
                source: doc.source.clone(),
                chunks: ids.len(),
                to_embed: new_chunks.len(),
            });
            to_embed.extend(new_chunks);
            plans.push(Plan { doc, hash, ids, stale });
        }
        if cancel.is_cancelled() {
            return Ok(done);
        }
        // 4. Embed and upsert everything new in the group, in batches.
        let reporter = self.reporter.clone();
        let on_batch = move |n: usize| reporter.emit(IngestEvent::Embedded { count: n });
        index_chunks_with(
            &self.sinks.store,
            &self.sinks.embedder,
            &self.sinks.vectors,
            cid,
            &to_embed,
            self.opts,
            &on_batch,
        )
        .await?;
        // 5. Commit each source: drop its stale chunks, then record its state.
        for plan in plans {
            if !plan.stale.is_empty() {
                let n = delete_chunks(store, &self.sinks.vectors, cid, &plan.stale).await?;
                self.reporter.emit(IngestEvent::Deleted {
                    source: plan.doc.source.clone(),
                    chunks: usize::try_from(n).unwrap_or(plan.stale.len()),
                });
            }
            let state = SourceState {
                company_id: cid.to_string(),
                source: plan.doc.source.clone(),
                title: plan.doc.title.clone(),
                content_hash: plan.hash,
                etag: plan.doc.etag.clone(),
                last_modified: plan.doc.last_modified.clone(),
                chunk_count: i64::try_from(plan.ids.len()).unwrap_or(i64::MAX),
                ingested_at: Utc::now(),
            };
            store.upsert_source(&state).await?;
            self.reporter
                .emit(IngestEvent::Committed { source: plan.doc.source.clone(), chunks: plan.ids.len() });
            done.push(plan.doc.source);
        }
        Ok(done)
    }
}

/// Delete every chunk of `source` (vectors and rows) and its recorded state. Returns the
/// number of chunks deleted. Corpus statistics are not refreshed: that is the caller's
/// ([`super::forget`] or the end of a run).
///
/// # Errors
/// Vector store or storage failures.
pub async fn forget_source<'a>(
    target: impl Into<IndexTarget<'a>>,
    company_id: &str,
    source: &str,
) -> Result<usize> {
    let t = target.into();
    let ids = t.store.chunk_ids_for_source(company_id, source).await?;
    let n = delete_chunks(t.store, t.vectors, company_id, &ids).await?;
    t.store.delete_source(company_id, source).await?;
    Ok(usize::try_from(n).unwrap_or(ids.len()))
}

/// After a complete run: delete sources in scope that were not seen.
async fn sweep_vanished(
    target: IndexTarget<'_>,
    company_id: &str,
    seen: &HashSet<String>,
    in_scope: impl Fn(&str) -> bool,
    reporter: &Reporter,
) -> Result<()> {
    for s in target.store.list_sources(company_id).await? {
        if in_scope(&s.source) && !seen.contains(&s.source) {
            let n = forget_source(target, company_id, &s.source).await?;
            reporter.emit(IngestEvent::Deleted { source: s.source.clone(), chunks: n });
        }
    }
    Ok(())
}
