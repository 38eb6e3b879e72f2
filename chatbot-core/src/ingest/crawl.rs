//! The website crawler: robots.txt (RFC 9309, texting_robots), sitemaps and sitemap indexes
//! first, then links breadth-first; one host (and optional path prefix); bounded concurrency
//! with a politeness delay; manual redirects so every hop is checked for scope and SSRF;
//! canonical-URL de-duplication; ETag / Last-Modified conditional requests.

use std::collections::{HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use regex::Regex;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION};
use texting_robots::Robot;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::{Host, Url};

use super::chunk::Chunker;
use super::extract::{self, TextFormat};
use super::pipeline::{
    Document, EventSink, Indexer, IngestEvent, IngestSummary, Reporter, Sinks, sweep_vanished,
};
use super::{IngestOptions, strip_validator, with_validator};
use crate::error::{Error, Result};

/// The crawler's User-Agent; robots.txt groups are matched on its product token.
pub const USER_AGENT: &str = concat!(
    "chatbot-toolkit/",
    env!("CARGO_PKG_VERSION"),
    " (+https://example.invalid/chatbot-toolkit; knowledge ingest)"
);

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

/// Whether an address is publicly routable (not loopback, private, link-local, CGNAT,
/// multicast, documentation or unspecified).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xC0) == 64)
                || (o[0] == 198 && (o[1] & 0xFE) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xFE00) == 0xFC00
                || (s[0] & 0xFFC0) == 0xFE80
                || (s[0] == 0x2001 && s[1] == 0x0DB8))
        }
    }
}

/// DNS resolver that drops non-public addresses (unless allowed), so a public name that
/// resolves to 127.0.0.1 or 169.254.169.254 is refused, on every request and redirect hop.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ok: Vec<SocketAddr> =
                addrs.iter().copied().filter(|a| allow || is_public_ip(a.ip())).collect();
            if ok.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = Box::new(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "{host} resolves only to private or loopback addresses (use --allow-private to crawl them)"
                    ),
                ));
                return Err(err);
            }
            let it: reqwest::dns::Addrs = Box::new(ok.into_iter());
            Ok(it)
        })
    }
}

fn check_literal_host(url: &Url, allow_private: bool) -> std::result::Result<(), String> {
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(_)) => return Ok(()),
        None => return Err("URL has no host".into()),
    };
    if allow_private || is_public_ip(ip) {
        Ok(())
    } else {
        Err(format!("{ip} is a private or loopback address (use --allow-private to crawl it)"))
    }
}

struct Ctx {
    client: reqwest::Client,
    site: SiteOptions,
    robot: Option<Robot>,
    delay: Duration,
    next_slot: tokio::sync::Mutex<Instant>,
    sinks: Sinks,
    company_id: String,
    fingerprint: String,
    reporter: Reporter,
    opts: IngestOptions,
    /// De-duplication keys of every URL queued, fetched, redirected to or named canonical.
    visited: std::sync::Mutex<HashSet<String>>,
}

/// A fetched response (after redirects).
struct Fetched {
    url: Url,
    status: u16,
    content_type: String,
    etag: Option<String>,
    last_modified: Option<String>,
    body: Vec<u8>,
}

enum FetchError {
    /// A redirect left the crawl's scope.
    OffSite(Url),
    /// A redirect leads to a page already crawled or queued.
    Duplicate(Url),
    Other(String),
}

