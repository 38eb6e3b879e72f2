//! OpenAI-compatible chat completions through async-openai (`POST {base}/chat/completions`),
//! plain and streamed (server-sent events).
//!
//! The request and response bodies are our own small serde types sent through async-openai's
//! "bring your own types" calls: the request says exactly which fields go out (`max_tokens`,
//! which OpenAI, vLLM and llama.cpp all accept, or `max_completion_tokens` for reasoning models),
//! and the response is read leniently, so servers that bend the spec (an empty `finish_reason`,
//! missing `usage`, numeric error codes) still work. Retries, timeouts and error mapping live in
//! the shared [`OpenAiClient`].

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_trait::async_trait;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use super::client::{self as http, OpenAiClient, SERVICE};
use crate::conversation::Role;
use crate::error::{Error, Result};
use crate::llm::{ChatModel, ChatRequest, Completion, ModelCapabilities, StreamEvent, Usage};
use crate::net::retry::RetryPolicy;

/// Which request field carries the reply-length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenLimitField {
    /// `max_completion_tokens` (and no `temperature`) for OpenAI reasoning models (`o1`, `o3`,
    /// `o4`, `gpt-5` families), `max_tokens` for every other model.
    #[default]
    Auto,
    /// Always `max_tokens` (accepted by OpenAI's non-reasoning models, vLLM, llama.cpp, Ollama).
    MaxTokens,
    /// Always `max_completion_tokens`.
    MaxCompletionTokens,
}

/// OpenAI-compatible chat model.
#[derive(Clone)]
pub struct OpenAiChat {
    transport: OpenAiClient,
    model: String,
    timeout: Duration,
    token_limit: TokenLimitField,
    client: Client<OpenAIConfig>,
    stream_client: Client<OpenAIConfig>,
}

impl std::fmt::Debug for OpenAiChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiChat")
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("token_limit", &self.token_limit)
            .field("transport", &self.transport)
            .finish()
    }
}

impl OpenAiChat {
    /// `base_url` like `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1` (`None`:
    /// `OPENAI_BASE_URL`, else the public API); `model` is the default model name; `timeout`
    /// bounds each attempt (a whole reply, or the wait for each streamed piece).
    pub fn new(api_key: &str, base_url: Option<&str>, model: &str, timeout: Duration) -> Self {
        Self::from_client(OpenAiClient::new(api_key, base_url), model, timeout)
    }

    /// Chat through a client shared with the embedder and the lead extractor (its retry policy
    /// and HTTP client apply).
    pub fn from_client(client: OpenAiClient, model: &str, timeout: Duration) -> Self {
        Self::build(client, model.to_string(), timeout, TokenLimitField::Auto)
    }

    fn build(
        transport: OpenAiClient,
        model: String,
        timeout: Duration,
        token_limit: TokenLimitField,
    ) -> Self {
        let timeout = timeout.max(Duration::from_millis(1));
        let client = transport.api(timeout, Some(timeout));
        let stream_client = transport.api(timeout, None);
        Self { transport, model, timeout, token_limit, client, stream_client }
    }

    /// Replace the retry policy (tests use [`RetryPolicy::none`] or millisecond backoffs).
    #[must_use]
    pub fn with_retry_policy(self, policy: RetryPolicy) -> Self {
        let t = self.transport.with_retry_policy(policy);
        Self::build(t, self.model, self.timeout, self.token_limit)
    }

    /// Use this HTTP client (proxies, custom TLS, connection pools shared with other clients).
    #[must_use]
    pub fn with_http_client(self, http: reqwest::Client) -> Self {
        let t = self.transport.with_http_client(http);
        Self::build(t, self.model, self.timeout, self.token_limit)
    }

    /// Choose the field that carries the length limit (default [`TokenLimitField::Auto`]).
    pub fn with_token_limit_field(mut self, field: TokenLimitField) -> Self {
        self.token_limit = field;
        self
    }

    pub fn default_model(&self) -> &str {
        &self.model
    }

