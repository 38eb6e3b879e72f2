//! Ingest files from disk: Markdown, plain text, HTML and PDF, recursing into folders.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::chunk::Chunker;
use super::extract::{self, TextFormat};
use super::pipeline::{Document, EventSink, Indexer, IngestEvent, IngestSummary, Produced, Reporter};
use super::target::IndexTarget;
use super::{IngestOptions, strip_validator, with_validator};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Markdown,
    Text,
    Html,
    Pdf,
}

fn kind_of(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "md" | "markdown" | "mdown" | "mkd" => Kind::Markdown,
        "txt" | "text" | "rst" | "asciidoc" | "adoc" => Kind::Text,
        "html" | "htm" | "xhtml" => Kind::Html,
        "pdf" => Kind::Pdf,
        _ => return None,
    })
}

/// Every file under `roots` (recursing into folders, not following directory symlinks,
/// skipping hidden entries), sorted; plus the entries that could not be read, with reasons.
fn walk(roots: &[PathBuf]) -> (Vec<PathBuf>, Vec<(String, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(p) = stack.pop() {
        let meta = match std::fs::metadata(&p) {
            Ok(m) => m,
            Err(e) => {
                errors.push((p.display().to_string(), e.to_string()));
                continue;
            }
        };
        if meta.is_dir() {
            let is_link = std::fs::symlink_metadata(&p).map(|m| m.file_type().is_symlink()).unwrap_or(false);
            if is_link && !roots.contains(&p) {
                continue;
            }
            match std::fs::read_dir(&p) {
                Ok(rd) => {
                    for entry in rd.flatten() {
                        if entry.file_name().to_string_lossy().starts_with('.') {
                            continue;
                        }
                        stack.push(entry.path());
                    }
                }
                Err(e) => errors.push((p.display().to_string(), e.to_string())),
            }
        } else if meta.is_file() {
            files.push(p);
        }
    }
    files.sort();
    (files, errors)
}

/// What reading one file gave.
enum Read {
    Doc(Document),
    /// Same size, mtime and settings as last time.
    Unchanged,
    /// Not ingested, by rule; `keep`: leave what an earlier run stored for it.
    Skip {
        reason: String,
        keep: bool,
    },
}

/// Why a file of this kind is not read in this build, if it is not.
fn not_built(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Html if cfg!(not(feature = "html")) => Some(extract::HTML_NOT_BUILT),
        Kind::Pdf if cfg!(not(feature = "pdf")) => Some(extract::PDF_NOT_BUILT),
        _ => None,
    }
}

/// Read and extract one file.
async fn read_one(
    target: IndexTarget<'_>,
    company_id: &str,
    path: PathBuf,
    opts: &IngestOptions,
    fingerprint: &str,
    reporter: &Reporter,
) -> Result<Read> {
    let source = path.display().to_string();
    let Some(kind) = kind_of(&path) else {
        let reason = "unsupported file type (expected .md, .txt, .html or .pdf)";
        return Ok(Read::Skip { reason: reason.into(), keep: false });
    };
    if let Some(reason) = not_built(kind) {
        // Knowledge a fuller build stored for it stays.
        return Ok(Read::Skip { reason: reason.into(), keep: true });
    }
    let meta = tokio::fs::metadata(&path).await?;
    if meta.len() > opts.max_document_bytes {
        return Err(Error::invalid("file", format!("larger than {} bytes", opts.max_document_bytes)));
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let etag = format!("{}-{}", meta.len(), mtime);
    if let Some(prev) = target.store.get_source(company_id, &source).await?
        && strip_validator(fingerprint, prev.etag.as_deref()) == Some(etag.as_str())
    {
        reporter.emit(IngestEvent::Fetched { source: source.clone(), status: 304 });
        reporter.emit(IngestEvent::Unchanged { source });
        return Ok(Read::Unchanged);
    }
    let bytes = tokio::fs::read(&path).await?;
    reporter.emit(IngestEvent::Fetched { source: source.clone(), status: 200 });
    let (title, text, format, sections) = extract_file(kind, bytes, opts).await?;
    let title = title.or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()));
    if text.trim().is_empty() {
        return Err(Error::invalid("file", "no text"));
    }
    reporter.emit(IngestEvent::Extracted { source: source.clone(), chars: text.len() });
    Ok(Read::Doc(Document {
        source,
        title,
        text,
        format,
        sections,
        etag: with_validator(fingerprint, Some(&etag)),
        last_modified: None,
    }))
}

