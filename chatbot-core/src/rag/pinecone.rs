//! Pinecone over its REST data plane (reqwest; no SDK).
//!
//! Every request carries `Api-Key` and a pinned `X-Pinecone-Api-Version` (a Vectors-API version,
//! [`DEFAULT_API_VERSION`]). Upserts are split under both 1,000 records and 2 MB of JSON per
//! request; metadata is made to follow Pinecone's rules (flat, no nulls, under 40 KB). Calls are
//! retried with exponential backoff and jitter on 429 (honouring `Retry-After`), 5xx, connect
//! errors and timeouts, never on other 4xx. Failures become [`Error::Upstream`] with
//! `service: "pinecone"`.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Metadata, MetadataFilter, NamespaceStats, QueryMatch, VectorRecord, VectorStore};
use crate::error::{Error, Result};

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
const IDS_PER_REQUEST: usize = 100;
const SERVICE: &str = "pinecone";

/// Pinecone client.
#[derive(Debug, Clone)]
pub struct PineconeStore {
    client: reqwest::Client,
    /// Index base URL without trailing slash (e.g. `https://idx-abc.svc.aped-1.pinecone.io`).
    host: String,
    api_key: String,
    opts: PineconeOptions,
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
        let mut store =
            Self { client, host: String::new(), api_key: config.api_key.trim().to_string(), opts };
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
                    tracing::info!(index = %name, host, "pinecone: discovered index host");
                    base_url(host)
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
    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
        query: &[(&str, String)],
    ) -> Result<Value> {
        let mut attempt: u32 = 0;
        loop {
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
            let err = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = parse_retry_after(resp.headers());
                    let bytes = resp.bytes().await.unwrap_or_default();
                    if status.is_success() {
                        if bytes.iter().all(u8::is_ascii_whitespace) {
                            return Ok(json!({}));
                        }
                        return serde_json::from_slice(&bytes).map_err(|e| {
                            Error::upstream(SERVICE, format!("unreadable response from {url}: {e}"), false)
                        });
                    }
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    Error::Upstream {
                        service: SERVICE.into(),
                        message: error_message(status, &bytes),
                        retryable,
                        retry_after,
                    }
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
                    Error::Upstream {
                        service: SERVICE.into(),
                        message: format!("{what}: {method} {url}: {e}"),
                        retryable,
                        retry_after: None,
                    }
                }
            };
            let Error::Upstream { retryable: true, retry_after, .. } = &err else { return Err(err) };
            if attempt >= self.opts.max_retries {
                return Err(err);
            }
            let delay = match retry_after {
                Some(ra) if *ra > self.opts.max_retry_after => return Err(err),
                Some(ra) => *ra,
                None => self.backoff(attempt),
            };
            tracing::warn!(%method, url, attempt, ?delay, error = %err, "pinecone: retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// `base * 2^attempt`, capped, times a jitter factor in [0.5, 1].
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.opts.base_delay.saturating_mul(1u32 << attempt.min(16));
        let capped = exp.min(self.opts.max_delay);
        capped.mul_f64(0.5 + rand::random::<f64>() * 0.5)
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Internal(e.to_string()))?;
        self.call(Method::POST, &format!("{}{path}", self.host), Some(&bytes), &[]).await
    }
}

/// `host` -> `https://host`; full URLs are kept; trailing slashes dropped.
fn base_url(host: &str) -> String {
    let h = host.trim().trim_end_matches('/');
    if h.starts_with("http://") || h.starts_with("https://") { h.to_string() } else { format!("https://{h}") }
}

fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// `HTTP 400 Bad Request (code 3): message`, from `{"code","message"}` JSON or plain text.
fn error_message(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let detail = match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let obj = v.get("error").filter(|e| e.is_object()).unwrap_or(&v);
            match obj.get("message").and_then(Value::as_str) {
                Some(m) => match obj.get("code") {
                    Some(c) if !c.is_null() => {
                        format!("(code {}) {m}", c.as_str().map_or(c.to_string(), String::from))
                    }
                    _ => m.to_string(),
                },
                None => v.as_str().map_or_else(|| text.trim().to_string(), String::from),
            }
        }
        Err(_) => text.trim().to_string(),
    };
    let mut detail: String = detail.chars().take(500).collect();
    if detail.is_empty() {
        detail = "no body".into();
    }
    let hint = if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        " (check PINECONE_API_KEY)"
    } else {
        ""
    };
    format!("HTTP {status}{hint}: {detail}")
}

