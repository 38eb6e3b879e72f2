//! The one OpenAI-compatible client behind chat, embeddings and lead extraction: base URL, API
//! key, an injectable HTTP client and the retry policy, with async-openai's requests sent through
//! our own retry service ([`crate::net::retry`]) and every failure mapped onto
//! [`Error::Upstream`].
//!
//! Why our own retry service instead of async-openai's built-in one: the policy must be
//! configurable (tests use millisecond backoffs), a long `Retry-After` must not park a chat turn
//! for a minute, timeouts must count as retryable, and the final error must carry the HTTP status
//! and `Retry-After` to the caller, which async-openai's `ApiError` does not.

use std::sync::Arc;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;

use crate::error::Error;
use crate::net::retry::{RetryPolicy, Transience, is_transient_status, retry, retry_after};

/// The service name in errors and metrics.
pub(crate) const SERVICE: &str = "openai";

/// What went wrong with one HTTP exchange (carried through async-openai as a boxed error).
#[derive(Debug, Clone)]
pub(crate) struct HttpFailure {
    pub status: Option<u16>,
    pub message: String,
    pub error_type: Option<String>,
    pub code: Option<String>,
    pub retryable: bool,
    pub retry_after: Option<Duration>,
    pub timed_out: bool,
    pub attempts: u32,
}

impl std::fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "HTTP {s}: {}", self.message)?,
            None => write!(f, "{}", self.message)?,
        }
        if let Some(c) = self.code.as_deref().or(self.error_type.as_deref()) {
            write!(f, " ({c})")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for HttpFailure {}

/// A connection to an OpenAI-compatible API (`https://api.openai.com/v1`, vLLM, llama.cpp's
/// server, Ollama, ...), shared by [`super::OpenAiChat`], [`super::OpenAiEmbedder`] and
/// [`super::OpenAiExtractor`]. Cheap to clone.
#[derive(Clone)]
pub struct OpenAiClient {
    api_key: String,
    base_url: String,
    http: reqwest::Client,
    policy: RetryPolicy,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("base_url", &self.base_url)
            .field("api_key", &if self.api_key.is_empty() { "(none)" } else { "(set)" })
            .field("policy", &self.policy)
            .finish()
    }
}

/// The OpenAI API base when none is configured: `OPENAI_BASE_URL`, else the public API.
pub(crate) fn resolve_base_url(base_url: Option<&str>) -> String {
    let from_env = std::env::var("OPENAI_BASE_URL").ok();
    let url = base_url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(String::from)
        .or(from_env.filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| "https://api.openai.com/v1".to_string());
    url.trim().trim_end_matches('/').to_string()
}