impl Ctx {
    async fn polite(&self) {
        if self.delay.is_zero() {
            return;
        }
        let at = {
            let mut next = self.next_slot.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + self.delay;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Mark a URL visited; false when it already was.
    fn visit(&self, url: &Url) -> bool {
        self.visited.lock().map(|mut v| v.insert(dedup_key(url))).unwrap_or(true)
    }

    fn allowed(&self, url: &Url) -> bool {
        self.robot.as_ref().is_none_or(|r| r.allowed(url.as_str()))
    }

    /// GET with manual redirects (each hop checked for scope, robots and SSRF).
    async fn fetch(
        &self,
        url: &Url,
        validators: Option<(Option<String>, Option<String>)>,
        limit: u64,
        scoped: bool,
    ) -> std::result::Result<Fetched, FetchError> {
        let mut url = url.clone();
        for _ in 0..=self.site.max_redirects {
            check_literal_host(&url, self.site.allow_private).map_err(FetchError::Other)?;
            self.polite().await;
            let mut req = self.client.get(url.clone());
            if let Some((etag, lm)) = &validators {
                if let Some(e) = etag {
                    req = req.header(IF_NONE_MATCH, e);
                }
                if let Some(l) = lm {
                    req = req.header(IF_MODIFIED_SINCE, l);
                }
            }
            let mut resp = req.send().await.map_err(|e| FetchError::Other(describe_reqwest(&e)))?;
            let status = resp.status();
            if status.is_redirection() && status.as_u16() != 304 {
                let Some(loc) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                    return Err(FetchError::Other(format!("HTTP {status} without Location")));
                };
                let mut next =
                    url.join(loc).map_err(|e| FetchError::Other(format!("bad redirect {loc:?}: {e}")))?;
                next.set_fragment(None);
                if scoped && !self.site.in_scope(&next) {
                    return Err(FetchError::OffSite(next));
                }
                if scoped && !self.allowed(&next) {
                    return Err(FetchError::Other(format!("redirect to {next} is disallowed by robots.txt")));
                }
                if scoped && !self.visit(&next) {
                    return Err(FetchError::Duplicate(next));
                }
                url = next;
                continue;
            }
            let header = |name| {
                resp.headers()
                    .get(name)
                    .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                    .map(String::from)
            };
            let content_type = header(CONTENT_TYPE).unwrap_or_default().to_ascii_lowercase();
            let etag = header(ETAG);
            let last_modified = header(LAST_MODIFIED);
            if resp.content_length().is_some_and(|n| n > limit) {
                return Err(FetchError::Other(format!("larger than {limit} bytes")));
            }
            let mut body = Vec::new();
            if status.is_success() {
                while let Some(chunk) =
                    resp.chunk().await.map_err(|e| FetchError::Other(describe_reqwest(&e)))?
                {
                    if (body.len() + chunk.len()) as u64 > limit {
                        return Err(FetchError::Other(format!("larger than {limit} bytes")));
                    }
                    body.extend_from_slice(&chunk);
                }
            }
            return Ok(Fetched { url, status: status.as_u16(), content_type, etag, last_modified, body });
        }
        Err(FetchError::Other(format!("more than {} redirects", self.site.max_redirects)))
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut msg = if e.is_timeout() { "timed out".to_string() } else { e.to_string() };
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        src = s.source();
    }
    msg
}

static LOC: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?is)<(?:\w+:)?loc>\s*(?:<!\[CDATA\[)?\s*(.*?)\s*(?:\]\]>)?\s*</(?:\w+:)?loc>").ok()
});

/// The `<loc>` entries of a sitemap, and whether it is a sitemap index.
pub fn parse_sitemap(xml: &str) -> (bool, Vec<String>) {
    let is_index = xml.contains("<sitemapindex") || xml.contains(":sitemapindex");
    let Some(re) = LOC.as_ref() else { return (is_index, Vec::new()) };
    let locs = re
        .captures_iter(xml)
        .filter_map(|c| c.get(1))
        .map(|m| {
            m.as_str()
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
        })
        .collect();
    (is_index, locs)
}

/// What a page task produced.
#[derive(Default)]
struct TaskOut {
    depth: usize,
    links: Vec<Url>,
    doc: Option<Document>,
    /// Keep this source's stored knowledge (fetched, unchanged, or failed transiently).
    keep: Option<String>,
}

