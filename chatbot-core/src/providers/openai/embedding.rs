//! OpenAI-compatible embeddings through async-openai (`POST {base}/embeddings`).
//!
//! Batches respect the API's limits (at most 2,048 inputs and ~300,000 tokens per request; each
//! input truncated to 8,191 tokens, counted with the `cl100k_base` tokenizer the OpenAI embedding
//! models use); output order always follows input order (the response is sorted by `index`).
//! Retries, timeouts and error mapping are those of the shared [`OpenAiClient`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::client::{self as http, OpenAiClient, SERVICE};
use crate::error::{Error, Result};
use crate::net::retry::RetryPolicy;
use crate::rag::Embedder;

/// The default model.
pub const DEFAULT_MODEL: &str = "text-embedding-3-small";
/// Most inputs per request (OpenAI's limit).
pub const MAX_INPUTS_PER_REQUEST: usize = 2048;
/// Most tokens summed over one request's inputs (OpenAI's limit).
pub const MAX_TOKENS_PER_REQUEST: usize = 300_000;
/// Most tokens per input (OpenAI's limit is 8,192; one spare).
pub const MAX_TOKENS_PER_INPUT: usize = 8191;

/// The native dimension of OpenAI's embedding models.
pub fn known_dimension(model: &str) -> Option<usize> {
    match model {
        "text-embedding-3-small" | "text-embedding-ada-002" => Some(1536),
        "text-embedding-3-large" => Some(3072),
        _ => None,
    }
}

/// Whether the model accepts the `dimensions` parameter (shortened vectors).
fn accepts_dimensions(model: &str) -> bool {
    model.starts_with("text-embedding-3")
}

/// OpenAI-compatible embedder.
///
/// The vector length is known up front for OpenAI's models (or when `dimensions` is given); for
/// any other model, call [`OpenAiEmbedder::probe`] (or [`OpenAiEmbedder::ensure_dimension`]) once
/// before indexing, otherwise [`Embedder::dimension`] is 0 until the first response arrives.
#[derive(Clone)]
pub struct OpenAiEmbedder {
    transport: OpenAiClient,
    client: Client<OpenAIConfig>,
    model: String,
    /// Sent as `dimensions` (text-embedding-3 models only).
    request_dimensions: Option<u32>,
    /// 0 while unknown; shared by clones.
    dimension: Arc<AtomicUsize>,
    max_inputs: usize,
    max_request_tokens: usize,
    max_input_tokens: usize,
    timeout: Duration,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("model", &self.model)
            .field("dimension", &self.dimension())
            .field("max_inputs", &self.max_inputs)
            .field("max_request_tokens", &self.max_request_tokens)
            .field("max_input_tokens", &self.max_input_tokens)
            .field("transport", &self.transport)
            .finish()
    }
}

impl OpenAiEmbedder {
    /// `base_url` like `https://api.openai.com/v1` (`None`: `OPENAI_BASE_URL`, else the public
    /// API); `model` empty means [`DEFAULT_MODEL`]. `dimensions` asks text-embedding-3 models for
    /// shorter vectors; for other models it declares the vector length (checked on every reply).
    /// Retries are more patient than a chat turn's (this is background work): see
    /// [`OpenAiEmbedder::default_retry_policy`].
    pub fn new(api_key: &str, base_url: Option<&str>, model: &str, dimensions: Option<u32>) -> Self {
        let client = OpenAiClient::new(api_key, base_url).with_retry_policy(Self::default_retry_policy());
        Self::from_client(client, model, dimensions)
    }

    /// 3 retries, timeouts retried, `Retry-After` honoured up to 60 s.
    pub fn default_retry_policy() -> RetryPolicy {
        RetryPolicy::new(3).with_retry_timeouts(true).with_max_retry_after(Duration::from_secs(60))
    }

    /// Embed through a client shared with the chat model and the lead extractor (its retry
    /// policy and HTTP client apply). `model` and `dimensions` as in [`OpenAiEmbedder::new`].
    pub fn from_client(client: OpenAiClient, model: &str, dimensions: Option<u32>) -> Self {
        let model =
            if model.trim().is_empty() { DEFAULT_MODEL.to_string() } else { model.trim().to_string() };
        let dimensions = dimensions.filter(|d| *d > 0);
        let dimension = dimensions.map(|d| d as usize).or_else(|| known_dimension(&model)).unwrap_or(0);
        let request_dimensions = dimensions.filter(|_| accepts_dimensions(&model));
        let timeout = Duration::from_secs(60);
        Self {
            client: client.api(timeout, Some(timeout)),
            transport: client,
            model,
            request_dimensions,
            dimension: Arc::new(AtomicUsize::new(dimension)),
            max_inputs: MAX_INPUTS_PER_REQUEST,
            max_request_tokens: MAX_TOKENS_PER_REQUEST,
            max_input_tokens: MAX_TOKENS_PER_INPUT,
            timeout,
        }
    }

