//! Models: the [`ChatModel`] seam (with the offline extractive answerer, also the fallback) and
//! the [`LeadExtractor`] seam for structured lead extraction. The OpenAI-compatible
//! implementations live in `crate::providers::openai` (feature `openai`).

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::conversation::Role;
use crate::error::Result;
use crate::lead::extract::{Contacts, extract_email, extract_phone};

pub mod extractive;

pub use crate::chatbot::BudgetStatus;
#[cfg(feature = "openai")]
#[cfg_attr(docsrs, doc(cfg(feature = "openai")))]
pub use crate::providers::openai::OpenAiChat;
pub use extractive::ExtractiveAnswerer;

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
    /// The heading path of the passage's section in its page (`"Install > Linux"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
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

/// What a [`ChatModel`] can do; the engine decides by these, never by which model it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelCapabilities {
    /// Writes its own replies (a language model). A model that is not generative (the
    /// extractive answerer) gets the canned greeting and contact shortcuts, and is answered
    /// without the model timeout, the token budget and the fallback.
    pub generative: bool,
    /// [`ChatModel::stream`] yields pieces as they are produced (not one piece at the end).
    pub streaming: bool,
    /// Replies report token [`Usage`] (counted against the company's daily budget).
    pub counts_tokens: bool,
}

impl ModelCapabilities {
    /// A language model that streams and reports usage (an OpenAI-compatible model).
    pub const fn generative() -> Self {
        Self { generative: true, streaming: true, counts_tokens: true }
    }

    /// A model that composes replies from the passages (the offline extractive answerer).
    pub const fn extractive() -> Self {
        Self { generative: false, streaming: false, counts_tokens: false }
    }

    #[must_use]
    pub const fn with_streaming(mut self, streaming: bool) -> Self {
        self.streaming = streaming;
        self
    }

    #[must_use]
    pub const fn with_token_counts(mut self, counts_tokens: bool) -> Self {
        self.counts_tokens = counts_tokens;
        self
    }
}

/// Chat model seam.
#[async_trait]
pub trait ChatModel: Send + Sync + 'static {
    /// A short name for logs, metrics and errors (`openai`, `offline`).
    fn provider(&self) -> &'static str;
    /// What this model can do.
    fn capabilities(&self) -> ModelCapabilities;
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

/// Profile fields asked for when a company configured none.
pub const DEFAULT_PROFILE_FIELDS: &[&str] = &["request_summary"];

/// What a [`LeadExtractor`] found in the visitor's messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    pub contacts: Contacts,
    /// The company's profile fields that the visitor answered (absent ones left out).
    pub profile: Map<String, Value>,
    /// A short profile of the lead in the model's words (for `ai_summary`).
    pub summary: Option<String>,
    /// Tokens the extraction call used (counted against the company's daily budget).
    pub tokens: u32,
}

impl Extracted {
    /// Keep only the contacts the visitor's own text supports: a name whose words the visitor
    /// wrote (at most 4 words, 80 characters), an e-mail the rules also find in a message (not
    /// one inside a link), a phone number whose digits the visitor wrote (in the rules'
    /// normalised form when they find it). Model-based extractors call this so nothing is
    /// invented.
    #[must_use]
    pub fn supported_by(mut self, visitor_messages: &[String]) -> Self {
        let text = visitor_messages.join("\n");
        let lower = text.to_lowercase();
        let c = &mut self.contacts;
        c.name = c
            .name
            .take()
            .filter(|n| n.chars().count() <= 80 && n.split_whitespace().count() <= 4)
            .filter(|n| n.split_whitespace().all(|w| lower.contains(&w.to_lowercase())));
        c.email = c.email.take().and_then(|e| {
            let e = e.to_lowercase();
            visitor_messages
                .iter()
                .rev()
                .filter_map(|m| extract_email(m))
                .find(|found| found.to_lowercase() == e)
        });
        c.phone = c.phone.take().and_then(|p| {
            let d = digits(&p);
            if !(8..=15).contains(&d.len()) {
                return None;
            }
            // Prefer the rules' normalised form of the same number; else the model's, if its
            // digits were written by the visitor.
            let tail = &d[d.len().saturating_sub(8)..];
            visitor_messages
                .iter()
                .rev()
                .filter_map(|m| extract_phone(m))
                .find(|found| digits(found).ends_with(tail))
                .or_else(|| digits(&text).contains(&d).then_some(p))
        });
        self
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Structured lead extraction by a model: the visitor's name, e-mail, phone, the company's
/// profile fields and a short summary. Implemented by `crate::providers::openai::OpenAiExtractor`
/// (feature `openai`); plug in your own next to a custom [`ChatModel`]. The offline rules in
/// [`crate::lead::extract`] stay the baseline; this refines them.
#[async_trait]
pub trait LeadExtractor: Send + Sync + 'static {
    /// Extract from the visitor's messages (oldest first; later ones correct earlier ones).
    /// `profile_fields` empty means [`DEFAULT_PROFILE_FIELDS`]. Implementations return only what
    /// the visitor wrote ([`Extracted::supported_by`]).
    ///
    /// # Errors
    /// [`crate::Error::Upstream`] when the model fails or answers out of shape.
    async fn extract(&self, visitor_messages: &[String], profile_fields: &[String]) -> Result<Extracted>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_contacts_the_visitor_wrote_are_kept() {
        let msgs = vec!["I'm Jane Doe, call me on 06 1234 5678 or mail jane@example.com".to_string()];
        let c = |name: &str, email: &str, phone: &str| Contacts {
            name: Some(name.into()),
            email: Some(email.into()),
            phone: Some(phone.into()),
        };
        let kept =
            Extracted { contacts: c("Jane Doe", "Jane@Example.com", "0612345678"), ..Default::default() }
                .supported_by(&msgs);
        assert_eq!(kept.contacts.name.as_deref(), Some("Jane Doe"));
        assert_eq!(kept.contacts.email.as_deref(), Some("jane@example.com"));
        assert!(kept.contacts.phone.is_some());
        let dropped =
            Extracted { contacts: c("John Smith", "john@example.com", "0687654321"), ..Default::default() }
                .supported_by(&msgs);
        assert_eq!(dropped.contacts, Contacts::default());
    }
}