async fn crawl_page(ctx: Arc<Ctx>, url: Url, depth: usize) -> TaskOut {
    let mut out = TaskOut { depth, ..TaskOut::default() };
    let src = url.to_string();
    let r = &ctx.reporter;
    if !ctx.allowed(&url) {
        r.skip(&src, "disallowed by robots.txt");
        return out;
    }
    let validators = match ctx.sinks.store.get_source(&ctx.company_id, &src).await {
        Ok(Some(prev)) => {
            let e = strip_validator(&ctx.fingerprint, prev.etag.as_deref()).map(String::from);
            let l = strip_validator(&ctx.fingerprint, prev.last_modified.as_deref()).map(String::from);
            if e.is_some() || l.is_some() { Some((e, l)) } else { None }
        }
        Ok(None) => None,
        Err(e) => {
            r.fail(&src, e.to_string());
            out.keep = Some(src);
            return out;
        }
    };
    let f = match ctx.fetch(&url, validators, ctx.opts.max_document_bytes, true).await {
        Ok(f) => f,
        Err(FetchError::OffSite(to)) => {
            r.skip(&src, format!("redirects off-site to {to}"));
            return out;
        }
        Err(FetchError::Duplicate(to)) => {
            r.skip(&src, format!("redirects to {to}, already crawled"));
            return out;
        }
        Err(FetchError::Other(reason)) => {
            r.fail(&src, reason);
            out.keep = Some(src);
            return out;
        }
    };
    r.emit(IngestEvent::Fetched { source: src.clone(), status: f.status });
    let final_src = f.url.to_string();
    match f.status {
        304 => {
            r.emit(IngestEvent::Unchanged { source: src.clone() });
            out.keep = Some(src);
            return out;
        }
        404 | 410 => {
            r.skip(&src, format!("gone (HTTP {})", f.status));
            return out;
        }
        s if !(200..300).contains(&s) => {
            r.fail(&src, format!("HTTP {s}"));
            out.keep = Some(src);
            return out;
        }
        _ => {}
    }
    let ct = f.content_type.split(';').next().unwrap_or_default().trim().to_string();
    let is_pdf = ct == "application/pdf"
        || ((ct.is_empty() || ct == "application/octet-stream") && f.body.starts_with(b"%PDF"));
    let is_html = ct == "text/html"
        || ct == "application/xhtml+xml"
        || (ct.is_empty() && {
            let head = String::from_utf8_lossy(&f.body[..f.body.len().min(1024)]).to_ascii_lowercase();
            head.contains("<html") || head.contains("<!doctype html")
        });
    let etag = with_validator(&ctx.fingerprint, f.etag.as_deref());
    let last_modified = with_validator(&ctx.fingerprint, f.last_modified.as_deref());
    if is_pdf {
        match extract::pdf_to_text(f.body, ctx.opts.pdf_timeout).await {
            Ok(text) => {
                r.emit(IngestEvent::Extracted { source: final_src.clone(), chars: text.len() });
                let title = f.url.path_segments().and_then(|mut s| s.next_back()).map(String::from);
                out.doc = Some(Document {
                    source: final_src.clone(),
                    title,
                    text,
                    format: TextFormat::Plain,
                    etag,
                    last_modified,
                });
            }
            Err(e) => r.fail(&final_src, e.to_string()),
        }
        out.keep = Some(final_src);
        return out;
    }
    if !is_html {
        r.skip(
            &src,
            format!("content type {:?} is not HTML or PDF", if ct.is_empty() { "unknown" } else { &ct }),
        );
        return out;
    }
    let base = f.url.clone();
    let body = f.body;
    let page = match tokio::task::spawn_blocking(move || {
        extract::html_to_text(&extract::decode_text(&body), Some(&base))
    })
    .await
    {
        Ok(p) => p,
        Err(e) => {
            r.fail(&final_src, format!("HTML extraction failed: {e}"));
            out.keep = Some(final_src);
            return out;
        }
    };
    if !page.nofollow {
        out.links = page.links.into_iter().filter(|l| ctx.site.in_scope(l)).collect();
    }
    // A canonical URL on the same site names the page; elsewhere it is ignored.
    let source = match page.canonical.filter(|c| ctx.site.in_scope(c)) {
        Some(c) => {
            if dedup_key(&c) != dedup_key(&f.url) && !ctx.visit(&c) {
                // Another URL of this page was (or will be) crawled under the canonical name.
                r.skip(&final_src, format!("duplicate of canonical {c}"));
                return out;
            }
            c.to_string()
        }
        None => final_src,
    };
    if page.noindex {
        r.skip(&source, "noindex");
        return out;
    }
    if page.text.trim().is_empty() {
        r.skip(&source, "no text");
        return out;
    }
    r.emit(IngestEvent::Extracted { source: source.clone(), chars: page.text.len() });
    out.keep = Some(source.clone());
    out.doc = Some(Document {
        source,
        title: page.title,
        text: page.text,
        format: TextFormat::Markdown,
        etag,
        last_modified,
    });
    out
}

fn build_client(site: &SiteOptions) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(site.timeout)
        .connect_timeout(site.timeout.min(Duration::from_secs(10)))
        .user_agent(site.user_agent.clone())
        .dns_resolver(Arc::new(GuardedResolver { allow_private: site.allow_private }))
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client: {e}")))
}

