//! Route handlers of a visitor's history, of reply ratings and of the gap report built on them: HTTP in, `Chatbot` calls, HTTP
//! out. No rules live here.

use chatbot_core::FeedbackInput;
use chatbot_core::{Error, Page};
use hyper::StatusCode;
use hyper::header::{self, HeaderValue};
use serde::Deserialize;
use serde_json::json;

use crate::app::{App, Cx};
use crate::body::{self, Resp};
use crate::error::ApiError;
use crate::handlers::{VISITOR_TOKEN_HEADER, page};
use crate::request::{self, required};

type Res<T = Resp> = Result<T, ApiError>;

/// A rating: `{"message_id","rating","comment"?}` (the session route adds `session_id`).
#[derive(Debug, Deserialize)]
struct FeedbackBody {
    session_id: Option<String>,
    message_id: Option<String>,
    rating: Option<String>,
    comment: Option<String>,
}

impl FeedbackBody {
    fn input(&self) -> Res<FeedbackInput> {
        let message_id =
            self.message_id.as_deref().ok_or_else(|| ApiError::invalid("message_id", "is required"))?;
        let rating = self.rating.as_deref().ok_or_else(|| ApiError::invalid("rating", "is required"))?;
        Ok(FeedbackInput::new(message_id, rating, self.comment.as_deref())?)
    }
}

/// A message id that is not a reply of the caller's conversation: `404 message_not_found`.
fn message_not_found(e: Error) -> ApiError {
    match e {
        Error::NotFound { what } if what == FeedbackInput::UNKNOWN_MESSAGE => ApiError::new(
            StatusCode::NOT_FOUND,
            "message_not_found",
            "no reply of your conversation has this message_id",
        ),
        other => other.into(),
    }
}

/// A private answer (a visitor's conversation): never stored by a cache.
fn private(mut r: Resp) -> Resp {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

impl App {
    /// `GET /api/partner-chat/{companyId}/history`.
    pub(crate) async fn partner_history(&self, cx: &mut Cx) -> Res {
        let ctx = self.bot.public_context(cx.param(0)).await?;
        self.cors_for(cx, &ctx).await;
        let token = cx.header(VISITOR_TOKEN_HEADER)?;
        let r = self.bot.partner_history(&ctx, token.as_deref(), cx.client).await;
        let messages = self.bot.throttle_failed_auth(cx.client, r).await?;
        Ok(private(body::json(
            StatusCode::OK,
            &json!({ "messages": messages, "company_id": ctx.company_id() }),
        )))
    }

    /// `POST /api/partner-chat/{companyId}/feedback`.
    pub(crate) async fn partner_feedback(&self, cx: &mut Cx) -> Res {
        let bytes = cx.bytes().await?;
        let ctx = self.bot.public_context(cx.param(0)).await?;
        self.cors_for(cx, &ctx).await;
        let token = cx.header(VISITOR_TOKEN_HEADER)?;
        let input = request::parse::<FeedbackBody>(&bytes)?.input()?;
        let r = self.bot.rate_partner_reply(&ctx, token.as_deref(), &input, cx.client).await;
        let rated = self.bot.throttle_failed_auth(cx.client, r).await.map_err(message_not_found)?;
        Ok(private(body::json(StatusCode::OK, &rated)))
    }

    /// `POST /api/chatbot/feedback` (publishable key; the body names the session).
    pub(crate) async fn session_feedback(&self, cx: &mut Cx) -> Res {
        let bytes = cx.bytes().await?;
        let token = cx.bearer()?;
        let ctx = self.key_context(cx.client, &token).await?;
        self.cors_for(cx, &ctx).await;
        let b = request::parse::<FeedbackBody>(&bytes)?;
        let session_id = required(b.session_id.clone(), "session_id")?;
        let input = b.input()?;
        let rated = self
            .bot
            .rate_session_reply(&ctx, &session_id, &input, cx.client)
            .await
            .map_err(message_not_found)?;
        Ok(private(body::json(StatusCode::OK, &rated)))
    }

    /// `GET /api/companies/{companyId}/feedback` (secret key or operator token).
    pub(crate) async fn list_feedback(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        let Page { limit, offset } = page(cx)?;
        let feedback = self.bot.list_feedback(&ctx, Page { limit, offset }).await?;
        Ok(private(body::json(
            StatusCode::OK,
            &json!({ "feedback": feedback, "limit": limit, "offset": offset }),
        )))
    }

    /// `GET /api/companies/{companyId}/gaps?since=7d&limit=N`: the gap report.
    pub(crate) async fn gaps(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        let since = cx.query("since")?;
        let since = chatbot_core::GapReport::parse_since(
            since.as_deref().unwrap_or(chatbot_core::GapReport::DEFAULT_SINCE),
        )?;
        let max = chatbot_core::GapReport::MAX_GROUPS;
        let limit = match cx.query("limit")? {
            None => 0,
            Some(v) => v.parse::<u32>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
                ApiError::invalid("limit", format!("must be a whole number from 1 to {max}"))
            })?,
        };
        let report = self.bot.gaps(&ctx, since, limit).await?;
        Ok(private(body::json(StatusCode::OK, &report)))
    }
}
