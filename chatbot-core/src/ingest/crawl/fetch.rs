//! One fetch: a GET with manual redirects (each hop checked for scope, robots.txt and SSRF),
//! conditional validators, a politeness delay between requests and a size limit; and the
//! crawl's shared state.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION};
use texting_robots::Robot;
use tokio::time::Instant;
use url::Url;

use super::{SiteOptions, dedup_key};
use crate::error::{Error, Result};
use crate::ingest::IngestOptions;
use crate::ingest::pipeline::Reporter;
use crate::ingest::target::Sinks;
use crate::net::guard::GuardedResolver;

/// The crawl's HTTP client: manual redirects (each hop is checked here), no proxy, and the
/// public-address guard (`crate::net::guard`) on every name it resolves.
pub(super) fn build_client(site: &SiteOptions) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(site.timeout)
        .connect_timeout(site.timeout.min(Duration::from_secs(10)))
        .user_agent(site.user_agent.clone())
        .dns_resolver(std::sync::Arc::new(GuardedResolver { allow_private: site.allow_private }))
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client: {e}")))
}

/// The public-address guard on a URL's literal IP host, with the crawler's opt-in named.
pub(super) fn check_literal_host(url: &Url, allow_private: bool) -> std::result::Result<(), String> {
    crate::net::guard::check_literal_host(url, allow_private).map_err(|why| {
        format!("{why}: not a public address (use --allow-private to crawl private addresses)")
    })
}

/// What one crawl shares between its page tasks.
pub(super) struct Ctx {
    pub(super) client: reqwest::Client,
    pub(super) site: SiteOptions,
    pub(super) robot: Option<Robot>,
    pub(super) delay: Duration,
    pub(super) next_slot: tokio::sync::Mutex<Instant>,
    pub(super) sinks: Sinks,
    pub(super) company_id: String,
    pub(super) fingerprint: String,
    pub(super) reporter: Reporter,
    pub(super) opts: IngestOptions,
    /// De-duplication keys of every URL queued, fetched, redirected to or named canonical.
    pub(super) visited: std::sync::Mutex<HashSet<String>>,
}

/// A fetched response (after redirects).
pub(super) struct Fetched {
    pub(super) url: Url,
    pub(super) status: u16,
    pub(super) content_type: String,
    pub(super) etag: Option<String>,
    pub(super) last_modified: Option<String>,
    pub(super) body: Vec<u8>,
}

pub(super) enum FetchError {
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
    pub(super) fn visit(&self, url: &Url) -> bool {
        self.visited.lock().map(|mut v| v.insert(dedup_key(url))).unwrap_or(true)
    }

    pub(super) fn allowed(&self, url: &Url) -> bool {
        self.robot.as_ref().is_none_or(|r| r.allowed(url.as_str()))
    }

    /// GET with manual redirects (each hop checked for scope, robots and SSRF).
    pub(super) async fn fetch(
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