    fn rebuild(mut self) -> Self {
        self.client = self.transport.api(self.timeout, Some(self.timeout));
        self
    }

    /// Replace the retry policy (default: 3 retries, timeouts retried, `Retry-After` up to 60 s).
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.transport = self.transport.with_retry_policy(policy);
        self.rebuild()
    }

    /// Time allowed for each attempt (default 60 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self.rebuild()
    }

    /// Use this HTTP client.
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.transport = self.transport.with_http_client(http);
        self.rebuild()
    }

    /// Declare the vector length (for models this crate does not know).
    pub fn with_dimension(self, dimension: usize) -> Self {
        self.dimension.store(dimension, Ordering::SeqCst);
        self
    }

    /// Request limits: inputs per request, tokens per request, tokens per input (inputs are
    /// truncated to the last). Local servers often need smaller ones (llama.cpp embeds at most
    /// its batch size, 512 tokens by default, per input).
    pub fn with_limits(
        mut self,
        max_inputs: usize,
        max_request_tokens: usize,
        max_input_tokens: usize,
    ) -> Self {
        self.max_inputs = max_inputs.clamp(1, MAX_INPUTS_PER_REQUEST);
        self.max_input_tokens = max_input_tokens.max(1);
        self.max_request_tokens = max_request_tokens.max(self.max_input_tokens);
        self
    }

    /// The API base URL in use.
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    /// Embed a short text to learn (or check) the vector length; returns it.
    ///
    /// # Errors
    /// [`Error::Upstream`] when the service fails or answers with an unexpected length.
    pub async fn probe(&self) -> Result<usize> {
        self.embed(&["dimension probe".to_string()]).await?;
        Ok(self.dimension())
    }

    /// The vector length, probing the service only when it is not known yet.
    ///
    /// # Errors
    /// See [`OpenAiEmbedder::probe`].
    pub async fn ensure_dimension(&self) -> Result<usize> {
        match self.dimension() {
            0 => self.probe().await,
            d => Ok(d),
        }
    }

    /// Split into request batches by count and by (upper-bound) token total; truncate long inputs.
    fn plan(&self, texts: &[String]) -> Vec<Vec<String>> {
        let mut batches: Vec<Vec<String>> = Vec::new();
        let mut current: Vec<String> = Vec::new();
        let mut current_tokens = 0usize;
        // Byte lengths bound token counts from above; count real tokens only when that bound
        // could split the texts into more requests than needed.
        let exact = texts.iter().map(String::len).sum::<usize>() > self.max_request_tokens;
        for t in texts {
            let (text, tokens) = prepare_input(t, self.max_input_tokens, exact);
            if !current.is_empty()
                && (current.len() >= self.max_inputs || current_tokens + tokens > self.max_request_tokens)
            {
                batches.push(std::mem::take(&mut current));
                current_tokens = 0;
            }
            current_tokens += tokens;
            current.push(text);
        }
        if !current.is_empty() {
            batches.push(current);
        }
        batches
    }

    async fn embed_batch(&self, input: Vec<String>) -> Result<Vec<Vec<f32>>> {
        let n = input.len();
        let body = WireRequest {
            model: &self.model,
            input,
            encoding_format: "float",
            dimensions: self.request_dimensions,
        };
        let resp: WireResponse =
            self.client.embeddings().create_byot(&body).await.map_err(|e| http::map_error(SERVICE, e))?;
        if let Some(e) = resp.error {
            return Err(Error::upstream(SERVICE, format!("error in reply: {e}"), false));
        }
        let bad = |m: String| Error::upstream(SERVICE, m, false);
        if resp.data.len() != n {
            return Err(bad(format!("asked for {n} embeddings, got {}", resp.data.len())));
        }
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; n];
        for (pos, item) in resp.data.into_iter().enumerate() {
            let i = item.index.unwrap_or(pos);
            match slots.get_mut(i) {
                Some(slot @ None) => *slot = Some(item.embedding),
                Some(Some(_)) => return Err(bad(format!("index {i} appears twice in the reply"))),
                None => return Err(bad(format!("index {i} is out of range for {n} inputs"))),
            }
        }
        let vectors: Vec<Vec<f32>> = slots.into_iter().flatten().collect();
        if vectors.len() != n {
            return Err(bad("the reply misses some indexes".into()));
        }
        for v in &vectors {
            self.check_dimension(v.len())?;
        }
        Ok(vectors)
    }

    fn check_dimension(&self, len: usize) -> Result<()> {
        if len == 0 {
            return Err(Error::upstream(SERVICE, "the reply holds an empty embedding", false));
        }
        match self.dimension.compare_exchange(0, len, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => {
                tracing::info!(model = %self.model, dimension = len, "learned the embedding dimension");
                Ok(())
            }
            Err(known) if known == len => Ok(()),
            Err(known) => Err(Error::upstream(
                SERVICE,
                format!("model {} returned {len}-dimensional vectors, expected {known}", self.model),
                false,
            )),
        }
    }
}

