//! The website crawler: robots.txt (RFC 9309, texting_robots), sitemaps and sitemap indexes
//! first, then links breadth-first; one host (and optional path prefix); bounded concurrency
//! with a politeness delay; manual redirects so every hop is checked for scope and SSRF;
//! canonical-URL de-duplication; ETag / Last-Modified conditional requests.
//!
//! Files by job: `fetch` (the client, with the public-address guard of `net::guard`;
//! one request and its redirects),
//! `robots`, `sitemap`, `page` (one page to a document and links), `frontier` (the
//! breadth-first queue); this file holds the options and the run.

mod fetch;
mod frontier;
mod page;
mod robots;
mod sitemap;

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use self::fetch::Ctx;
pub use self::sitemap::parse_sitemap;
use super::IngestOptions;
use super::chunk::Chunker;
use super::pipeline::{EventSink, Indexer, IngestEvent, IngestSummary, Reporter};
use super::target::IndexTarget;
use crate::error::{Error, Result};
pub use crate::net::guard::is_public_ip;

/// The crawler's User-Agent; robots.txt groups are matched on its product token.
pub const USER_AGENT: &str = concat!(
    "chatbot-toolkit/",
    env!("CARGO_PKG_VERSION"),
    " (+https://example.invalid/chatbot-toolkit; knowledge ingest)"
);

/// Default [`SiteOptions::max_queue`].
pub const DEFAULT_MAX_QUEUE: usize = 100_000;

/// Site crawl settings. Build with [`SiteOptions::new`].
#[derive(Debug, Clone)]
pub struct SiteOptions {
    pub start: Url,
    /// Only URLs whose path starts with this are crawled.
    pub prefix: Option<String>,
    pub max_pages: usize,
    /// Link hops from the start URL (or a sitemap entry); `None` for no limit.
    pub max_depth: Option<usize>,
    /// Time between two requests to the host (robots.txt `Crawl-delay` wins when longer).
    pub delay: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Allow private, loopback and link-local addresses (off by default: SSRF guard).
    pub allow_private: bool,
    pub user_agent: String,
    /// Read sitemap.xml (and those robots.txt names) before following links.
    pub use_sitemaps: bool,
    pub max_redirects: usize,
    /// Most URLs waiting to be crawled (sitemap entries and links, default 100,000; never more
    /// than the pages still allowed by `max_pages`). A sitemap or page that lists more does not
    /// grow memory: the rest are dropped and the run counts as incomplete, so pages it did not
    /// reach keep their stored knowledge.
    pub max_queue: usize,
}

