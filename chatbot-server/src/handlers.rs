//! Route handlers: HTTP in, `Chatbot` calls, HTTP out. No rules live here.

use chatbot_core::Page;
use chatbot_core::lead::{LeadFilter, LeadStatus};
use chatbot_core::{
    AiConfigPatch, ChatEvent, ChatReply, ClientInfo, ClientType, Company, CompanyPatch, TenantContext,
    WidgetSettings, WidgetSettingsPatch,
};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use hyper::StatusCode;
use hyper::header::{self, HeaderValue};
use serde_json::{Value, json};

use crate::app::{App, Cx};
use crate::assets;
use crate::body::{self, Resp};
use crate::cors::Cors;
use crate::error::ApiError;
use crate::request::{
    self, ChatBody, InternalChatBody, InternalSessionBody, LeadStatusBody, OwnerCodeBody, PartnerChatBody,
    SessionBody,
};
use crate::routes::Route;

/// The header a partner-chat client may carry its visitor token in (instead of the body).
pub(crate) const VISITOR_TOKEN_HEADER: &str = "x-visitor-token";

type Res<T = Resp> = Result<T, ApiError>;

impl App {
    pub(crate) async fn dispatch(&self, route: Route, cx: &mut Cx) -> Res {
        match route {
            Route::Healthz => Ok(body::json(StatusCode::OK, &json!({ "status": "ok" }))),
            Route::Readyz => self.readyz().await,
            Route::Metrics => self.metrics_text(cx).await,
            Route::WidgetJs => {
                cx.cors = Some(Cors::Any);
                Ok(assets::widget(&cx.parts.headers))
            }
            Route::WidgetJsHashed => {
                cx.cors = Some(Cors::Any);
                assets::widget_hashed(&cx.parts.headers, cx.param(0))
            }
            Route::Root | Route::Demo => Ok(assets::demo()),
            Route::GetWidgetSettings => self.get_settings(cx).await,
            Route::UpdateWidgetSettings => self.post_settings(cx).await,
            Route::OwnerToken => self.owner_token(cx).await,
            Route::PartnerChat => self.partner_chat(cx).await,
            Route::PartnerHistory => self.partner_history(cx).await,
            Route::PartnerFeedback => self.partner_feedback(cx).await,
            Route::SessionFeedback => self.session_feedback(cx).await,
            Route::ListFeedback => self.list_feedback(cx).await,
            Route::Gaps => self.gaps(cx).await,
            Route::Session => self.session(cx, false).await,
            Route::SessionInternal => self.session(cx, true).await,
            Route::Chat => self.chat(cx, false).await,
            Route::ChatInternal => self.chat(cx, true).await,
            Route::GetCompany => self.get_company(cx).await,
            Route::UpdateCompany => self.update_company(cx).await,
            Route::ListLeads => self.list_leads(cx).await,
            Route::UpdateLead => self.update_lead(cx).await,
            Route::ListConversations => self.list_conversations(cx).await,
            Route::DeleteConversation => self.delete_conversation(cx).await,
            Route::UpdateAiConfig => self.update_ai_config(cx).await,
            Route::ListAnswers => self.list_answers(cx).await,
            Route::CreateAnswer => self.create_answer(cx).await,
            Route::UpdateAnswer => self.update_answer(cx).await,
            Route::DeleteAnswer => self.delete_answer(cx).await,
        }
    }

