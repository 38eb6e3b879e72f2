//! Pinecone over its REST data plane (reqwest; no SDK).
//!
//! Every request carries `Api-Key` and a pinned `X-Pinecone-Api-Version` (a Vectors-API version,
//! [`DEFAULT_API_VERSION`]). Upserts are split under both 1,000 records and 2 MB of JSON per
//! request; metadata is made to follow Pinecone's rules (flat, no nulls, under 40 KB). Calls are
//! retried under [`crate::net::retry`] on 429 (honouring `Retry-After`), 5xx, connect errors and
//! timeouts, never on other 4xx. Failures become [`Error::Upstream`] with `service: "pinecone"`.
//!
//! Lexical (BM25) search uses sparse vectors on indexes that take them (see `hybrid.rs`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::net::retry::{RetryPolicy, Transience, is_transient_status, retry, retry_after};

mod hybrid;
mod vector_store;
mod wire;

pub use hybrid::IndexInfo;

pub use wire::sanitize_metadata;
use wire::{base_url, error_message};

/// The pinned data-plane API version (Vectors API).
pub const DEFAULT_API_VERSION: &str = "2025-04";
/// Default control plane.
pub const DEFAULT_CONTROL_PLANE: &str = "https://api.pinecone.io";
/// Records per upsert request (Pinecone's limit).
pub const MAX_UPSERT_RECORDS: usize = 1000;
/// Bytes of JSON per upsert request (Pinecone's limit is 2 MB; keep a margin).
pub const MAX_UPSERT_BYTES: usize = 2 * 1024 * 1024 - 4 * 1024;
/// Bytes of metadata JSON per vector (Pinecone's limit is 40 KB).
pub const MAX_METADATA_BYTES: usize = 40 * 1024 - 64;
/// Ids per fetch/delete request.
pub(crate) const IDS_PER_REQUEST: usize = 100;
const SERVICE: &str = "pinecone";

/// Pinecone client.
#[derive(Debug, Clone)]
pub struct PineconeStore {
    client: reqwest::Client,
    /// Index base URL without trailing slash (e.g. `https://idx-abc.svc.aped-1.pinecone.io`).
    host: String,
    api_key: String,
    opts: PineconeOptions,
    policy: RetryPolicy,
    /// The index's metric and vector type, learnt once.
    index: Arc<hybrid::IndexCell>,
}

/// Pinecone settings.
#[derive(Debug, Clone, Default)]
pub struct PineconeConfig {
    pub api_key: String,
    /// The index host (bare host or full URL such as `http://localhost:5081`).
    pub index_host: Option<String>,
    /// The index name, to discover its host from the control plane.
    pub index_name: Option<String>,
    /// Legacy `PINECONE_ENVIRONMENT`.
    pub environment: Option<String>,
    /// Control plane base URL (default `https://api.pinecone.io`).
    pub control_plane_url: Option<String>,
}

/// Transport tuning (defaults suit production; tests shorten the delays).
#[derive(Debug, Clone)]
pub struct PineconeOptions {
    /// `X-Pinecone-Api-Version` sent on every request.
    pub api_version: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt (429, 5xx, connect errors, timeouts).
    pub max_retries: u32,
    /// First backoff delay; doubles per retry, with jitter, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured by sleeping; longer ones fail at once with `retry_after`.
    pub max_retry_after: Duration,
    /// An injected HTTP client (tests, proxies); `None` builds one.
    pub client: Option<reqwest::Client>,
}

impl PineconeOptions {
    /// The shared retry policy these options describe (timeouts are retried).
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::new(self.max_retries)
            .with_backoff(self.base_delay, self.max_delay)
            .with_max_retry_after(self.max_retry_after)
            .with_retry_timeouts(true)
    }
}

impl Default for PineconeOptions {
    fn default() -> Self {
        Self {
            api_version: DEFAULT_API_VERSION.into(),
            timeout: Duration::from_secs(30),
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            client: None,
        }
    }
}

impl PineconeStore {
    /// Build the client, discovering the index host when only a name is given.
    ///
    /// # Errors
    /// [`Error::Config`] or [`Error::Upstream`].
    pub async fn connect(config: PineconeConfig) -> Result<Self> {
        Self::connect_with(config, PineconeOptions::default()).await
    }