impl SiteOptions {
    /// # Errors
    /// [`Error::Invalid`] (field `url`) unless `start` is an absolute http(s) URL with a host.
    pub fn new(start: &str) -> Result<Self> {
        let mut url =
            Url::parse(start.trim()).map_err(|e| Error::invalid("url", format!("{start:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::invalid("url", "must be an http:// or https:// URL with a host"));
        }
        url.set_fragment(None);
        Ok(Self {
            start: url,
            prefix: None,
            max_pages: 10_000,
            max_depth: None,
            delay: Duration::ZERO,
            timeout: Duration::from_secs(30),
            allow_private: false,
            user_agent: USER_AGENT.to_string(),
            use_sitemaps: true,
            max_redirects: 10,
            max_queue: DEFAULT_MAX_QUEUE,
        })
    }

    fn robots_token(&self) -> &str {
        self.user_agent.split(['/', ' ']).next().unwrap_or("chatbot-toolkit")
    }

    /// Whether `url` is on the start URL's host (scheme may change between http and https)
    /// and under the prefix.
    pub fn in_scope(&self, url: &Url) -> bool {
        let same_port = if url.scheme() == self.start.scheme() {
            url.port_or_known_default() == self.start.port_or_known_default()
        } else {
            url.port().is_none() && self.start.port().is_none()
        };
        url.host_str() == self.start.host_str()
            && same_port
            && matches!(url.scheme(), "http" | "https")
            && self.prefix.as_deref().is_none_or(|p| url.path().starts_with(p))
    }
}

/// robots.txt as the crawler reads it, for the fuzz targets (`crate::ingest::fuzzing`).
#[cfg(feature = "fuzzing")]
pub(crate) fn robots_for_fuzzing(
    body: &[u8],
    urls: &[&str],
) -> Option<(Option<Duration>, Vec<String>, Vec<bool>)> {
    robots::for_fuzzing(body, urls)
}

/// De-duplication key: no fragment, no trailing `/`, no trailing `index.html`.
pub fn dedup_key(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    let mut path = u.path().to_string();
    for idx in ["index.html", "index.htm", "index.php"] {
        if path.ends_with(&format!("/{idx}")) {
            path.truncate(path.len() - idx.len());
        }
    }
    while path.len() > 1 && path.ends_with('/') {
        path.pop();
    }
    u.set_path(&path);
    u.to_string()
}

/// Crawl a site into a company's knowledge.
///
/// # Errors
/// An unreachable robots.txt, storage, embedder or vector store failures. Pages that fail
/// are reported in the summary.
pub async fn ingest_site<'a>(
    target: impl Into<IndexTarget<'a>>,
    company_id: &str,
    site: &SiteOptions,
    opts: &IngestOptions,
    events: EventSink,
    cancel: &CancellationToken,
) -> Result<IngestSummary> {
    let target = target.into();
    let reporter = Reporter::new(events);
    let chunker = Arc::new(Chunker::new(opts.chunk)?);
    let client = fetch::build_client(site)?;
    let mut ctx = Ctx {
        client,
        site: site.clone(),
        robot: None,
        delay: site.delay,
        next_slot: tokio::sync::Mutex::new(Instant::now()),
        sinks: target.to_sinks(),
        company_id: company_id.to_string(),
        fingerprint: opts.chunk.fingerprint(),
        reporter: reporter.clone(),
        opts: opts.clone(),
        visited: std::sync::Mutex::new(HashSet::new()),
    };
    if let Err(reason) = fetch::check_literal_host(&site.start, site.allow_private) {
        return Err(Error::invalid("url", reason));
    }
    ctx.robot = robots::load_robots(&ctx).await?;
    if let Some(d) = ctx.robot.as_ref().and_then(robots::crawl_delay) {
        ctx.delay = ctx.delay.max(d);
    }
    // The queue never holds more than the pages still to be fetched (minus the start page).
    let room = site.max_queue.min(site.max_pages).saturating_sub(1);
    let (sitemap_pages, sitemaps_cut) =
        if site.use_sitemaps { sitemap::load_sitemaps(&ctx, room).await } else { (Vec::new(), false) };
    let ctx = Arc::new(ctx);

    let mut queue: VecDeque<(Url, usize)> = VecDeque::new();
    for u in std::iter::once(site.start.clone()).chain(sitemap_pages) {
        if ctx.visit(&u) {
            ctx.reporter.emit(IngestEvent::Discovered { source: u.to_string() });
            queue.push_back((u, 0));
        }
    }
    // Pages known from earlier runs: fetched last (conditional requests give no links).
    let seeds: Vec<Url> = target
        .store
        .list_sources(company_id)
        .await?
        .into_iter()
        .filter_map(|s| Url::parse(&s.source).ok())
        .filter(|u| site.in_scope(u))
        .collect();

    let indexer = Indexer {
        sinks: target.to_sinks(),
        company_id: company_id.to_string(),
        chunker,
        reporter,
        opts: opts.index,
    };
    let crawl = |tx| frontier::crawl(ctx, queue, seeds, sitemaps_cut, tx, cancel);
    indexer.ingest(crawl, |s| Url::parse(s).is_ok_and(|u| site.in_scope(&u)), cancel).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keys() {
        let k = |s: &str| dedup_key(&Url::parse(s).unwrap());
        assert_eq!(k("http://h/a/"), k("http://h/a"));
        assert_eq!(k("http://h/a/index.html"), k("http://h/a"));
        assert_eq!(k("http://h/a#x"), k("http://h/a"));
        assert_eq!(k("HTTP://H:80/a"), k("http://h/a"));
        assert_ne!(k("http://h/a?x=1"), k("http://h/a"));
        assert_eq!(k("http://h/"), "http://h/");
    }

    #[test]
    fn scope_is_host_and_prefix() {
        let mut o = SiteOptions::new("http://h:8080/docs/").unwrap();
        assert!(o.in_scope(&Url::parse("http://h:8080/other").unwrap()));
        assert!(!o.in_scope(&Url::parse("http://h:8081/docs/").unwrap()));
        assert!(!o.in_scope(&Url::parse("http://evil/docs/").unwrap()));
        o.prefix = Some("/docs/".into());
        assert!(!o.in_scope(&Url::parse("http://h:8080/other").unwrap()));
        assert!(SiteOptions::new("ftp://h/").is_err());
        assert!(SiteOptions::new("not a url").is_err());
    }
}
