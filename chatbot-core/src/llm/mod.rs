//! Chat models: the [`ChatModel`] seam, the OpenAI-compatible implementation and the offline
//! extractive answerer (also the fallback).

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::conversation::Role;
use crate::error::Result;

pub mod extractive;
pub mod openai;

pub use extractive::ExtractiveAnswerer;
pub use openai::OpenAiChat;

/// One prompt message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptMessage {
    pub role: Role,
    pub content: String,
}

/// A retrieved passage offered to the model as reference text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    pub text: String,
    pub source: Option<String>,
    pub title: Option<String>,
    pub score: f32,
}

/// Everything a model needs for one reply. `messages` is the full prompt (system, history, the
/// question); `passages` and `question` are also given apart so an extractive model can use them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<PromptMessage>,
    pub passages: Vec<Passage>,
    pub question: String,
    /// Company name, for polite fallbacks.
    pub company_name: String,
    pub model: Option<String>,
    pub temperature: f32,
    pub max_tokens: u32,
}

/// Token usage of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
}

/// A complete reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub text: String,
    pub model: String,
    pub usage: Option<Usage>,
}

/// A streamed piece of a reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StreamEvent {
    /// More text.
    Delta(String),
    /// The stream ended normally.
    Done { model: String, usage: Option<Usage> },
}

/// Chat model seam.
#[async_trait]
pub trait ChatModel: Send + Sync + 'static {
    /// `openai` or `offline`.
    fn provider(&self) -> &'static str;
    /// Whether calls cost tokens (budgets apply).
    fn is_paid(&self) -> bool;
    /// One complete reply.
    ///
    /// # Errors
    /// [`crate::Error::Upstream`] when the service fails (after its own retries).
    async fn complete(&self, req: &ChatRequest) -> Result<Completion>;
    /// A stream of deltas ending with [`StreamEvent::Done`]. Errors before the first delta are
    /// returned here; errors mid-stream come as stream items.
    ///
    /// # Errors
    /// [`crate::Error::Upstream`] when the service fails to start the stream.
    async fn stream(&self, req: &ChatRequest) -> Result<BoxStream<'static, Result<StreamEvent>>>;
}