/// Title, text, format and sections of a file's bytes.
#[cfg_attr(not(feature = "pdf"), allow(unused_variables))]
async fn extract_file(
    kind: Kind,
    bytes: Vec<u8>,
    opts: &IngestOptions,
) -> Result<(Option<String>, String, TextFormat, Vec<extract::Section>)> {
    Ok(match kind {
        Kind::Markdown => {
            let t = extract::decode_text(&bytes);
            let sections = extract::markdown_sections(&t);
            (extract::markdown_title(&t), t, TextFormat::Markdown, sections)
        }
        Kind::Text => (None, extract::decode_text(&bytes), TextFormat::Plain, Vec::new()),
        #[cfg(feature = "html")]
        Kind::Html => {
            let page = extract::pool::run("html", None, move || {
                extract::html_to_text(&extract::decode_text(&bytes), None)
            })
            .await?;
            (page.title, page.text, TextFormat::Markdown, page.sections)
        }
        #[cfg(feature = "pdf")]
        Kind::Pdf => {
            let (text, sections) = extract::pdf_to_sections(bytes, opts.pdf_timeout).await?;
            (None, text, TextFormat::Plain, sections)
        }
        // `read_one` skips the kinds this build cannot read (see `not_built`).
        #[allow(unreachable_patterns)]
        other => {
            return Err(Error::invalid("file", not_built(other).unwrap_or("unsupported file type")));
        }
    })
}

/// Ingest files and folders into a company's knowledge. Unchanged files (same size, mtime and
/// chunk settings) are not even read; files that disappeared from a given folder are forgotten.
///
/// # Errors
/// Storage, embedder or vector store failures; [`Error::Invalid`] (field `paths`) when nothing
/// was given. Unreadable files are reported in the summary, not as errors.
pub async fn ingest_files<'a>(
    target: impl Into<IndexTarget<'a>>,
    company_id: &str,
    paths: &[PathBuf],
    opts: &IngestOptions,
    events: EventSink,
    cancel: &CancellationToken,
) -> Result<IngestSummary> {
    let target = target.into();
    if paths.is_empty() {
        return Err(Error::invalid("paths", "give at least one file or folder"));
    }
    let reporter = Reporter::new(events);
    let chunker = Arc::new(Chunker::new(opts.chunk)?);
    let fingerprint = opts.chunk.fingerprint();
    let roots: Vec<PathBuf> =
        paths.iter().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())).collect();
    let walk_roots = roots.clone();
    let (files, walk_errors) = tokio::task::spawn_blocking(move || walk(&walk_roots))
        .await
        .map_err(|e| Error::Internal(format!("walk task failed: {e}")))?;
    for (p, reason) in &walk_errors {
        reporter.fail(p, reason.clone());
    }
    let indexer = Indexer {
        sinks: target.to_sinks(),
        company_id: company_id.to_string(),
        chunker,
        reporter: reporter.clone(),
        opts: opts.index,
    };
    // Each read first reserves room for its document in the indexer's queue, and only then
    // reads; this loop awaits nothing but the reads. So a read that waits for room holds no
    // store connection, a read that holds one is always polled to its end (and gives it back),
    // and the indexer, which empties the queue, can always get a connection. (Awaiting
    // `tx.send` here instead stopped polling the reads in flight while the queue was full: the
    // SQLite reader connections they held or were queued for stayed taken, the indexer waited
    // for one, and the run hung with every thread idle.)
    let produce = |tx: mpsc::Sender<Document>| async move {
        let mut keep: HashSet<String> = HashSet::new();
        let tx = &tx;
        let mut stream = futures::stream::iter(files)
            .map(|p| {
                let source = p.display().to_string();
                reporter.emit(IngestEvent::Discovered { source: source.clone() });
                let r = (&reporter, &fingerprint);
                async move {
                    // Closed: the indexer stopped (it failed or was cancelled).
                    let Ok(room) = tx.reserve().await else { return (source, None) };
                    let read = read_one(target, company_id, p, opts, r.1, r.0).await;
                    (source, Some((room, read)))
                }
            })
            .buffer_unordered(opts.concurrency.max(1));
        while let Some((source, r)) = stream.next().await {
            let Some((room, r)) = r else { break };
            if cancel.is_cancelled() {
                break;
            }
            match r {
                Ok(Read::Doc(doc)) => {
                    keep.insert(source);
                    room.send(doc);
                }
                Ok(Read::Unchanged) => {
                    keep.insert(source);
                }
                Ok(Read::Skip { reason, keep: k }) => {
                    if k {
                        keep.insert(source.clone());
                    }
                    reporter.skip(&source, reason);
                }
                Err(e) => {
                    // Keep what an earlier run stored for a file that fails now.
                    keep.insert(source.clone());
                    reporter.fail(&source, e.to_string());
                }
            }
        }
        Produced { keep, complete: true }
    };
    indexer.ingest(produce, scope(&roots), cancel).await
}

/// Whether a stored source (a path) lies under `roots` (absolute): one of them, or inside one
/// that is a folder.
pub(crate) fn scope(roots: &[PathBuf]) -> impl Fn(&str) -> bool + Send + Sync + 'static {
    let dir_roots: Vec<String> =
        roots.iter().filter(|r| r.is_dir()).map(|r| format!("{}/", r.display())).collect();
    let file_roots: HashSet<String> = roots.iter().map(|r| r.display().to_string()).collect();
    move |s: &str| file_roots.contains(s) || dir_roots.iter().any(|d| s.starts_with(d.as_str()))
}
