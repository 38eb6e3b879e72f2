//! The requests and replies of the facade: what front ends send in and get back.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::lead::VisitorLead;
use crate::llm::Usage;

/// Which components are in use (logged at start by the CLI and the server).
#[derive(Debug, Clone, Serialize)]
pub struct ComponentsInfo {
    pub store: String,
    pub embedder: String,
    pub vector_store: String,
    pub model: String,
}

impl std::fmt::Display for ComponentsInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "store={} embedder={} vector_store={} model={}",
            self.store, self.embedder, self.vector_store, self.model
        )
    }
}

/// The request's client, for rate limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
}

/// Which path produced a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnsweredBy {
    /// The configured chat model.
    Model,
    /// The offline extractive answerer (no key, upstream failure, or budget spent).
    Fallback,
    /// Topic enforcement refused the request.
    Refusal,
    /// A curated answer the company wrote for this question (no model call).
    Curated,
}

impl AnsweredBy {
    /// Every label, in a stable order (the reply metrics and the API documentation list these).
    pub const ALL: [AnsweredBy; 4] = [Self::Model, Self::Fallback, Self::Refusal, Self::Curated];

    /// The label as it appears in replies and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Fallback => "fallback",
            Self::Refusal => "refusal",
            Self::Curated => "curated",
        }
    }
}

pub use crate::conversation::SourceRef;

/// A chat reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatReply {
    pub message: String,
    /// The stored reply's id (what feedback names).
    pub message_id: String,
    pub company_id: String,
    /// The conversation id (a session token on the session routes; on partner chat an id the
    /// visitor never needs: the visitor token continues the conversation).
    pub session_id: String,
    /// The visitor's user id: the session's, or on partner chat the client's `user_id` label
    /// (an anonymous id when it sent none).
    pub user_id: String,
    /// Partner chat: the token that continues this conversation (send it back as
    /// `visitor_token`). `None` on the session routes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visitor_token: Option<String>,
    pub answered_by: AnsweredBy,
    pub sources: Vec<SourceRef>,
    /// The visitor's own lead (the visitor-safe view), when the conversation has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead: Option<VisitorLead>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The grounding check of the answer as the model (or the extractive answerer) wrote it,
    /// before any removal; `None` for refusals, curated answers and fixed texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grounding: Option<Grounding>,
}

/// How many sentences of an answer its passages support (see `ai_config.grounding`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grounding {
    pub supported: u32,
    pub unsupported: u32,
}

/// Streamed chat events.
#[derive(Debug)]
pub enum ChatEvent {
    /// More reply text.
    Delta(String),
    /// The reply is complete and stored.
    Done(Box<ChatReply>),
    /// The turn failed (nothing more follows).
    Error(Error),
}

/// A session create/resume result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub session_id: String,
    pub lead_id: String,
    pub expires_at: DateTime<Utc>,
    pub user_id: String,
    pub resumed: bool,
    /// A resumed session's messages (its most recent ones, see
    /// [`HistoryMessage::LIMIT`](super::HistoryMessage::LIMIT)); none for a new session.
    #[serde(default)]
    pub messages: Vec<super::HistoryMessage>,
}

/// Input of `POST /api/chatbot/chat`.
#[derive(Debug, Clone, Default)]
pub struct ChatInput {
    pub session_id: String,
    pub message: String,
    pub client: ClientInfo,
}

/// One item of the seed's `history` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub role: String,
    pub content: String,
}

/// Input of `POST /api/partner-chat/{companyId}` (`{"message","user_id"?,"history"?,
/// "visitor_token"?,"user_signature"?}`).
///
/// Which conversation a request continues: with a valid `user_signature` (hex HMAC-SHA256 of
/// `user_id` under one of the company's identity secrets) the signed user's; else with a valid
/// `visitor_token` (one this company issued, not expired) that token's; else a new one, with
/// `user_id` kept only as its label.
#[derive(Debug, Clone, Default)]
pub struct PartnerChat {
    pub message: String,
    pub user_id: Option<String>,
    pub history: Vec<HistoryItem>,
    /// The token an earlier reply returned.
    pub visitor_token: Option<String>,
    /// The integrator backend's signature of `user_id`.
    pub user_signature: Option<String>,
    pub client: ClientInfo,
}

impl PartnerChat {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), ..Self::default() }
    }
}

/// A search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Relevance: the larger of the lexical relevance (BM25 over the query's IDF mass: 1 is
    /// every query term once in a chunk of average length) and the dense cosine similarity.
    pub score: f32,
    /// The lexical relevance, when the lexical ranking returned the chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lexical_score: Option<f32>,
    /// The dense cosine similarity, when the dense ranking returned the chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dense_score: Option<f32>,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    pub vector_id: String,
    /// The heading path of the chunk's section in its page (`"Install > Linux"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
}
