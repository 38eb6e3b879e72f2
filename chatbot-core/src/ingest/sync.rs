//! Keeping knowledge fresh: a site crawl or a files ingest can be *registered* as a
//! [`SourceSpec`] (every option the run used, stored as JSON in the `knowledge_sources` table
//! with an interval), and [`sync_source`] runs a registered source again: conditional requests
//! (ETag / Last-Modified) and content hashes leave unchanged pages alone (nothing re-chunked,
//! nothing embedded), changed pages are re-indexed, and pages that disappeared (404 / 410, no
//! longer linked, files deleted) are removed from the SQL store and the vector store.
//!
//! A run holds the source's *lease* (a conditional UPDATE in the database, renewed while the
//! run lasts), so when several instances share one database only one of them runs a given
//! source at a time; the others skip it. Each run takes a lease under a fresh owner name
//! (host, process, random), so two runs in one process exclude each other too.
//!
//! Applications use the facade: [`crate::Knowledge::ingest_source`], [`crate::Knowledge::sync`],
//! [`crate::Chatbot::sync_knowledge`] and [`crate::Chatbot::run_sync_schedule`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::chunk::ChunkSettings;
use super::pipeline::{EventSink, Failure, IngestSummary};
use super::target::IndexTarget;
use super::{IngestOptions, MAX_INGEST_CONCURRENCY, MIN_INGEST_TIMEOUT};
use crate::error::{Error, Result};
use crate::store::{KnowledgeSource, SourceRun};

/// How often a registered source is synced unless told otherwise: daily.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a lease holds without renewal; a run renews it every third of this.
pub const LEASE_TTL: Duration = Duration::from_secs(10 * 60);
/// Longest accepted interval (a year).
const MAX_INTERVAL: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// Whether a stored document (URL or path) belongs to a source.
type Scope = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// A site crawl's options as registered (see `ingest::SiteOptions`, feature `crawl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSpec {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub max_pages: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<usize>,
    pub delay_ms: u64,
    pub timeout_secs: u64,
    pub allow_private: bool,
    pub use_sitemaps: bool,
    pub max_redirects: usize,
    pub max_queue: usize,
}

/// The chunking and reading options of a registered source (see [`IngestOptions`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadSpec {
    pub chunk: ChunkSettings,
    pub concurrency: usize,
    pub pdf_timeout_secs: u64,
    pub max_document_bytes: u64,
}

/// What a registered source ingests, with every option its run used: what `knowledge_sources`
/// stores as JSON in `options`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceSpec {
    /// A site crawl.
    Site { site: SiteSpec, read: ReadSpec },
    /// Files and folders (absolute paths).
    Files { paths: Vec<PathBuf>, read: ReadSpec },
}

impl ReadSpec {
    fn new(opts: &IngestOptions) -> Self {
        Self {
            chunk: opts.chunk,
            concurrency: opts.concurrency,
            pdf_timeout_secs: opts.pdf_timeout.as_secs(),
            max_document_bytes: opts.max_document_bytes,
        }
    }

    /// The ingest options, within the limits every front end gets.
    fn options(&self) -> IngestOptions {
        IngestOptions {
            chunk: self.chunk,
            concurrency: self.concurrency.clamp(1, MAX_INGEST_CONCURRENCY),
            pdf_timeout: Duration::from_secs(self.pdf_timeout_secs).max(MIN_INGEST_TIMEOUT),
            max_document_bytes: self.max_document_bytes,
            ..IngestOptions::default()
        }
    }
}

impl SourceSpec {
    /// A site crawl with these options.
    #[cfg(feature = "crawl")]
    #[cfg_attr(docsrs, doc(cfg(feature = "crawl")))]
    pub fn site(site: &super::SiteOptions, opts: &IngestOptions) -> Self {
        Self::Site {
            site: SiteSpec {
                url: site.start.to_string(),
                prefix: site.prefix.clone(),
                max_pages: site.max_pages,
                max_depth: site.max_depth,
                delay_ms: u64::try_from(site.delay.as_millis()).unwrap_or(u64::MAX),
                timeout_secs: site.timeout.as_secs(),
                allow_private: site.allow_private,
                use_sitemaps: site.use_sitemaps,
                max_redirects: site.max_redirects,
                max_queue: site.max_queue,
            },
            read: ReadSpec::new(opts),
        }
    }