/// The default HTTP client (connect timeout; per-request timeouts are set by [`client`]).
pub(crate) fn default_http() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("chatbot-toolkit/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

impl OpenAiClient {
    /// `base_url` like `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1` (`None`:
    /// `OPENAI_BASE_URL`, else the public API); an empty key sends no `Authorization` value that
    /// a local server would check. Retries follow [`RetryPolicy::default`].
    pub fn new(api_key: &str, base_url: Option<&str>) -> Self {
        Self {
            api_key: api_key.to_string(),
            base_url: resolve_base_url(base_url),
            http: default_http(),
            policy: RetryPolicy::default(),
        }
    }

    /// Replace the retry policy.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Use this HTTP client (proxies, custom TLS, connection pools shared with other clients).
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// The API base URL in use (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// An async-openai client whose requests go through the retry service. `first_byte` bounds
    /// the wait for the response head of each attempt; `whole` (if any) also bounds reading the
    /// body (use it for non-streaming calls).
    pub(crate) fn api(&self, first_byte: Duration, whole: Option<Duration>) -> Client<OpenAIConfig> {
        let config =
            OpenAIConfig::new().with_api_base(self.base_url.clone()).with_api_key(self.api_key.clone());
        let shared =
            Arc::new(Shared { http: self.http.clone(), policy: self.policy.clone(), first_byte, whole });
        let service = tower::service_fn(move |factory: HttpRequestFactory| {
            let shared = Arc::clone(&shared);
            async move { send_with_retries(&shared, factory).await }
        });
        Client::with_config(config).with_http_client(self.http.clone()).with_http_service(service)
    }
}

struct Shared {
    http: reqwest::Client,
    policy: RetryPolicy,
    first_byte: Duration,
    whole: Option<Duration>,
}

async fn send_with_retries(
    s: &Shared,
    factory: HttpRequestFactory,
) -> Result<reqwest::Response, OpenAIError> {
    let (result, attempts) = retry(&s.policy, "openai", transience, |_| send_once(s, &factory)).await;
    result.map_err(|e| match e {
        OpenAIError::Boxed(b) => match b.downcast::<HttpFailure>() {
            Ok(mut f) => {
                f.attempts = attempts;
                OpenAIError::Boxed(f)
            }
            Err(other) => OpenAIError::Boxed(other),
        },
        other => other,
    })
}

/// One attempt; an HTTP failure travels as a boxed [`HttpFailure`] (async-openai's error type).
async fn send_once(s: &Shared, factory: &HttpRequestFactory) -> Result<reqwest::Response, OpenAIError> {
    let mut request = factory.build().await?;
    if let Some(t) = s.whole {
        *request.timeout_mut() = Some(t);
    }
    let failure = match tokio::time::timeout(s.first_byte, s.http.execute(request)).await {
        Err(_) => timeout_failure(s.first_byte),
        Ok(Err(e)) if e.is_timeout() => timeout_failure(s.first_byte),
        Ok(Err(e)) if e.is_connect() => HttpFailure {
            status: None,
            message: format!("could not connect: {}", error_chain(&e)),
            error_type: None,
            code: None,
            retryable: true,
            retry_after: None,
            timed_out: false,
            attempts: 0,
        },
        Ok(Err(e)) => return Err(OpenAIError::Reqwest(e)),
        Ok(Ok(resp)) if resp.status().is_success() => return Ok(resp),
        Ok(Ok(resp)) => failure_from_response(resp, s.first_byte).await,
    };
    Err(OpenAIError::Boxed(Box::new(failure)))
}

fn transience(e: &OpenAIError) -> Transience {
    match e {
        OpenAIError::Boxed(b) => match b.downcast_ref::<HttpFailure>() {
            Some(f) if f.timed_out => Transience::TimedOut,
            Some(f) if f.retryable => Transience::Transient { retry_after: f.retry_after },
            _ => Transience::Permanent,
        },
        _ => Transience::Permanent,
    }
}

fn timeout_failure(after: Duration) -> HttpFailure {
    HttpFailure {
        status: None,
        message: format!("timed out after {} ms", after.as_millis()),
        error_type: None,
        code: None,
        retryable: true,
        retry_after: None,
        timed_out: true,
        attempts: 0,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

async fn failure_from_response(resp: reqwest::Response, body_timeout: Duration) -> HttpFailure {
    let status = resp.status().as_u16();
    let retry_after = retry_after(resp.headers());
    let body = match tokio::time::timeout(body_timeout, resp.bytes()).await {
        Ok(Ok(b)) => b.to_vec(),
        _ => Vec::new(),
    };
    let (message, error_type, code) = parse_error_body(&body);
    let message = message.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&body).trim().to_string();
        if text.is_empty() { http_reason(status).to_string() } else { truncate(&text, 300) }
    });
    let quota = [&error_type, &code].iter().any(|v| v.as_deref() == Some("insufficient_quota"));
    // OpenAI's SDKs also retry 408 and 409 (a lock timeout); a spent quota is permanent.
    let retryable = match status {
        429 => !quota,
        408 | 409 => true,
        s => is_transient_status(s),
    };
    HttpFailure {
        status: Some(status),
        message,
        error_type,
        code,
        retryable,
        retry_after: if retryable { retry_after } else { None },
        timed_out: false,
        attempts: 0,
    }
}