    /// The API base URL in use (no trailing slash).
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        self.transport.retry_policy()
    }

    /// The client this model talks through (to share with an embedder or an extractor).
    pub fn client(&self) -> &OpenAiClient {
        &self.transport
    }

    fn wire_request<'a>(&'a self, req: &'a ChatRequest, stream: bool) -> WireRequest<'a> {
        let model = req.model.as_deref().map(str::trim).filter(|m| !m.is_empty()).unwrap_or(&self.model);
        let reasoning = is_reasoning_model(model);
        let field = match self.token_limit {
            TokenLimitField::Auto if reasoning => TokenLimitField::MaxCompletionTokens,
            TokenLimitField::Auto => TokenLimitField::MaxTokens,
            f => f,
        };
        let limit = (req.max_tokens > 0).then_some(req.max_tokens);
        let temperature = (!reasoning || self.token_limit != TokenLimitField::Auto)
            .then(|| if req.temperature.is_finite() { req.temperature.clamp(0.0, 2.0) } else { 1.0 });
        WireRequest {
            model,
            messages: req
                .messages
                .iter()
                .map(|m| WireMessage {
                    role: match m.role {
                        Role::System => "system",
                        Role::User => "user",
                        Role::Assistant => "assistant",
                    },
                    content: &m.content,
                })
                .collect(),
            temperature,
            max_tokens: if field == TokenLimitField::MaxTokens { limit } else { None },
            max_completion_tokens: if field == TokenLimitField::MaxCompletionTokens { limit } else { None },
            stream,
            stream_options: stream.then_some(StreamOptions { include_usage: true }),
        }
    }
}

/// OpenAI's reasoning models reject `max_tokens` and a non-default `temperature`.
fn is_reasoning_model(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    let m = m.rsplit('/').next().unwrap_or(&m);
    ["o1", "o3", "o4", "gpt-5"].iter().any(|p| m == *p || m.starts_with(&format!("{p}-")))
}

#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Debug, Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// `chat.completion`, read leniently.
#[derive(Debug, Deserialize)]
struct WireCompletion {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireReply>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireReply {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        let c = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let total = if u.total_tokens == 0 { u.prompt_tokens + u.completion_tokens } else { u.total_tokens };
        Usage {
            prompt_tokens: c(u.prompt_tokens),
            completion_tokens: c(u.completion_tokens),
            total_tokens: c(total),
        }
    }
}

/// `chat.completion.chunk`, read leniently.
#[derive(Debug, Deserialize)]
struct WireChunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct WireChunkChoice {
    #[serde(default)]
    delta: Option<WireReply>,
    #[serde(default)]
    finish_reason: Option<String>,
}

/// An `error` object that arrived with status 200 (in a body or an SSE event).
fn inline_error(v: &serde_json::Value) -> Error {
    let text = |k: &str| {
        v.get(k).and_then(|x| x.as_str().map(String::from).or_else(|| x.as_u64().map(|n| n.to_string())))
    };
    let message = text("message").or_else(|| v.as_str().map(String::from)).unwrap_or_else(|| v.to_string());
    let code = text("code").or_else(|| text("type"));
    let retryable = matches!(code.as_deref(), Some("server_error" | "rate_limit_exceeded" | "500" | "503"));
    let message = match code {
        Some(c) => format!("{message} ({c})"),
        None => message,
    };
    Error::Upstream {
        service: SERVICE.into(),
        message: http::truncate(&message, 400),
        retryable,
        retry_after: None,
    }
}

#[async_trait]
impl ChatModel for OpenAiChat {
    fn provider(&self) -> &'static str {
        "openai"
    }

    fn capabilities(&self) -> ModelCapabilities {
        ModelCapabilities::generative()
    }

    async fn complete(&self, req: &ChatRequest) -> Result<Completion> {
        let body = self.wire_request(req, false);
        let resp: WireCompletion =
            self.client.chat().create_byot(&body).await.map_err(|e| http::map_error(SERVICE, e))?;
        if let Some(e) = &resp.error {
            return Err(inline_error(e));
        }
        let Some(choice) = resp.choices.into_iter().next() else {
            return Err(Error::upstream(SERVICE, "the reply has no choices", false));
        };
        if let Some(reason) = choice.finish_reason.as_deref().filter(|r| !r.is_empty() && *r != "stop") {
            tracing::debug!(finish_reason = reason, "chat completion did not stop normally");
        }
        let reply = choice.message.unwrap_or_default();
        let text = reply.content.filter(|c| !c.is_empty()).or(reply.refusal).unwrap_or_default();
        Ok(Completion {
            text,
            model: resp.model.filter(|m| !m.is_empty()).unwrap_or_else(|| body.model.to_string()),
            usage: resp.usage.map(Usage::from),
        })
    }

    async fn stream(&self, req: &ChatRequest) -> Result<BoxStream<'static, Result<StreamEvent>>> {
        let body = self.wire_request(req, true);
        let requested_model = body.model.to_string();
        let chunks: futures::stream::BoxStream<'static, std::result::Result<WireChunk, _>> = self
            .stream_client
            .chat()
            .create_stream_byot(&body)
            .await
            .map_err(|e| http::map_error(SERVICE, e))?;
        let state = StreamState {
            chunks,
            model: requested_model,
            usage: None,
            pending: std::collections::VecDeque::new(),
            finished: false,
            idle: self.timeout,
        };
        Ok(Box::pin(futures::stream::unfold(state, next_event)))
    }
}