    /// Files and folders with these options (paths made absolute, so a sync from another
    /// working directory reads the same files).
    ///
    /// # Errors
    /// [`Error::Invalid`] (field `paths`) when none is given.
    pub fn files(paths: &[PathBuf], opts: &IngestOptions) -> Result<Self> {
        if paths.is_empty() {
            return Err(Error::invalid("paths", "give at least one file or folder"));
        }
        let mut abs: Vec<PathBuf> =
            paths.iter().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())).collect();
        abs.sort();
        abs.dedup();
        Ok(Self::Files { paths: abs, read: ReadSpec::new(opts) })
    }

    /// `site` or `files`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Site { .. } => "site",
            Self::Files { .. } => "files",
        }
    }

    /// The start URL, or the paths one per line.
    pub fn location(&self) -> String {
        match self {
            Self::Site { site, .. } => site.url.clone(),
            Self::Files { paths, .. } => {
                paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join("\n")
            }
        }
    }

    /// The source's id within its company: a hash of kind and location, so registering the
    /// same site or paths again updates one registration.
    pub fn source_id(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.kind().as_bytes());
        h.update([0]);
        h.update(self.location().as_bytes());
        hex::encode(h.finalize())[..16].to_string()
    }

    /// Whether a stored document (URL or path) belongs to this source.
    fn scope(&self) -> Result<Scope> {
        match self {
            #[cfg(feature = "crawl")]
            Self::Site { .. } => {
                let site = self.site_options()?;
                Ok(Box::new(move |s: &str| url::Url::parse(s).is_ok_and(|u| site.in_scope(&u))))
            }
            #[cfg(not(feature = "crawl"))]
            Self::Site { .. } => Err(not_built()),
            Self::Files { paths, .. } => Ok(Box::new(super::files::scope(paths))),
        }
    }

    #[cfg(feature = "crawl")]
    fn site_options(&self) -> Result<super::SiteOptions> {
        let Self::Site { site, .. } = self else {
            return Err(Error::Internal("not a site source".into()));
        };
        let mut o = super::SiteOptions::new(&site.url)?;
        o.prefix = site.prefix.clone();
        o.max_pages = site.max_pages.max(1);
        o.max_depth = site.max_depth;
        o.delay = Duration::from_millis(site.delay_ms);
        o.timeout = Duration::from_secs(site.timeout_secs).max(MIN_INGEST_TIMEOUT);
        o.allow_private = site.allow_private;
        o.use_sitemaps = site.use_sitemaps;
        o.max_redirects = site.max_redirects;
        o.max_queue = site.max_queue;
        Ok(o)
    }

    fn read(&self) -> &ReadSpec {
        match self {
            Self::Site { read, .. } | Self::Files { read, .. } => read,
        }
    }

    /// The spec a registration stores.
    ///
    /// # Errors
    /// [`Error::Storage`] when the stored options are not a spec this version reads.
    pub fn from_registration(source: &KnowledgeSource) -> Result<Self> {
        serde_json::from_value(source.options.clone()).map_err(|e| {
            Error::Storage(format!(
                "stored options of knowledge source {} are not valid: {e}",
                source.source_id
            ))
        })
    }
}

#[cfg(not(feature = "crawl"))]
fn not_built() -> Error {
    Error::Config("this build has no site crawler (feature `crawl`)".into())
}

/// An interval as an operator writes it: `30m`, `6h`, `1d`, `90s`, `2w`, or a bare number of
/// seconds; `0` for "only when forced".
///
/// # Errors
/// [`Error::Invalid`] (field `interval`) for anything else, or longer than a year.
pub fn parse_interval(s: &str) -> Result<Duration> {
    let t = s.trim();
    let bad = || Error::invalid("interval", format!("{s:?}: expected e.g. 30m, 6h, 1d, 2w or 0"));
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult = match unit.trim() {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => return Err(bad()),
    };
    let d = Duration::from_secs(n.checked_mul(mult).ok_or_else(bad)?);
    if d > MAX_INTERVAL {
        return Err(Error::invalid("interval", "at most a year"));
    }
    Ok(d)
}

/// What became of one registered source in a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    /// It ran to the end (some pages may have failed: see `failed`).
    Synced,
    /// Another run (another instance, or another command) holds its lease.
    Skipped,
    /// The run failed as a whole (see `error`).
    Failed,
    /// The run was stopped before its end (nothing lost; the next run resumes).
    Cancelled,
}