/// Fetch robots.txt. `Ok(None)`: none (4xx), crawl everything.
async fn load_robots(ctx: &Ctx) -> Result<Option<Robot>> {
    let mut robots_url = ctx.site.start.clone();
    robots_url.set_path("/robots.txt");
    robots_url.set_query(None);
    match ctx.fetch(&robots_url, None, 512 * 1024, false).await {
        Ok(f) if (200..300).contains(&f.status) => match Robot::new(ctx.site.robots_token(), &f.body) {
            Ok(r) => Ok(Some(r)),
            Err(e) => {
                tracing::warn!(error = %e, "unparseable robots.txt; crawling without it");
                Ok(None)
            }
        },
        Ok(f) if (400..500).contains(&f.status) => Ok(None),
        Ok(f) => Err(Error::upstream(
            "site",
            format!(
                "{robots_url} answered HTTP {}; not crawling (RFC 9309: unreachable robots.txt means disallow)",
                f.status
            ),
            true,
        )),
        Err(FetchError::OffSite(_) | FetchError::Duplicate(_)) => Ok(None),
        Err(FetchError::Other(reason)) => {
            Err(Error::upstream("site", format!("{robots_url}: {reason}"), true))
        }
    }
}

/// Page URLs from the site's sitemaps (robots.txt's, else /sitemap.xml), following indexes.
async fn load_sitemaps(ctx: &Ctx) -> Vec<Url> {
    let mut todo: VecDeque<Url> = VecDeque::new();
    if let Some(r) = &ctx.robot {
        todo.extend(r.sitemaps.iter().filter_map(|s| Url::parse(s).ok()));
    }
    if todo.is_empty() {
        let mut u = ctx.site.start.clone();
        u.set_path("/sitemap.xml");
        u.set_query(None);
        todo.push_back(u);
    }
    let mut pages = Vec::new();
    let mut fetched = 0usize;
    let mut seen = HashSet::new();
    while let Some(sm) = todo.pop_front() {
        if fetched >= 100 || !seen.insert(sm.to_string()) || sm.host_str() != ctx.site.start.host_str() {
            continue;
        }
        fetched += 1;
        let f = match ctx.fetch(&sm, None, 50 * 1024 * 1024, false).await {
            Ok(f) if (200..300).contains(&f.status) => f,
            Ok(_) | Err(_) => continue,
        };
        let (is_index, locs) = parse_sitemap(&extract::decode_text(&f.body));
        for loc in locs {
            let Ok(mut u) = Url::parse(&loc) else { continue };
            u.set_fragment(None);
            if is_index {
                todo.push_back(u);
            } else if ctx.site.in_scope(&u) {
                pages.push(u);
            }
        }
    }
    pages
}