struct StreamState {
    chunks: BoxStream<'static, std::result::Result<WireChunk, async_openai::error::OpenAIError>>,
    model: String,
    usage: Option<Usage>,
    pending: std::collections::VecDeque<String>,
    finished: bool,
    idle: Duration,
}

async fn next_event(mut s: StreamState) -> Option<(Result<StreamEvent>, StreamState)> {
    loop {
        if let Some(d) = s.pending.pop_front() {
            return Some((Ok(StreamEvent::Delta(d)), s));
        }
        if s.finished {
            return None;
        }
        let item = match tokio::time::timeout(s.idle, s.chunks.next()).await {
            Err(_) => {
                s.finished = true;
                return Some((
                    Err(http::timeout_error(SERVICE, "waiting for the next streamed piece", s.idle)),
                    s,
                ));
            }
            Ok(item) => item,
        };
        match item {
            None => {
                s.finished = true;
                let done = StreamEvent::Done { model: std::mem::take(&mut s.model), usage: s.usage };
                return Some((Ok(done), s));
            }
            Some(Err(e)) => {
                s.finished = true;
                return Some((Err(http::map_error(SERVICE, e)), s));
            }
            Some(Ok(chunk)) => {
                if let Some(e) = &chunk.error {
                    s.finished = true;
                    return Some((Err(inline_error(e)), s));
                }
                if let Some(m) = chunk.model.filter(|m| !m.is_empty()) {
                    s.model = m;
                }
                if let Some(u) = chunk.usage {
                    s.usage = Some(u.into());
                }
                for c in chunk.choices {
                    if let Some(reason) = c.finish_reason.as_deref().filter(|r| !r.is_empty() && *r != "stop")
                    {
                        tracing::debug!(finish_reason = reason, "chat stream did not stop normally");
                    }
                    if let Some(d) = c.delta.and_then(|d| d.content.or(d.refusal)).filter(|d| !d.is_empty()) {
                        s.pending.push_back(d);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::PromptMessage;

    fn req(model: Option<&str>) -> ChatRequest {
        ChatRequest {
            messages: vec![
                PromptMessage { role: Role::System, content: "Be brief.".into() },
                PromptMessage { role: Role::User, content: "Hi".into() },
            ],
            passages: Vec::new(),
            question: "Hi".into(),
            company_name: "Demo Shop".into(),
            model: model.map(String::from),
            temperature: 0.3,
            max_tokens: 200,
        }
    }

    #[test]
    fn request_body_uses_max_tokens_for_ordinary_models() {
        let c = OpenAiChat::new("k", Some("http://127.0.0.1:1/v1"), "gpt-4o-mini", Duration::from_secs(5));
        let r = req(None);
        let v = serde_json::to_value(c.wire_request(&r, false)).unwrap();
        assert_eq!(v["model"], "gpt-4o-mini");
        assert_eq!(v["max_tokens"], 200);
        assert!(v.get("max_completion_tokens").is_none());
        assert_eq!(v["temperature"].as_f64().map(|t| (t * 100.0).round()), Some(30.0));
        assert_eq!(v["stream"], false);
        assert!(v.get("stream_options").is_none());
        assert_eq!(v["messages"][0]["role"], "system");
        assert_eq!(v["messages"][1]["content"], "Hi");
    }

    #[test]
    fn reasoning_models_get_max_completion_tokens_and_no_temperature() {
        let c = OpenAiChat::new("k", Some("http://127.0.0.1:1/v1"), "gpt-4o-mini", Duration::from_secs(5));
        let r = req(Some("o3-mini"));
        let v = serde_json::to_value(c.wire_request(&r, true)).unwrap();
        assert_eq!(v["model"], "o3-mini");
        assert_eq!(v["max_completion_tokens"], 200);
        assert!(v.get("max_tokens").is_none() && v.get("temperature").is_none());
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert!(is_reasoning_model("gpt-5") && is_reasoning_model("openai/gpt-5-mini"));
        assert!(!is_reasoning_model("gpt-4o") && !is_reasoning_model("o1x"));
        let c = c.with_token_limit_field(TokenLimitField::MaxTokens);
        let v = serde_json::to_value(c.wire_request(&r, false)).unwrap();
        assert_eq!(v["max_tokens"], 200);
        assert!(v.get("temperature").is_some());
    }

    #[test]
    fn lenient_response_parsing() {
        let r: WireCompletion = serde_json::from_str(
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":""}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#,
        )
        .unwrap();
        assert_eq!(r.choices[0].finish_reason.as_deref(), Some(""));
        let u: Usage = r.usage.unwrap().into();
        assert_eq!(u, Usage { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 });
        let e = inline_error(&serde_json::json!({"message":"overloaded","code":503}));
        assert!(e.is_retryable() && e.to_string().contains("overloaded"), "{e}");
    }
}