/// One registered source's sync.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncReport {
    pub company_id: String,
    pub source_id: String,
    pub kind: String,
    pub location: String,
    pub outcome: SyncOutcome,
    /// Why it was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Pages fetched (304s included) or files looked at.
    pub pages: usize,
    /// Documents found unchanged (HTTP 304, same content hash, same file stamp).
    pub unchanged: usize,
    /// Known documents whose content changed.
    pub changed: usize,
    /// Documents new to the knowledge.
    pub added: usize,
    /// Documents gone from the source, removed from both stores.
    pub removed: usize,
    /// Chunks embedded.
    pub embedded: usize,
    /// Pages or files that failed.
    pub failed: Vec<Failure>,
    pub seconds: f64,
}

impl SyncReport {
    fn new(source: &KnowledgeSource, outcome: SyncOutcome) -> Self {
        Self {
            company_id: source.company_id.clone(),
            source_id: source.source_id.clone(),
            kind: source.kind.clone(),
            location: source.location.clone(),
            outcome,
            error: None,
            pages: 0,
            unchanged: 0,
            changed: 0,
            added: 0,
            removed: 0,
            embedded: 0,
            failed: Vec::new(),
            seconds: 0.0,
        }
    }
}

/// Documents added, changed and removed by a run (comparing the source's stored documents
/// before and after it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Delta {
    pub(crate) changed: usize,
    pub(crate) added: usize,
    pub(crate) removed: usize,
}

/// The source's stored documents and their content hashes.
async fn snapshot(
    target: IndexTarget<'_>,
    company_id: &str,
    scope: &(dyn Fn(&str) -> bool + Send + Sync),
) -> Result<HashMap<String, String>> {
    Ok(target
        .store
        .list_sources(company_id)
        .await?
        .into_iter()
        .filter(|s| scope(&s.source))
        .map(|s| (s.source, s.content_hash))
        .collect())
}

/// Run a spec once (no registration, no lease): the ingest, and what it added, changed and
/// removed.
///
/// # Errors
/// As [`super::ingest_site`] / [`super::ingest_files`].
pub(crate) async fn run_spec(
    target: IndexTarget<'_>,
    company_id: &str,
    spec: &SourceSpec,
    events: EventSink,
    cancel: &CancellationToken,
) -> Result<(IngestSummary, Delta)> {
    let scope = spec.scope()?;
    let before = snapshot(target, company_id, scope.as_ref()).await?;
    let opts = spec.read().options();
    let summary = match spec {
        #[cfg(feature = "crawl")]
        SourceSpec::Site { .. } => {
            let site = spec.site_options()?;
            super::ingest_site(target, company_id, &site, &opts, events, cancel).await?
        }
        #[cfg(not(feature = "crawl"))]
        SourceSpec::Site { .. } => {
            let _ = (&opts, events, cancel);
            return Err(not_built());
        }
        SourceSpec::Files { paths, .. } => {
            super::ingest_files(target, company_id, paths, &opts, events, cancel).await?
        }
    };
    let after = snapshot(target, company_id, scope.as_ref()).await?;
    let delta = Delta {
        added: after.keys().filter(|k| !before.contains_key(*k)).count(),
        removed: before.keys().filter(|k| !after.contains_key(*k)).count(),
        changed: after.iter().filter(|(k, h)| before.get(*k).is_some_and(|b| b != *h)).count(),
    };
    Ok((summary, delta))
}

/// Register (or update) a source of a company: its spec and interval (`0`: synced only when
/// forced). Its next due time is one interval from now (the registering run is the first).
///
/// # Errors
/// [`Error::Invalid`] (field `interval`) above a year; storage failures.
pub async fn register<'a>(
    target: impl Into<IndexTarget<'a>>,
    company_id: &str,
    spec: &SourceSpec,
    interval: Duration,
) -> Result<KnowledgeSource> {
    if interval > MAX_INTERVAL {
        return Err(Error::invalid("interval", "at most a year"));
    }
    let store = target.into().store;
    let now = now();
    let interval_secs = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX);
    let source = KnowledgeSource {
        company_id: company_id.to_string(),
        source_id: spec.source_id(),
        kind: spec.kind().to_string(),
        location: spec.location(),
        options: serde_json::to_value(spec)?,
        interval_secs,
        next_due_at: next_due(now, interval_secs),
        last_run: None,
        lease_owner: None,
        lease_until: None,
        created_at: now,
        updated_at: now,
    };
    store.register_knowledge_source(&source).await?;
    Ok(store.get_knowledge_source(company_id, &source.source_id).await?.unwrap_or(source))
}