/// An input ready to send, with an upper bound of its token count. Unless `exact`, texts whose
/// byte length is within the limit are not tokenized (every token is at least one byte, so the
/// byte length bounds the count); empty inputs (rejected by the API) become a single space.
fn prepare_input(text: &str, max_tokens: usize, exact: bool) -> (String, usize) {
    if text.trim().is_empty() {
        return (" ".to_string(), 1);
    }
    if !exact && text.len() <= max_tokens {
        return (text.to_string(), text.len());
    }
    let bpe = tiktoken_rs::cl100k_base_singleton();
    let tokens = bpe.encode_ordinary(text);
    if tokens.len() <= max_tokens {
        return (text.to_string(), tokens.len());
    }
    // The tokens' bytes are a prefix of the text's bytes; cut there, on a character boundary.
    let mut cut =
        bpe.decode_bytes(&tokens[..max_tokens]).map(|b| b.len()).unwrap_or(max_tokens).min(text.len());
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    tracing::debug!(tokens = tokens.len(), max_tokens, "truncated an embedding input");
    (text[..cut].to_string(), max_tokens)
}

#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    input: Vec<String>,
    encoding_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct WireResponse {
    #[serde(default)]
    data: Vec<WireEmbedding>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct WireEmbedding {
    #[serde(default)]
    index: Option<usize>,
    embedding: Vec<f32>,
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn dimension(&self) -> usize {
        self.dimension.load(Ordering::SeqCst)
    }

    fn max_batch(&self) -> usize {
        self.max_inputs
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // Tokenizing long inputs is CPU work: keep it off the async worker when there is a lot.
        let batches = if texts.iter().map(String::len).sum::<usize>() > 256 * 1024 {
            let me = self.clone();
            let owned = texts.to_vec();
            tokio::task::spawn_blocking(move || me.plan(&owned))
                .await
                .map_err(|e| Error::Internal(format!("embedding planner failed: {e}")))?
        } else {
            self.plan(texts)
        };
        let mut out = Vec::with_capacity(texts.len());
        for batch in batches {
            out.extend(self.embed_batch(batch).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_of_known_and_unknown_models() {
        let e = OpenAiEmbedder::new("k", Some("http://127.0.0.1:1/v1"), "", None);
        assert_eq!((e.model(), e.dimension()), (DEFAULT_MODEL, 1536));
        let e = OpenAiEmbedder::new("k", None, "text-embedding-3-large", None);
        assert_eq!(e.dimension(), 3072);
        let e = OpenAiEmbedder::new("k", None, "text-embedding-3-large", Some(256));
        assert_eq!((e.dimension(), e.request_dimensions), (256, Some(256)));
        let e = OpenAiEmbedder::new("k", None, "nomic-embed-text", Some(768));
        assert_eq!((e.dimension(), e.request_dimensions), (768, None));
        let e = OpenAiEmbedder::new("k", None, "smollm2", None);
        assert_eq!(e.dimension(), 0);
        assert_eq!(e.with_dimension(576).dimension(), 576);
    }

    #[test]
    fn plan_splits_by_count_and_tokens_and_truncates() {
        let e = OpenAiEmbedder::new("k", None, "", None).with_limits(3, 100, 40);
        let texts: Vec<String> = (0..7).map(|i| format!("text {i}")).collect();
        let b = e.plan(&texts);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
        assert_eq!(b.concat(), texts);

        let long = "word ".repeat(100); // 100 tokens, 500 bytes
        let b = e.plan(&[long.clone(), "short".into(), String::new()]);
        let bpe = tiktoken_rs::cl100k_base_singleton();
        assert_eq!(bpe.encode_ordinary(&b[0][0]).len(), 40);
        assert!(long.starts_with(&b[0][0]));
        assert_eq!(b.concat()[2], " ");
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        let text = "é😀".repeat(5000);
        let (t, n) = prepare_input(&text, 100, false);
        assert_eq!(n, 100);
        assert!(text.starts_with(&t) && !t.is_empty());
    }
}