/// Crawl a site into a company's knowledge.
///
/// # Errors
/// An unreachable robots.txt, storage, embedder or vector store failures. Pages that fail
/// are reported in the summary.
pub async fn ingest_site(
    sinks: &Sinks,
    company_id: &str,
    site: &SiteOptions,
    opts: &IngestOptions,
    events: EventSink,
    cancel: &CancellationToken,
) -> Result<IngestSummary> {
    let reporter = Reporter::new(events);
    let chunker = Arc::new(Chunker::new(opts.chunk)?);
    let client = build_client(site)?;
    let mut ctx = Ctx {
        client,
        site: site.clone(),
        robot: None,
        delay: site.delay,
        next_slot: tokio::sync::Mutex::new(Instant::now()),
        sinks: sinks.clone(),
        company_id: company_id.to_string(),
        fingerprint: opts.chunk.fingerprint(),
        reporter: reporter.clone(),
        opts: opts.clone(),
        visited: std::sync::Mutex::new(HashSet::new()),
    };
    if let Err(reason) = check_literal_host(&site.start, site.allow_private) {
        return Err(Error::invalid("url", reason));
    }
    ctx.robot = load_robots(&ctx).await?;
    if let Some(d) = ctx.robot.as_ref().and_then(|r| r.delay) {
        let d = Duration::from_secs_f32(d.clamp(0.0, 60.0));
        ctx.delay = ctx.delay.max(d);
    }
    let sitemap_pages = if site.use_sitemaps { load_sitemaps(&ctx).await } else { Vec::new() };
    let ctx = Arc::new(ctx);

    let mut queue: VecDeque<(Url, usize)> = VecDeque::new();
    for u in std::iter::once(site.start.clone()).chain(sitemap_pages) {
        if ctx.visit(&u) {
            ctx.reporter.emit(IngestEvent::Discovered { source: u.to_string() });
            queue.push_back((u, 0));
        }
    }
    // Pages known from earlier runs: fetched last (conditional requests give no links).
    let mut seeds: Option<Vec<Url>> = Some(
        sinks
            .store
            .list_sources(company_id)
            .await?
            .into_iter()
            .filter_map(|s| Url::parse(&s.source).ok())
            .filter(|u| site.in_scope(u))
            .collect(),
    );
    let seed_depth = site.max_depth.unwrap_or(0);

    let indexer = Indexer {
        sinks: sinks.clone(),
        company_id: company_id.to_string(),
        chunker,
        reporter: reporter.clone(),
        opts: opts.index,
    };
    let (tx, rx) = mpsc::channel::<Document>(256);
    let mut keep: HashSet<String> = HashSet::new();
    let mut truncated = false;
    let crawler = async {
        let mut inflight: JoinSet<TaskOut> = JoinSet::new();
        let mut started = 0usize;
        let mut emitted: HashSet<String> = HashSet::new();
        loop {
            if cancel.is_cancelled() {
                break;
            }
            while inflight.len() < opts.concurrency.max(1) {
                let Some((u, d)) = queue.pop_front() else { break };
                if started >= site.max_pages {
                    truncated = true;
                    queue.clear();
                    break;
                }
                started += 1;
                inflight.spawn(crawl_page(Arc::clone(&ctx), u, d));
            }
            if inflight.is_empty() {
                match seeds.take() {
                    Some(s) => {
                        for u in s {
                            if ctx.visit(&u) {
                                queue.push_back((u, seed_depth));
                            }
                        }
                        continue;
                    }
                    None => break,
                }
            }
            let joined = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                j = inflight.join_next() => j,
            };
            let Some(joined) = joined else { continue };
            let out = match joined {
                Ok(o) => o,
                Err(e) => {
                    tracing::error!(error = %e, "crawl task failed");
                    continue;
                }
            };
            if let Some(k) = out.keep {
                keep.insert(k);
            }
            if site.max_depth.is_none_or(|m| out.depth < m) {
                for l in out.links {
                    if ctx.visit(&l) {
                        ctx.reporter.emit(IngestEvent::Discovered { source: l.to_string() });
                        queue.push_back((l, out.depth + 1));
                    }
                }
            }
            if let Some(doc) = out.doc {
                if !emitted.insert(doc.source.clone()) {
                    ctx.reporter.skip(&doc.source, "duplicate of a page already ingested");
                    continue;
                }
                if tx.send(doc).await.is_err() {
                    break;
                }
            }
        }
        inflight.abort_all();
        drop(tx);
    };
    let (_, indexed) = tokio::join!(crawler, indexer.run(rx, cancel));
    indexed?;
    let mut summary = reporter.summary();
    if cancel.is_cancelled() {
        summary.cancelled = true;
        super::pipeline::refresh_stats_if_changed(sinks, company_id, &summary).await?;
        return Ok(summary);
    }
    if truncated {
        tracing::info!(
            max_pages = site.max_pages,
            "page limit reached; not removing pages that were not visited"
        );
    } else {
        sweep_vanished(
            sinks,
            company_id,
            &keep,
            |s| Url::parse(s).is_ok_and(|u| site.in_scope(&u)),
            &reporter,
        )
        .await?;
        summary = reporter.summary();
    }
    super::pipeline::refresh_stats_if_changed(sinks, company_id, &summary).await?;
    Ok(summary)
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
    fn private_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        let u = Url::parse("http://127.0.0.1:8080/").unwrap();
        assert!(check_literal_host(&u, false).is_err());
        assert!(check_literal_host(&u, true).is_ok());
    }

    #[test]
    fn sitemaps_parse() {
        let xml = r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
          <url><loc> http://h/a?x=1&amp;y=2 </loc></url><url><loc><![CDATA[http://h/b]]></loc></url></urlset>"#;
        let (idx, locs) = parse_sitemap(xml);
        assert!(!idx);
        assert_eq!(locs, vec!["http://h/a?x=1&y=2", "http://h/b"]);
        let (idx, locs) =
            parse_sitemap("<sitemapindex><sitemap><loc>http://h/s1.xml</loc></sitemap></sitemapindex>");
        assert!(idx);
        assert_eq!(locs, vec!["http://h/s1.xml"]);
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