fn next_due(from: DateTime<Utc>, interval_secs: i64) -> Option<DateTime<Utc>> {
    (interval_secs > 0).then(|| from + TimeDelta::seconds(interval_secs))
}

/// A fresh lease owner name: host, process and a random part.
pub(crate) fn lease_owner() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty() && h.len() <= 64);
    format!("{}:{}:{:08x}", host.as_deref().unwrap_or("host"), std::process::id(), rand::random::<u32>())
}

/// Whether a registration is due at `now`.
pub fn is_due(source: &KnowledgeSource, now: DateTime<Utc>) -> bool {
    source.next_due_at.is_some_and(|t| t <= now)
}

/// Run one registered source under its lease: take the lease (skip when another run holds it),
/// renew it while running, run the spec, record the result and the next due time, release.
/// Never fails as a whole: a failure is in the report (and recorded on the source).
pub async fn sync_source(
    target: IndexTarget<'_>,
    source: &KnowledgeSource,
    events: EventSink,
    cancel: &CancellationToken,
) -> SyncReport {
    match sync_source_inner(target, source, events, cancel).await {
        Ok(r) => r,
        Err(e) => {
            let mut r = SyncReport::new(source, SyncOutcome::Failed);
            r.error = Some(e.to_string());
            r
        }
    }
}

async fn sync_source_inner(
    target: IndexTarget<'_>,
    source: &KnowledgeSource,
    events: EventSink,
    cancel: &CancellationToken,
) -> Result<SyncReport> {
    let spec = SourceSpec::from_registration(source)?;
    let owner = lease_owner();
    let (cid, sid) = (source.company_id.as_str(), source.source_id.as_str());
    let clock = std::time::Instant::now();
    if !take_lease(target.store.as_ref(), cid, sid, &owner).await? {
        let mut r = SyncReport::new(source, SyncOutcome::Skipped);
        let holder = target.store.get_knowledge_source(cid, sid).await?;
        r.error = Some(match holder.and_then(|h| h.lease_owner.zip(h.lease_until)) {
            Some((o, until)) => format!("another run holds the lease ({o}, until {})", until.to_rfc3339()),
            None => "another run holds the lease".to_string(),
        });
        return Ok(r);
    }
    let result = run_and_record(target, source, &spec, &owner, events, cancel).await?;
    let mut report = SyncReport::new(source, SyncOutcome::Synced);
    report.seconds = clock.elapsed().as_secs_f64();
    match result {
        Ok((summary, delta)) => {
            report.outcome = if summary.cancelled { SyncOutcome::Cancelled } else { SyncOutcome::Synced };
            report.pages = summary.pages;
            report.unchanged = summary.unchanged;
            report.embedded = summary.embedded;
            report.changed = delta.changed;
            report.added = delta.added;
            report.removed = delta.removed;
            report.failed = summary.failed;
        }
        Err(e) => {
            report.outcome = SyncOutcome::Failed;
            report.error = Some(e.to_string());
        }
    }
    Ok(report)
}

/// With the lease taken by `owner`: renew it while running the spec, then record the run and
/// the next due time and release the lease. The outer error is a failure to record; the inner
/// one the run's own.
async fn run_and_record(
    target: IndexTarget<'_>,
    source: &KnowledgeSource,
    spec: &SourceSpec,
    owner: &str,
    events: EventSink,
    cancel: &CancellationToken,
) -> Result<Result<(IngestSummary, Delta)>> {
    let (cid, sid) = (source.company_id.as_str(), source.source_id.as_str());
    let started = now();
    let renewing = renew_while_running(target, cid, sid, owner);
    let result = run_spec(target, cid, spec, events, cancel).await;
    renewing.cancel();
    let finished = now();
    let mut run = SourceRun { started_at: started, finished_at: finished, ..SourceRun::default() };
    let mut cancelled = false;
    match &result {
        Ok((summary, delta)) => {
            run.pages = summary.pages as u64;
            run.changed = delta.changed as u64;
            run.added = delta.added as u64;
            run.removed = delta.removed as u64;
            run.failed = summary.failed.len() as u64;
            if summary.cancelled {
                cancelled = true;
                run.error = Some("cancelled".into());
            }
        }
        Err(e) => run.error = Some(e.to_string()),
    }
    // A cancelled run stays due (the next one resumes it); any other waits an interval (the
    // registration's current one: it may have been changed meanwhile).
    let current = target.store.get_knowledge_source(cid, sid).await?;
    let next = if cancelled {
        current.as_ref().map_or(source.next_due_at, |c| c.next_due_at)
    } else {
        next_due(finished, current.as_ref().map_or(source.interval_secs, |c| c.interval_secs))
    };
    target.store.finish_source_run(cid, sid, owner, &run, next).await?;
    Ok(result)
}