/// Make metadata follow Pinecone's rules: drop nulls, nested objects and non-string lists;
/// shorten the longest strings until the JSON is under [`MAX_METADATA_BYTES`].
pub fn sanitize_metadata(meta: &Metadata) -> Metadata {
    let mut out = Metadata::new();
    for (k, v) in meta {
        match v {
            Value::Null | Value::Object(_) => {}
            Value::Array(items) => {
                if items.iter().all(Value::is_string) {
                    out.insert(k.clone(), v.clone());
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    loop {
        let size = serde_json::to_vec(&out).map_or(0, |b| b.len());
        if size <= MAX_METADATA_BYTES {
            return out;
        }
        let over = size - MAX_METADATA_BYTES;
        let longest = out
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.len())))
            .max_by_key(|(_, len)| *len);
        match longest {
            Some((key, len)) if len > 0 => {
                if let Some(Value::String(s)) = out.get_mut(&key) {
                    let mut cut = len.saturating_sub(over + 16);
                    while cut > 0 && !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    s.truncate(cut);
                }
            }
            _ => {
                // Only lists/numbers left: drop the largest list.
                let key = out
                    .iter()
                    .filter(|(_, v)| v.is_array())
                    .max_by_key(|(_, v)| v.to_string().len())
                    .map(|(k, _)| k.clone());
                match key {
                    Some(k) => {
                        out.remove(&k);
                    }
                    None => return out,
                }
            }
        }
    }
}

/// Pinecone filter for equality on every pair.
fn filter_json(filter: &MetadataFilter) -> Option<Value> {
    let clauses: Vec<Value> = filter.equals.iter().map(|(k, v)| json!({ k.clone(): { "$eq": v } })).collect();
    match clauses.len() {
        0 => None,
        1 => clauses.into_iter().next(),
        _ => Some(json!({ "$and": clauses })),
    }
}

fn metadata_of(v: &Value) -> Metadata {
    v.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default()
}

fn values_of(v: &Value) -> Vec<f32> {
    v.get("values")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).map(|x| x as f32).collect())
        .unwrap_or_default()
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.chars().count() > 512 {
        return Err(Error::invalid("id", format!("Pinecone ids must be 1 to 512 characters (got {:?})", id)));
    }
    Ok(())
}

