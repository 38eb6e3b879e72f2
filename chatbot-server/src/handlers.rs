//! Route handlers: HTTP in, `Chatbot` calls, HTTP out. No rules live here.

use chatbot_core::HistoryItem;
use chatbot_core::auth::{self, KeyKind};
use chatbot_core::lead::{LeadFilter, LeadStatus};
use chatbot_core::{ChatEvent, ChatInput, ChatReply, PartnerChat, TenantContext, WidgetSettingsPatch};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use hyper::StatusCode;
use hyper::header::{self, HeaderValue};
use serde_json::{Map, Value, json};

use crate::app::{App, Cx};
use crate::body::{self, Resp};
use crate::cors::Cors;
use crate::error::ApiError;

const WIDGET_JS: &str = include_str!("../assets/widget.js");
const DEMO_HTML: &str = include_str!("../assets/demo.html");

type Res = Result<Resp, ApiError>;

impl App {
    pub(crate) async fn dispatch(&self, template: &'static str, cx: &mut Cx) -> Res {
        match (cx.parts.method.as_str(), template) {
            ("GET", "/healthz") => Ok(body::json(StatusCode::OK, &json!({ "status": "ok" }))),
            ("GET", "/readyz") => self.readyz().await,
            ("GET", "/metrics") => self.metrics_text(),
            ("GET", "/widget.js") => {
                cx.cors = Some(Cors::Any);
                let mut r =
                    body::response(StatusCode::OK, "application/javascript; charset=utf-8", WIDGET_JS);
                r.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
                Ok(r)
            }
            ("GET", "/demo") => Ok(body::response(StatusCode::OK, "text/html; charset=utf-8", DEMO_HTML)),
            ("GET", "/api/widget-settings/{companyId}") => self.get_settings(cx).await,
            ("POST", "/api/widget-settings/{companyId}") => self.post_settings(cx).await,
            ("POST", "/api/partner-chat/{companyId}") => self.partner_chat(cx).await,
            ("POST", "/api/chatbot/session") => self.session(cx, false).await,
            ("POST", "/api/chatbot/session/internal") => self.session(cx, true).await,
            ("POST", "/api/chatbot/chat") => self.chat(cx, false).await,
            ("POST", "/api/chatbot/chat/internal") => self.chat(cx, true).await,
            ("GET", "/api/companies/{companyId}/leads") => self.list_leads(cx).await,
            ("PATCH", "/api/companies/{companyId}/leads/{leadId}") => self.update_lead(cx).await,
            ("GET", "/api/companies/{companyId}/conversations") => self.list_conversations(cx).await,
            ("DELETE", "/api/companies/{companyId}/conversations/{sessionId}") => {
                self.delete_conversation(cx).await
            }
            _ => Err(ApiError::not_found("no such route")),
        }
    }

