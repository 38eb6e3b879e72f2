//! Route handlers of curated answers (secret key or operator token): HTTP in, `Chatbot` calls,
//! HTTP out. No rules live here.

use chatbot_core::{CuratedInput, CuratedPatch};
use hyper::StatusCode;
use hyper::header::{self, HeaderValue};
use serde_json::json;

use crate::app::{App, Cx};
use crate::body::{self, Resp};
use crate::error::ApiError;
use crate::request;

type Res<T = Resp> = Result<T, ApiError>;

/// Curated answers are the company's own data: never cached on the way.
fn private(mut r: Resp) -> Resp {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

impl App {
    /// `GET /api/companies/{companyId}/answers`.
    pub(crate) async fn list_answers(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        let answers = self.bot.answers(&ctx).list().await?;
        Ok(private(body::json(StatusCode::OK, &json!({ "answers": answers }))))
    }

    /// `POST /api/companies/{companyId}/answers`.
    pub(crate) async fn create_answer(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        // The body is read once the caller is known to be allowed.
        ctx.require_admin()?;
        let bytes = cx.bytes().await?;
        let input = request::parse::<CuratedInput>(&bytes)?;
        let a = self.bot.answers(&ctx).add(input).await?;
        Ok(private(body::json(StatusCode::CREATED, &a)))
    }

    /// `PATCH /api/companies/{companyId}/answers/{answerId}`.
    pub(crate) async fn update_answer(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        ctx.require_admin()?;
        let bytes = cx.bytes().await?;
        let patch = request::parse::<CuratedPatch>(&bytes)?;
        let a = self.bot.answers(&ctx).update(cx.param(1), patch).await?;
        Ok(private(body::json(StatusCode::OK, &a)))
    }

    /// `DELETE /api/companies/{companyId}/answers/{answerId}`.
    pub(crate) async fn delete_answer(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        self.bot.answers(&ctx).remove(cx.param(1)).await?;
        Ok(body::empty(StatusCode::NO_CONTENT))
    }
}