    async fn readyz(&self) -> Res {
        match self.bot.ping().await {
            // The settings cache is reported, not a reason to be unready: without notifications
            // every read goes to the database, slower but never stale.
            Ok(()) => Ok(body::json(
                StatusCode::OK,
                &json!({ "status": "ready", "settings_cache": self.bot.settings_cache() }),
            )),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_ready",
                    "the database is not reachable",
                ))
            }
        }
    }

    /// The Prometheus text; with `CHATBOT_METRICS_TOKEN` set, only for `Bearer` that token.
    /// (Not an `async fn`: the future must not hold the request, whose body is not `Sync`.)
    fn metrics_text<'a>(&'a self, cx: &Cx) -> impl std::future::Future<Output = Res> + Send + 'a {
        let auth = self.config.metrics_token.as_ref().map(|expected| {
            cx.bearer().map(|token| {
                let checked = if chatbot_core::auth::ct_eq(&token, expected) {
                    Ok(())
                } else {
                    Err(chatbot_core::Error::Unauthorized("wrong metrics token".into()))
                };
                cx.throttled(&self.bot, checked)
            })
        });
        async move {
            if let Some(auth) = auth {
                auth?.await?;
            }
            let mut out = String::new();
            prometheus_client::encoding::text::encode(&mut out, &self.registry).map_err(|_| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "could not encode metrics")
            })?;
            Ok(body::response(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                out,
            ))
        }
    }

    /// Decide CORS for `ctx`'s company (one settings read, only when the request has an Origin).
    pub(crate) async fn cors_for(&self, cx: &mut Cx, ctx: &TenantContext) {
        if cx.origin().is_none() {
            cx.cors = Some(Cors::Deny);
            return;
        }
        match self.bot.widget_settings(ctx).await {
            Ok(s) => cx.allow_by(&s),
            Err(_) => cx.cors = Some(Cors::Deny),
        }
    }

    /// A context for a company route authorised by a key (`pk_`/`sk_`) or the operator token
    /// (failures count against the client's failed-authentication limit).
    pub(crate) async fn keyed_context(
        &self,
        client: ClientInfo,
        company_id: &str,
        token: &str,
    ) -> Res<TenantContext> {
        let r = self.bot.company_context(token, company_id).await;
        Ok(self.bot.throttle_failed_auth(client, r).await?)
    }

    /// The operator token, checked before the body is looked at (an unauthenticated caller
    /// learns nothing about what the body should hold).
    fn check_operator<'a>(
        &'a self,
        cx: &Cx,
        token: &str,
    ) -> impl std::future::Future<Output = Result<(), ApiError>> + Send + 'a {
        cx.throttled(&self.bot, self.bot.check_operator_token(token))
    }

    /// A context from an API key (failures count against the failed-authentication limit).
    pub(crate) async fn key_context(&self, client: ClientInfo, token: &str) -> Res<TenantContext> {
        let r = self.bot.authenticate(token, None).await;
        Ok(self.bot.throttle_failed_auth(client, r).await?)
    }

    // ----- widget settings (004) -----

    async fn get_settings(&self, cx: &mut Cx) -> Res {
        let (settings, client_type) = self.bot.public_widget_view(cx.param(0)).await?;
        cx.allow_by(&settings);
        let mut r = body::json(StatusCode::OK, &settings_json(&settings, client_type)?);
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        Ok(r)
    }

    async fn post_settings(&self, cx: &mut Cx) -> Res {
        // Read the body first (bounded), so an early error never resets the connection.
        let bytes = cx.bytes().await?;
        let token = cx.bearer()?;
        // An owner token (owner mode in the widget) is accepted here and nowhere else.
        let ctx = if token.starts_with(chatbot_core::auth::OWNER_TOKEN_PREFIX) {
            let company_id = cx.param(0).to_string();
            let r = self.bot.owner_context(&company_id, &token).await;
            cx.throttled(&self.bot, r).await?
        } else {
            self.keyed_context(cx.client, cx.param(0), &token).await?
        };
        let patch = WidgetSettingsPatch::from_json(&bytes)?;
        let settings = self.bot.update_widget_settings(&ctx, &patch).await?;
        cx.allow_by(&settings);
        Ok(body::json(StatusCode::OK, &settings_json(&settings, ctx.company().client_type)?))
    }

    /// Owner mode: the secret key (`Authorization: Bearer sk_...`, or the operator token) or a
    /// one-time code (body `{"code":"oc_..."}`) for a settings-only owner token; neither is 401. CORS follows the company's list
    /// (decided after the handler, from the path's company).
    async fn owner_token(&self, cx: &mut Cx) -> Res {
        let bytes = cx.bytes().await?;
        let origin = cx.origin().map(str::to_string);
        let company_id = cx.param(0).to_string();
        // The body is type-checked whichever credential is used (`{"code": 7}` is always 422).
        let code = request::parse_or_default::<OwnerCodeBody>(&bytes)?.code;
        let grant = if cx.parts.headers.contains_key(header::AUTHORIZATION) {
            let key = cx.bearer()?;
            let r = self.bot.owner_token_from_key(&company_id, &key, origin.as_deref()).await;
            cx.throttled(&self.bot, r).await?
        } else if let Some(code) = code {
            let r = self.bot.owner_token_from_code(&company_id, &code, origin.as_deref()).await;
            cx.throttled(&self.bot, r).await?
        } else {
            return Err(chatbot_core::Error::Unauthorized(
                "send the secret key (Authorization: Bearer sk_...) or a one-time code ({\"code\":\"oc_...\"})"
                    .into(),
            )
            .into());
        };
        Ok(body::json(StatusCode::OK, &grant))
    }

    // ----- partner chat (004) -----

    async fn partner_chat(&self, cx: &mut Cx) -> Res {
        let bytes = cx.bytes().await?;
        let ctx = self.bot.public_context(cx.param(0)).await?;
        self.cors_for(cx, &ctx).await;
        let header_token = cx.header(VISITOR_TOKEN_HEADER)?;
        // A malformed header is refused even when the body carries the token that wins.
        if header_token.as_deref().is_some_and(|t| !chatbot_core::auth::is_visitor_token_shaped(t)) {
            return Err(ApiError::invalid(
                "X-Visitor-Token",
                "is not a token this server issued (vt_ followed by 43 characters)",
            ));
        }
        let input = request::parse::<PartnerChatBody>(&bytes)?.into_input(cx.client, header_token)?;
        if cx.wants_stream() {
            let stream = self.bot.partner_chat_stream(&ctx, input).await?;
            Ok(self.sse(stream, partner_json))
        } else {
            let reply = self.bot.partner_chat(&ctx, input).await?;
            Ok(body::json(StatusCode::OK, &partner_json(&reply)))
        }
    }

    // ----- sessions and chat (000) -----

    async fn session(&self, cx: &mut Cx, internal: bool) -> Res {
        let bytes = cx.bytes().await?;
        let token = cx.bearer()?;
        let (ctx, b) = if internal {
            self.check_operator(cx, &token).await?;
            let (cid, b) = request::parse_or_default::<InternalSessionBody>(&bytes)?.split()?;
            (self.bot.admin_token_context(&token, &cid).await?, b)
        } else {
            let ctx = self.key_context(cx.client, &token).await?;
            (ctx, request::parse_or_default::<SessionBody>(&bytes)?)
        };
        self.cors_for(cx, &ctx).await;
        let info = self.bot.open_session(&ctx, b.user_id, b.session_id, cx.client).await?;
        Ok(body::json(
            StatusCode::OK,
            &json!({
                "session_id": info.session_id,
                "lead_id": info.lead_id,
                "expires_at": info.expires_at,
                "user_id": info.user_id,
                "resumed": info.resumed,
                "company_id": ctx.company_id(),
                "messages": info.messages,
            }),
        ))
    }

    async fn chat(&self, cx: &mut Cx, internal: bool) -> Res {
        let bytes = cx.bytes().await?;
        let token = cx.bearer()?;
        let (ctx, b) = if internal {
            self.check_operator(cx, &token).await?;
            let (cid, b) = request::parse::<InternalChatBody>(&bytes)?.split()?;
            (self.bot.admin_token_context(&token, &cid).await?, b)
        } else {
            let ctx = self.key_context(cx.client, &token).await?;
            (ctx, request::parse::<ChatBody>(&bytes)?)
        };
        self.cors_for(cx, &ctx).await;
        let input = b.into_input(cx.client)?;
        if cx.wants_stream() {
            let stream = self.bot.chat_stream(&ctx, input).await?;
            Ok(self.sse(stream, chat_json))
        } else {
            let reply = self.bot.chat(&ctx, input).await?;
            Ok(body::json(StatusCode::OK, &chat_json(&reply)))
        }
    }

    fn sse(&self, stream: BoxStream<'static, ChatEvent>, render: fn(&ChatReply) -> Value) -> Resp {
        let open = self.metrics.streams_open.clone();
        open.inc();
        let guard = StreamGuard(open);
        let frames = stream.map(move |ev| {
            let _keep = &guard;
            match ev {
                ChatEvent::Delta(text) => body::sse_event("delta", &json!({ "text": text })),
                ChatEvent::Done(reply) => body::sse_event("done", &render(&reply)),
                ChatEvent::Error(e) => {
                    let a = ApiError::from(e);
                    let mut v = a.body_json();
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("status".into(), json!(a.status.as_u16()));
                    }
                    body::sse_event("error", &v)
                }
            }
        });
        body::sse(Box::pin(frames))
    }

    // ----- company admin API (secret key or operator token) -----

    // ----- companies -----

    async fn get_company(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        Ok(body::json(StatusCode::OK, &company_json(&self.bot.company_details(&ctx)?)))
    }

    async fn update_company(&self, cx: &mut Cx) -> Res {
        let bytes = cx.bytes().await?;
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        let patch = request::parse::<CompanyPatch>(&bytes)?;
        Ok(body::json(StatusCode::OK, &company_json(&self.bot.update_company(&ctx, &patch).await?)))
    }

    async fn list_leads(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        let status = cx.query("status")?.as_deref().map(LeadStatus::parse).transpose()?;
        let ready = match cx.query("ready")?.as_deref() {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(ApiError::invalid("ready", "must be true or false")),
        };
        let Page { limit, offset } = page(cx)?;
        let filter = LeadFilter { status, ready, limit, offset };
        let leads = self.bot.list_leads(&ctx, &filter).await?;
        Ok(body::json(StatusCode::OK, &json!({ "leads": leads, "limit": limit, "offset": offset })))
    }

    async fn update_lead(&self, cx: &mut Cx) -> Res {
        let bytes = cx.bytes().await?;
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        let status = LeadStatus::parse(&request::parse::<LeadStatusBody>(&bytes)?.status()?)?;
        let lead = self.bot.set_lead_status(&ctx, cx.param(1), status).await?;
        Ok(body::json(StatusCode::OK, &lead))
    }

    /// The operator changes a company's AI configuration; a company's own key gets 403.
    async fn update_ai_config(&self, cx: &mut Cx) -> Res {
        let bytes = cx.bytes().await?;
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        let patch = request::parse::<AiConfigPatch>(&bytes)?;
        let config = self.bot.update_ai_config(&ctx, &patch).await.map_err(|e| match e {
            // The body's fields are the configuration's own: name them as the client sent them.
            chatbot_core::Error::Invalid { field, reason } => chatbot_core::Error::Invalid {
                field: field.strip_prefix("ai_config.").unwrap_or(&field).to_string(),
                reason,
            },
            other => other,
        })?;
        Ok(body::json(StatusCode::OK, &config))
    }

    async fn list_conversations(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        let Page { limit, offset } = page(cx)?;
        let conversations = self.bot.list_conversations(&ctx, Page { limit, offset }).await?;
        Ok(body::json(
            StatusCode::OK,
            &json!({ "conversations": conversations, "limit": limit, "offset": offset }),
        ))
    }

    async fn delete_conversation(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(cx.client, cx.param(0), &token).await?;
        self.cors_for(cx, &ctx).await;
        self.bot.delete_conversation(&ctx, cx.param(1)).await?;
        Ok(body::empty(StatusCode::NO_CONTENT))
    }
}