    async fn readyz(&self) -> Res {
        match self.bot.ping().await {
            Ok(()) => Ok(body::json(StatusCode::OK, &json!({ "status": "ready" }))),
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

    fn metrics_text(&self) -> Res {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).map_err(|_| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "could not encode metrics")
        })?;
        Ok(body::response(StatusCode::OK, "application/openmetrics-text; version=1.0.0; charset=utf-8", out))
    }

    /// Decide CORS for `ctx`'s company (one settings read, only when the request has an Origin).
    async fn cors_for(&self, cx: &mut Cx, ctx: &TenantContext) {
        if cx.origin().is_none() {
            cx.cors = Some(Cors::Deny);
            return;
        }
        match self.bot.widget_settings(ctx).await {
            Ok(s) => cx.allow_by(&s),
            Err(_) => cx.cors = Some(Cors::Deny),
        }
    }

    /// A context for a company route authorised by a key (`pk_`/`sk_`) or the operator token.
    async fn keyed_context(&self, token: &str, company_id: &str) -> Result<TenantContext, ApiError> {
        if KeyKind::of_token(token).is_none() && self.bot.config().admin_token.is_some() {
            return Ok(self.bot.admin_token_context(token, company_id).await?);
        }
        Ok(self.bot.authenticate(token, Some(company_id)).await?)
    }

    fn check_operator(&self, token: &str) -> Result<(), ApiError> {
        match &self.bot.config().admin_token {
            None => Err(ApiError::from(chatbot_core::Error::Unauthorized(
                "the internal routes are disabled: CHATBOT_ADMIN_TOKEN is not set".into(),
            ))),
            Some(expected) if auth::ct_eq(token, expected) => Ok(()),
            Some(_) => Err(ApiError::from(chatbot_core::Error::Unauthorized("wrong operator token".into()))),
        }
    }

    // ----- widget settings (004) -----

    async fn get_settings(&self, cx: &mut Cx) -> Res {
        let settings = self.bot.public_widget_settings(cx.param(0)).await?;
        cx.allow_by(&settings);
        let mut r = body::json(StatusCode::OK, &settings);
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        Ok(r)
    }

    async fn post_settings(&self, cx: &mut Cx) -> Res {
        // Read the body first (bounded), so an early error never resets the connection.
        let bytes = cx.bytes().await?;
        let token = cx.bearer()?;
        let ctx = self.keyed_context(&token, cx.param(0)).await?;
        let patch = WidgetSettingsPatch::from_json(&bytes)?;
        let settings = self.bot.update_widget_settings(&ctx, &patch).await?;
        cx.allow_by(&settings);
        Ok(body::json(StatusCode::OK, &settings))
    }

    // ----- partner chat (004) -----

    async fn partner_chat(&self, cx: &mut Cx) -> Res {
        let bytes = cx.bytes().await?;
        let ctx = self.bot.public_context(cx.param(0)).await?;
        self.cors_for(cx, &ctx).await;
        let m = body::object(&bytes)?;
        let input = PartnerChat {
            message: body::req_str(&m, "message")?,
            user_id: body::opt_str(&m, "user_id")?,
            history: history(&m)?,
            client: cx.client,
        };
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
        let (ctx, m) = if internal {
            self.check_operator(&token)?;
            let m = parse_or_empty(&bytes)?;
            let cid = body::req_str(&m, "company_id")?;
            (self.bot.admin_token_context(&token, &cid).await?, m)
        } else {
            let ctx = self.bot.authenticate(&token, None).await?;
            (ctx, parse_or_empty(&bytes)?)
        };
        self.cors_for(cx, &ctx).await;
        let user_id = body::opt_str(&m, "user_id")?;
        let session_id = body::opt_str(&m, "session_id")?;
        let info = self.bot.open_session(&ctx, user_id, session_id, cx.client).await?;
        Ok(body::json(
            StatusCode::OK,
            &json!({
                "session_id": info.session_id,
                "lead_id": info.lead_id,
                "expires_at": info.expires_at,
                "user_id": info.user_id,
                "resumed": info.resumed,
                "company_id": ctx.company_id(),
            }),
        ))
    }

    async fn chat(&self, cx: &mut Cx, internal: bool) -> Res {
        let bytes = cx.bytes().await?;
        let token = cx.bearer()?;
        let (ctx, m) = if internal {
            self.check_operator(&token)?;
            let m = body::object(&bytes)?;
            let cid = body::req_str(&m, "company_id")?;
            (self.bot.admin_token_context(&token, &cid).await?, m)
        } else {
            let ctx = self.bot.authenticate(&token, None).await?;
            (ctx, body::object(&bytes)?)
        };
        self.cors_for(cx, &ctx).await;
        let input = ChatInput {
            session_id: body::req_str(&m, "session_id")?,
            message: body::req_str(&m, "message")?,
            client: cx.client,
        };
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

    async fn list_leads(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(&token, cx.param(0)).await?;
        self.cors_for(cx, &ctx).await;
        let status = cx.query("status").filter(|s| !s.is_empty()).map(LeadStatus::parse).transpose()?;
        let ready = match cx.query("ready") {
            None | Some("") => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(ApiError::invalid("ready", "must be true or false")),
        };
        let (limit, offset) = paging(cx)?;
        let filter = LeadFilter { status, ready, limit, offset };
        let leads = self.bot.list_leads(&ctx, &filter).await?;
        Ok(body::json(StatusCode::OK, &json!({ "leads": leads, "limit": limit, "offset": offset })))
    }

    async fn update_lead(&self, cx: &mut Cx) -> Res {
        let bytes = cx.bytes().await?;
        let token = cx.bearer()?;
        let ctx = self.keyed_context(&token, cx.param(0)).await?;
        self.cors_for(cx, &ctx).await;
        let m = body::object(&bytes)?;
        let status = LeadStatus::parse(&body::req_str(&m, "status")?)?;
        let lead = self.bot.set_lead_status(&ctx, cx.param(1), status).await?;
        Ok(body::json(StatusCode::OK, &lead))
    }

    async fn list_conversations(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(&token, cx.param(0)).await?;
        self.cors_for(cx, &ctx).await;
        let (limit, offset) = paging(cx)?;
        let conversations = self.bot.list_conversations(&ctx, limit, offset).await?;
        Ok(body::json(
            StatusCode::OK,
            &json!({ "conversations": conversations, "limit": limit, "offset": offset }),
        ))
    }

    async fn delete_conversation(&self, cx: &mut Cx) -> Res {
        let token = cx.bearer()?;
        let ctx = self.keyed_context(&token, cx.param(0)).await?;
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

fn parse_or_empty(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) { Ok(Map::new()) } else { body::object(bytes) }
}

fn paging(cx: &Cx) -> Result<(u32, u32), ApiError> {
    let num = |name: &str, default: u32, max: u32| -> Result<u32, ApiError> {
        match cx.query(name) {
            None | Some("") => Ok(default),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(ApiError::invalid(name, format!("must be a whole number from 0 to {max}"))),
            },
        }
    };
    let limit = num("limit", 50, 500)?;
    if limit == 0 {
        return Err(ApiError::invalid("limit", "must be between 1 and 500"));
    }
    Ok((limit, num("offset", 0, u32::MAX)?))
}

fn history(m: &Map<String, Value>) -> Result<Vec<HistoryItem>, ApiError> {
    let items = match m.get("history") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ApiError::invalid("history", "must be an array of {role, content}")),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(o) = item else {
                return Err(ApiError::invalid(format!("history[{i}]"), "must be an object {role, content}"));
            };
            let get = |k: &str| match o.get(k) {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err(ApiError::invalid(format!("history[{i}].{k}"), "must be a string")),
            };
            Ok(HistoryItem { role: get("role")?, content: get("content")? })
        })
        .collect()
}

/// The seed's partner-chat answer: `{"message","company_id"}` plus what the core adds.
fn partner_json(r: &ChatReply) -> Value {
    json!({
        "message": r.message,
        "company_id": r.company_id,
        "user_id": r.session_id.strip_prefix("pc_").unwrap_or(&r.session_id),
        "answered_by": r.answered_by,
        "sources": r.sources,
    })
}

/// The session chat answer: `{"message","session_id","lead"}` plus what the core adds.
fn chat_json(r: &ChatReply) -> Value {
    json!({
        "message": r.message,
        "session_id": r.session_id,
        "company_id": r.company_id,
        "lead": r.lead,
        "answered_by": r.answered_by,
        "sources": r.sources,
    })
}
