//! A visitor's own conversation, read back (a reloaded widget restores it), and visitors'
//! ratings of its replies. A conversation is found only through the caller's own credential:
//! a partner visitor's token or a session, both bound to one company; a message id alone never
//! reaches another conversation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::conversation::{Conversation, Page, Role, SourceRef, find_message};
use crate::error::{Error, Result};
use crate::feedback::{Feedback, FeedbackInput, FeedbackView, Rating};
use crate::tenant::TenantContext;

use super::Chatbot;
use super::types::ClientInfo;

/// The most messages a history returns (the most recent ones).
pub(crate) const HISTORY_LIMIT: usize = 200;

/// What the core answers for a message id that is not a reply of the caller's conversation
/// (front ends answer it `message_not_found`).
pub(crate) const UNKNOWN_MESSAGE: &str = "message (no reply of this conversation has that id)";

/// One message of a visitor's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryMessage {
    pub message_id: String,
    /// `user` or `assistant`.
    pub role: Role,
    pub content: String,
    pub created_at: DateTime<Utc>,
    /// The sources a reply was answered from (none: omitted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceRef>,
    /// The visitor's rating of a reply, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<FeedbackView>,
}

impl HistoryMessage {
    /// The most messages a history returns (the most recent).
    pub const LIMIT: usize = HISTORY_LIMIT;
}

/// A rating as stored, as the rating routes answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatedMessage {
    pub message_id: String,
    pub rating: Rating,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Chatbot {
    /// The conversation of a partner visitor's token (`GET /api/partner-chat/{companyId}/history`).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for a missing, malformed, unknown, expired or other company's
    /// token; [`Error::RateLimited`].
    pub async fn partner_history(
        &self,
        ctx: &TenantContext,
        visitor_token: Option<&str>,
        client: ClientInfo,
    ) -> Result<Vec<HistoryMessage>> {
        self.check_ip(ctx, client).await?;
        let session_id = self.token_conversation(ctx, visitor_token).await?;
        self.history_of(ctx, &session_id).await
    }

    /// The messages of a session's conversation (a resumed session returns them).
    pub(super) async fn history_of(
        &self,
        ctx: &TenantContext,
        session_id: &str,
    ) -> Result<Vec<HistoryMessage>> {
        let store = self.store();
        let Some(conv) = store.get_conversation(ctx.company_id(), session_id).await? else {
            return Ok(Vec::new());
        };
        let ratings = store.conversation_feedback(ctx.company_id(), session_id).await?;
        Ok(history_items(&conv, &ratings))
    }

    /// Rate a reply of a partner visitor's own conversation (`POST
    /// /api/partner-chat/{companyId}/feedback`); a second rating replaces the first.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] (token, as [`Chatbot::partner_history`]), [`Error::NotFound`]
    /// ([`FeedbackInput::UNKNOWN_MESSAGE`]) when the id is not a reply of that conversation.
    pub async fn rate_partner_reply(
        &self,
        ctx: &TenantContext,
        visitor_token: Option<&str>,
        input: &FeedbackInput,
        client: ClientInfo,
    ) -> Result<RatedMessage> {
        self.check_ip(ctx, client).await?;
        let session_id = self.token_conversation(ctx, visitor_token).await?;
        self.rate(ctx, &session_id, input).await
    }

    /// Rate a reply of a session's conversation (`POST /api/chatbot/feedback`).
    ///
    /// # Errors
    /// [`Error::NotFound`] (session, or [`FeedbackInput::UNKNOWN_MESSAGE`]), [`Error::Unauthorized`] (expired
    /// session).
    pub async fn rate_session_reply(
        &self,
        ctx: &TenantContext,
        session_id: &str,
        input: &FeedbackInput,
        client: ClientInfo,
    ) -> Result<RatedMessage> {
        self.check_ip(ctx, client).await?;
        let s = self.valid_session(ctx, session_id).await?;
        self.rate(ctx, &s.session_id, input).await
    }

    /// A company's ratings, most recently rated first (the page's limit held to
    /// 1..=[`Page::MAX_LIMIT`]).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] without a secret key or operator access.
    pub async fn list_feedback(&self, ctx: &TenantContext, page: Page) -> Result<Vec<Feedback>> {
        ctx.require_admin()?;
        let page = page.clamped();
        self.store().list_feedback(ctx.company_id(), page.limit, page.offset).await
    }

    async fn rate(
        &self,
        ctx: &TenantContext,
        session_id: &str,
        input: &FeedbackInput,
    ) -> Result<RatedMessage> {
        let store = self.store();
        let conv = store
            .get_conversation(ctx.company_id(), session_id)
            .await?
            .ok_or_else(|| Error::not_found(UNKNOWN_MESSAGE))?;
        let (pos, reply) = find_message(&conv.messages, &input.message_id)
            .filter(|(_, m)| m.role == Role::Assistant)
            .ok_or_else(|| Error::not_found(UNKNOWN_MESSAGE))?;
        let question = conv.messages[..pos]
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let now = Utc::now();
        let stored = store
            .put_feedback(&Feedback {
                company_id: ctx.company_id().to_string(),
                session_id: session_id.to_string(),
                message_id: reply.id_at(pos),
                rating: input.rating,
                comment: input.comment.clone(),
                message: reply.content.clone(),
                question,
                created_at: now,
                updated_at: now,
            })
            .await?;
        self.inner.metrics.feedback(stored.rating.as_str());
        Ok(RatedMessage { message_id: stored.message_id, rating: stored.rating, comment: stored.comment })
    }

    /// The conversation a visitor token continues: the token must be this company's and live.
    async fn token_conversation(&self, ctx: &TenantContext, token: Option<&str>) -> Result<String> {
        let token = token.map(str::trim).filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::Unauthorized("send the visitor token of an earlier reply in X-Visitor-Token".into())
        })?;
        let invalid =
            || Error::Unauthorized("visitor token unknown or expired; start a new conversation".into());
        if !auth::is_visitor_token_shaped(token) {
            return Err(invalid());
        }
        Ok(self.valid_token(ctx, token).await?.ok_or_else(invalid)?.session_id)
    }
}

/// The visitor-visible messages of a conversation (the most recent [`HistoryMessage::LIMIT`]), each
/// reply with its sources and rating.
fn history_items(conv: &Conversation, ratings: &[Feedback]) -> Vec<HistoryMessage> {
    let items: Vec<HistoryMessage> = conv
        .messages
        .iter()
        .enumerate()
        .filter(|(_, m)| matches!(m.role, Role::User | Role::Assistant))
        .map(|(i, m)| {
            let message_id = m.id_at(i);
            let feedback = (m.role == Role::Assistant)
                .then(|| ratings.iter().find(|f| f.message_id == message_id).map(FeedbackView::from))
                .flatten();
            HistoryMessage {
                message_id,
                role: m.role,
                content: m.content.clone(),
                created_at: m.timestamp,
                sources: m.sources.clone(),
                feedback,
            }
        })
        .collect();
    let skip = items.len().saturating_sub(HISTORY_LIMIT);
    items.into_iter().skip(skip).collect()
}