/// Decrements the open-streams gauge when the stream is dropped (finished or client gone).
struct StreamGuard(prometheus_client::metrics::gauge::Gauge);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// `?limit=&offset=`: the numbers are read here, the paging rules are the core's ([`Page`]).
pub(crate) fn page(cx: &Cx) -> Result<Page, ApiError> {
    let num = |name: &str, max: u32| -> Result<Option<u32>, ApiError> {
        match cx.query(name)? {
            None => Ok(None),
            Some(v) => v
                .parse::<u32>()
                .map(Some)
                .map_err(|_| ApiError::invalid(name, format!("must be a whole number from 0 to {max}"))),
        }
    };
    Ok(Page::new(num("limit", Page::MAX_LIMIT)?, num("offset", u32::MAX)?)?)
}

/// The widget settings plus the company's client type (the widget adapts its wording to it).
fn settings_json(settings: &WidgetSettings, client_type: ClientType) -> Res<Value> {
    let mut v = serde_json::to_value(settings)
        .map_err(|e| chatbot_core::Error::Internal(format!("widget settings as JSON: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("client_type".into(), json!(client_type));
    }
    Ok(v)
}

/// A company as its owner sees it: its own fields and client type, the AI configuration
/// (read-only here), never a key.
fn company_json(c: &Company) -> Value {
    json!({
        "company_id": c.company_id,
        "company_name": c.company_name,
        "email": c.email,
        "phone": c.phone,
        "website": c.website,
        "logo_url": c.logo_url,
        "client_type": c.client_type,
        "is_active": c.is_active,
        "ai_config": c.ai_config,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    })
}

/// The seed's partner-chat answer: `{"message","company_id"}` plus what the core adds, among it
/// the `visitor_token` that continues the conversation.
fn partner_json(r: &ChatReply) -> Value {
    with_grounding(
        json!({
            "message": r.message,
            "message_id": r.message_id,
            "company_id": r.company_id,
            "user_id": r.user_id,
            "visitor_token": r.visitor_token,
            "answered_by": r.answered_by,
            "sources": r.sources,
        }),
        r,
    )
}

/// `grounding` (`{"supported","unsupported"}`) when the answer was checked; absent otherwise.
fn with_grounding(mut v: Value, r: &ChatReply) -> Value {
    if let (Some(g), Some(obj)) = (r.grounding, v.as_object_mut()) {
        obj.insert("grounding".into(), json!(g));
    }
    v
}

/// The session chat answer: `{"message","session_id","lead"}` plus what the core adds (`lead`
/// is the visitor-safe view).
fn chat_json(r: &ChatReply) -> Value {
    with_grounding(
        json!({
            "message": r.message,
            "message_id": r.message_id,
            "session_id": r.session_id,
            "company_id": r.company_id,
            "lead": r.lead,
            "answered_by": r.answered_by,
            "sources": r.sources,
        }),
        r,
    )
}