#[async_trait]
impl VectorStore for PineconeStore {
    fn name(&self) -> &'static str {
        "pinecone"
    }

    fn max_upsert_batch(&self) -> usize {
        MAX_UPSERT_RECORDS
    }

    async fn upsert(&self, namespace: &str, records: &[VectorRecord]) -> Result<usize> {
        // Serialise each record once, then pack requests under both limits.
        let ns_json = serde_json::to_string(namespace).map_err(|e| Error::Internal(e.to_string()))?;
        let envelope = r#"{"vectors":[],"namespace":}"#.len() + ns_json.len();
        let mut batches: Vec<Vec<Vec<u8>>> = Vec::new();
        let mut cur: Vec<Vec<u8>> = Vec::new();
        let mut cur_bytes = envelope;
        for r in records {
            check_id(&r.id)?;
            if r.values.iter().any(|x| !x.is_finite()) {
                return Err(Error::invalid("values", format!("record {} holds NaN or infinity", r.id)));
            }
            let one = json!({ "id": r.id, "values": r.values, "metadata": sanitize_metadata(&r.metadata) });
            let bytes = serde_json::to_vec(&one).map_err(|e| Error::Internal(e.to_string()))?;
            if bytes.len() + envelope > MAX_UPSERT_BYTES {
                return Err(Error::invalid("values", format!("record {} is larger than 2 MB of JSON", r.id)));
            }
            if !cur.is_empty()
                && (cur.len() >= MAX_UPSERT_RECORDS || cur_bytes + bytes.len() + 1 > MAX_UPSERT_BYTES)
            {
                batches.push(std::mem::take(&mut cur));
                cur_bytes = envelope;
            }
            cur_bytes += bytes.len() + 1;
            cur.push(bytes);
        }
        if !cur.is_empty() {
            batches.push(cur);
        }
        let mut total = 0usize;
        for batch in batches {
            let mut body = Vec::with_capacity(batch.iter().map(|b| b.len() + 1).sum::<usize>() + envelope);
            body.extend_from_slice(br#"{"vectors":["#);
            for (i, b) in batch.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(b);
            }
            body.extend_from_slice(br#"],"namespace":"#);
            body.extend_from_slice(ns_json.as_bytes());
            body.push(b'}');
            let url = format!("{}/vectors/upsert", self.host);
            let resp = self.call(Method::POST, &url, Some(&body), &[]).await?;
            let n = resp.get("upsertedCount").and_then(Value::as_u64).unwrap_or(batch.len() as u64);
            total += n as usize;
        }
        Ok(total)
    }

    async fn query(
        &self,
        namespace: &str,
        vector: &[f32],
        top_k: usize,
        filter: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
        if top_k == 0 {
            return Ok(Vec::new());
        }
        let mut body = json!({
            "namespace": namespace,
            "vector": vector,
            "topK": top_k.min(10_000),
            "includeMetadata": true,
            "includeValues": false,
        });
        if let Some(f) = filter.and_then(filter_json) {
            body["filter"] = f;
        }
        let resp = self.post("/query", &body).await?;
        Ok(resp
            .get("matches")
            .and_then(Value::as_array)
            .map(|ms| {
                ms.iter()
                    .filter_map(|m| {
                        Some(QueryMatch {
                            id: m.get("id")?.as_str()?.to_string(),
                            score: m.get("score").and_then(Value::as_f64).unwrap_or(0.0) as f32,
                            metadata: metadata_of(m),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn fetch(&self, namespace: &str, ids: &[String]) -> Result<Vec<VectorRecord>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(IDS_PER_REQUEST) {
            let mut query: Vec<(&str, String)> = chunk.iter().map(|id| ("ids", id.clone())).collect();
            query.push(("namespace", namespace.to_string()));
            let url = format!("{}/vectors/fetch", self.host);
            let resp = self.call(Method::GET, &url, None, &query).await?;
            let Some(found) = resp.get("vectors").and_then(Value::as_object) else { continue };
            for id in chunk {
                if let Some(v) = found.get(id) {
                    out.push(VectorRecord { id: id.clone(), values: values_of(v), metadata: metadata_of(v) });
                }
            }
        }
        Ok(out)
    }

    async fn delete(&self, namespace: &str, ids: &[String]) -> Result<()> {
        for chunk in ids.chunks(1000) {
            self.post("/vectors/delete", &json!({ "ids": chunk, "namespace": namespace })).await?;
        }
        Ok(())
    }

    async fn delete_namespace(&self, namespace: &str) -> Result<()> {
        match self.post("/vectors/delete", &json!({ "deleteAll": true, "namespace": namespace })).await {
            // Deleting a namespace that holds nothing (never created) is done already.
            Err(Error::Upstream { message, .. }) if message.starts_with("HTTP 404") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn stats(&self, namespace: &str) -> Result<NamespaceStats> {
        let resp = self.post("/describe_index_stats", &json!({})).await?;
        let vector_count = resp
            .get("namespaces")
            .and_then(|n| n.get(namespace))
            .and_then(|n| n.get("vectorCount"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let dimension = resp.get("dimension").and_then(Value::as_u64).map(|d| d as usize);
        Ok(NamespaceStats { vector_count, dimension })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(base_url("idx-1.svc.aped.pinecone.io"), "https://idx-1.svc.aped.pinecone.io");
        assert_eq!(base_url("http://127.0.0.1:5081/"), "http://127.0.0.1:5081");
    }

    #[test]
    fn metadata_follows_pinecone_rules() {
        let mut m = Metadata::new();
        m.insert("keep".into(), json!("x"));
        m.insert("n".into(), json!(3));
        m.insert("null".into(), Value::Null);
        m.insert("nested".into(), json!({"a": 1}));
        m.insert("tags".into(), json!(["a", "b"]));
        m.insert("mixed".into(), json!([1, "b"]));
        m.insert("text".into(), json!("é".repeat(50_000)));
        let s = sanitize_metadata(&m);
        assert!(!s.contains_key("null") && !s.contains_key("nested") && !s.contains_key("mixed"));
        assert_eq!(s["tags"], json!(["a", "b"]));
        assert_eq!(s["n"], json!(3));
        assert!(serde_json::to_vec(&s).unwrap().len() <= MAX_METADATA_BYTES);
        assert!(s["text"].as_str().unwrap().len() > 30_000);
    }

    #[test]
    fn error_messages() {
        let m = error_message(StatusCode::BAD_REQUEST, br#"{"code":3,"message":"Vector dimension 2 does not match the dimension of the index 8","details":[]}"#);
        assert!(m.contains("400") && m.contains("code 3") && m.contains("does not match"), "{m}");
        let m = error_message(StatusCode::UNAUTHORIZED, b"Unauthorized");
        assert!(m.contains("401") && m.contains("PINECONE_API_KEY") && m.contains("Unauthorized"), "{m}");
    }
}