    /// [`PineconeStore::connect`] with explicit transport options.
    ///
    /// # Errors
    /// [`Error::Config`] when the key or both host and name are missing, [`Error::Upstream`] when
    /// the control plane cannot describe the index.
    pub async fn connect_with(config: PineconeConfig, opts: PineconeOptions) -> Result<Self> {
        if config.api_key.trim().is_empty() {
            return Err(Error::Config("PINECONE_API_KEY is empty".into()));
        }
        let client = match &opts.client {
            Some(c) => c.clone(),
            None => reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| Error::Config(format!("pinecone http client: {e}")))?,
        };
        if let Some(env) = config.environment.as_deref().filter(|e| !e.is_empty()) {
            tracing::debug!(
                environment = env,
                "pinecone: legacy PINECONE_ENVIRONMENT given; hosts are now per index"
            );
        }
        let policy = opts.retry_policy();
        let mut store = Self {
            client,
            host: String::new(),
            api_key: config.api_key.trim().to_string(),
            opts,
            policy,
            index: Arc::default(),
        };
        store.host =
            match (config.index_host.as_deref().map(str::trim).filter(|h| !h.is_empty()), &config.index_name)
            {
                (Some(host), _) => base_url(host),
                (None, Some(name)) if !name.trim().is_empty() => {
                    let cp = config.control_plane_url.as_deref().unwrap_or(DEFAULT_CONTROL_PLANE);
                    let url = format!("{}/indexes/{}", cp.trim_end_matches('/'), name.trim());
                    let desc = store.call(Method::GET, &url, None, &[]).await?;
                    let host =
                        desc.get("host").and_then(Value::as_str).filter(|h| !h.is_empty()).ok_or_else(
                            || {
                                Error::upstream(
                                    SERVICE,
                                    format!("describe index {name:?} returned no host"),
                                    false,
                                )
                            },
                        )?;
                    let info = IndexInfo::from_json(&desc);
                    tracing::info!(
                        index = %name, host, metric = %info.metric, vector_type = %info.vector_type,
                        "pinecone: discovered index host"
                    );
                    let host = base_url(host);
                    store.learn(info);
                    host
                }
                _ => {
                    return Err(Error::Config(
                        "Pinecone needs PINECONE_INDEX_HOST or PINECONE_INDEX (index name)".into(),
                    ));
                }
            };
        Ok(store)
    }

    /// The index base URL in use.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Every record id in `namespace` (optionally starting with `prefix`), following pagination.
    ///
    /// # Errors
    /// [`Error::Upstream`].
    pub async fn list_ids(&self, namespace: &str, prefix: Option<&str>) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query: Vec<(&str, String)> =
                vec![("namespace", namespace.to_string()), ("limit", "100".into())];
            if let Some(p) = prefix.filter(|p| !p.is_empty()) {
                query.push(("prefix", p.to_string()));
            }
            if let Some(t) = &token {
                query.push(("paginationToken", t.clone()));
            }
            let url = format!("{}/vectors/list", self.host);
            let page = self.call(Method::GET, &url, None, &query).await?;
            if let Some(items) = page.get("vectors").and_then(Value::as_array) {
                out.extend(
                    items.iter().filter_map(|v| v.get("id").and_then(Value::as_str)).map(String::from),
                );
            }
            token = page
                .get("pagination")
                .and_then(|p| p.get("next"))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(String::from);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// One HTTP call with retries; returns the parsed JSON body (`{}` when empty).
    pub(crate) async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
        query: &[(&str, String)],
    ) -> Result<Value> {
        let what = format!("pinecone {method} {url}");
        retry(&self.policy, &what, Transience::of_error, |_| self.call_once(&method, url, body, query))
            .await
            .0
    }

    /// One attempt; failures are [`Error::Upstream`], retryable when transient.
    async fn call_once(
        &self,
        method: &Method,
        url: &str,
        body: Option<&[u8]>,
        query: &[(&str, String)],
    ) -> Result<Value> {
        let mut req = self
            .client
            .request(method.clone(), url)
            .timeout(self.opts.timeout)
            .header("Api-Key", &self.api_key)
            .header("X-Pinecone-Api-Version", &self.opts.api_version)
            .header("Accept", "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_vec());
        }
        match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = retry_after(resp.headers());
                let bytes = resp.bytes().await.unwrap_or_default();
                if status.is_success() {
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        return Ok(json!({}));
                    }
                    return serde_json::from_slice(&bytes).map_err(|e| {
                        Error::upstream(SERVICE, format!("unreadable response from {url}: {e}"), false)
                    });
                }
                let retryable = is_transient_status(status.as_u16());
                Err(Error::Upstream {
                    service: SERVICE.into(),
                    message: error_message(status, &bytes),
                    retryable,
                    retry_after,
                })
            }
            Err(e) => {
                let retryable = e.is_timeout() || e.is_connect() || e.is_request();
                let what = if e.is_timeout() {
                    format!("request timed out after {:?}", self.opts.timeout)
                } else if e.is_connect() {
                    "could not connect".to_string()
                } else {
                    "request failed".to_string()
                };
                Err(Error::Upstream {
                    service: SERVICE.into(),
                    message: format!("{what}: {method} {url}: {e}"),
                    retryable,
                    retry_after: None,
                })
            }
        }
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Internal(e.to_string()))?;
        self.call(Method::POST, &format!("{}{path}", self.host), Some(&bytes), &[]).await
    }
}