async fn take_lease(store: &dyn crate::store::Store, cid: &str, sid: &str, owner: &str) -> Result<bool> {
    let now = now();
    let until = now + TimeDelta::from_std(LEASE_TTL).unwrap_or(TimeDelta::minutes(10));
    store.take_source_lease(cid, sid, owner, now, until).await
}

/// Renew the lease every third of [`LEASE_TTL`] until the returned token is cancelled.
fn renew_while_running(target: IndexTarget<'_>, cid: &str, sid: &str, owner: &str) -> CancellationToken {
    let stop = CancellationToken::new();
    let (store, cid, sid, owner, s) =
        (target.store.clone(), cid.to_string(), sid.to_string(), owner.to_string(), stop.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = s.cancelled() => return,
                () = tokio::time::sleep(LEASE_TTL / 3) => {}
            }
            match take_lease(store.as_ref(), &cid, &sid, &owner).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(company = %cid, source = %sid, "lost the lease of a running sync");
                    return;
                }
                Err(e) => tracing::warn!(company = %cid, source = %sid, error = %e, "lease renewal failed"),
            }
        }
    });
    stop
}

/// Register a spec and run it once under its lease (what `ingest site` / `ingest files` do):
/// the run's summary.
///
/// # Errors
/// [`Error::Conflict`] when another run holds the source's lease; the run's own errors
/// (recorded on the source as well).
pub(crate) async fn register_and_run(
    target: IndexTarget<'_>,
    company_id: &str,
    spec: &SourceSpec,
    interval: Duration,
    events: EventSink,
    cancel: &CancellationToken,
) -> Result<IngestSummary> {
    let source = register(target, company_id, spec, interval).await?;
    let owner = lease_owner();
    if !take_lease(target.store.as_ref(), company_id, &source.source_id, &owner).await? {
        return Err(Error::Conflict(format!(
            "source {} of company {company_id} is being synced by another run; try again when it ends",
            source.location
        )));
    }
    let result = run_and_record(target, &source, spec, &owner, events, cancel).await?;
    result.map(|(summary, _)| summary)
}

fn now() -> DateTime<Utc> {
    use chrono::SubsecRound as _;
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(parse_interval(" 30m ").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_interval("1d").unwrap(), DEFAULT_SYNC_INTERVAL);
        assert_eq!(parse_interval("2w").unwrap(), Duration::from_secs(14 * 86_400));
        assert_eq!(parse_interval("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_interval("0").unwrap(), Duration::ZERO);
        for bad in ["", "h", "6x", "-1h", "1.5h", "99999999999999999999d", "400d", "６h"] {
            let e = parse_interval(bad).unwrap_err();
            assert!(matches!(e, Error::Invalid { ref field, .. } if field == "interval"), "{bad}: {e}");
        }
    }

    #[test]
    fn ids_depend_on_kind_and_location_only() {
        let opts = IngestOptions::default();
        let a = SourceSpec::files(&["/srv/docs".into(), "/srv/a.md".into()], &opts).unwrap();
        let b =
            SourceSpec::files(&["/srv/a.md".into(), "/srv/docs".into(), "/srv/a.md".into()], &opts).unwrap();
        assert_eq!(a.source_id(), b.source_id(), "order and duplicates do not matter");
        assert_eq!(a.location(), "/srv/a.md\n/srv/docs");
        let mut other = opts.clone();
        other.concurrency = 3;
        let c = SourceSpec::files(&["/srv/docs".into(), "/srv/a.md".into()], &other).unwrap();
        assert_eq!(a.source_id(), c.source_id(), "options do not change the id");
        assert_ne!(a, c);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["kind"], "files");
        assert_eq!(serde_json::from_value::<SourceSpec>(json).unwrap(), c, "round trip");
        assert!(SourceSpec::files(&[], &opts).is_err());
    }
}