/// `{"error":{"message","type","param","code"}}` (OpenAI), tolerant of servers that send a number
/// as `code`, a bare string as `error`, or a top-level `message`.
fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return (None, None, None) };
    let as_text = |v: Option<&serde_json::Value>| -> Option<String> {
        match v? {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    match v.get("error") {
        Some(serde_json::Value::String(s)) => (Some(s.clone()), None, None),
        Some(e) => (as_text(e.get("message")), as_text(e.get("type")), as_text(e.get("code"))),
        None => (as_text(v.get("message")), as_text(v.get("type")), as_text(v.get("code"))),
    }
}

fn http_reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("error")
}

pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max_chars).collect::<String>())
    }
}

/// Map an async-openai error onto the core's error.
pub(crate) fn map_error(service: &str, e: OpenAIError) -> Error {
    let upstream = |message: String, retryable: bool, retry_after: Option<Duration>| Error::Upstream {
        service: service.to_string(),
        message,
        retryable,
        retry_after,
    };
    match e {
        OpenAIError::Boxed(b) => match b.downcast::<HttpFailure>() {
            Ok(f) => upstream(f.to_string(), f.retryable, f.retry_after),
            Err(other) => upstream(error_chain(other.as_ref()), false, None),
        },
        OpenAIError::Reqwest(r) => {
            let retryable = r.is_timeout() || r.is_connect() || r.is_body() || r.is_decode();
            let message =
                if r.is_timeout() { format!("timed out: {}", error_chain(&r)) } else { error_chain(&r) };
            upstream(message, retryable, None)
        }
        OpenAIError::ApiError(a) => {
            let status = a.status_code.as_u16();
            let quota = a.api_error.r#type.as_deref() == Some("insufficient_quota")
                || a.api_error.code.as_deref() == Some("insufficient_quota");
            let retryable = (status == 429 && !quota) || status >= 500 || matches!(status, 408 | 409);
            upstream(format!("HTTP {status}: {}", a.api_error), retryable, None)
        }
        OpenAIError::JSONDeserialize(err, content) => {
            upstream(format!("unexpected response ({err}): {}", truncate(&content, 300)), false, None)
        }
        OpenAIError::StreamError(s) => upstream(format!("stream broke off: {s}"), true, None),
        other => upstream(other.to_string(), false, None),
    }
}

/// A timeout error in the core's terms (used for idle streams).
pub(crate) fn timeout_error(service: &str, what: &str, after: Duration) -> Error {
    Error::Upstream {
        service: service.to_string(),
        message: format!("{what} timed out after {} ms", after.as_millis()),
        retryable: true,
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_openai_and_lenient_servers() {
        let (m, t, c) = parse_error_body(
            br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        );
        assert_eq!(m.as_deref(), Some("Incorrect API key provided"));
        assert_eq!(t.as_deref(), Some("invalid_request_error"));
        assert_eq!(c.as_deref(), Some("invalid_api_key"));
        let (m, _, c) = parse_error_body(br#"{"error":{"code":500,"message":"boom","type":"server_error"}}"#);
        assert_eq!((m.as_deref(), c.as_deref()), (Some("boom"), Some("500")));
        assert_eq!(parse_error_body(b"not json").0, None);
        assert_eq!(parse_error_body(br#"{"error":"plain"}"#).0.as_deref(), Some("plain"));
    }

    #[test]
    fn base_url_is_trimmed_and_defaults() {
        assert_eq!(resolve_base_url(Some("http://127.0.0.1:8080/v1/")), "http://127.0.0.1:8080/v1");
        let c = OpenAiClient::new("sk-secret", Some("http://x/v1")).with_retry_policy(RetryPolicy::none());
        assert!(!format!("{c:?}").contains("sk-secret"));
    }
}
