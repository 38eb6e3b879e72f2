//! One request: route, run the handler (with a timeout and a panic net), apply CORS and the
//! headers every response carries, count and log it.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use bytes::Bytes;
use chatbot_core::{Chatbot, ClientInfo};
use futures::FutureExt as _;
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, StatusCode};
use prometheus_client::registry::Registry;
use tracing::{debug, error, info};

use crate::ServerConfig;
use crate::body::{self, BoxError, RequestBody, Resp};
use crate::cors::{self, Cors};
use crate::error::ApiError;
use crate::metrics::{HttpMetrics, Refusal, RequestLabels, RouteLabels};
use crate::net;
use crate::routes::{self, Match, Route};

pub(crate) struct App {
    pub bot: Chatbot,
    pub config: ServerConfig,
    pub metrics: HttpMetrics,
    pub registry: Registry,
}

/// What a handler sees of its request.
pub(crate) struct Cx {
    pub parts: Parts,
    body: Option<RequestBody>,
    /// The path parameters, percent-decoded, in template order.
    pub params: Vec<String>,
    pub client: ClientInfo,
    /// The CORS decision; `None` until the handler knows the company.
    pub cors: Option<Cors>,
    pub body_limit: usize,
}

impl Cx {
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map_or("", String::as_str)
    }

    pub fn origin(&self) -> Option<&str> {
        cors::origin(&self.parts.headers)
    }

    /// The bearer token (401 when missing or not a bearer token).
    pub fn bearer(&self) -> Result<String, ApiError> {
        let h = self.parts.headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
        Ok(chatbot_core::auth::parse_bearer(h)?.to_string())
    }

    /// A request header's value, trimmed; empty counts as absent. 422 naming the header when
    /// it is not visible ASCII.
    pub fn header(&self, name: &'static str) -> Result<Option<String>, ApiError> {
        match self.parts.headers.get(name) {
            None => Ok(None),
            Some(v) => v
                .to_str()
                .map(|s| Some(s.trim().to_string()).filter(|s| !s.is_empty()))
                .map_err(|_| ApiError::invalid(name, "must be visible ASCII")),
        }
    }

    /// An authentication result passed through the core's failed-authentication limit of the
    /// client's IP (a failure spends one; once spent, 429 with `Retry-After`).
    /// The future holds the client's address, not the request (whose body is not `Sync`).
    pub fn throttled<'a, T: Send + 'a>(
        &self,
        bot: &'a Chatbot,
        r: chatbot_core::Result<T>,
    ) -> impl std::future::Future<Output = Result<T, ApiError>> + Send + 'a {
        let client = self.client;
        async move { Ok(bot.throttle_failed_auth(client, r).await?) }
    }

    pub fn wants_stream(&self) -> bool {
        self.parts
            .headers
            .get_all(header::ACCEPT)
            .iter()
            .any(|v| v.to_str().is_ok_and(|s| s.contains("text/event-stream")))
    }

    /// A query parameter, percent-decoded (`+` is a space); empty counts as absent. 400 naming
    /// the parameter when it cannot be decoded, 422 when it is given more than once (which of
    /// the values was meant cannot be known).
    pub fn query(&self, name: &str) -> Result<Option<String>, ApiError> {
        let Some(query) = self.parts.uri.query() else { return Ok(None) };
        let mut values = query.split('&').filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then_some(v)
        });
        let raw = values.next();
        if values.next().is_some() {
            return Err(ApiError::invalid(name, "given more than once"));
        }
        match raw {
            None | Some("") => Ok(None),
            Some(v) => routes::percent_decode(v, true)
                .map(Some)
                .map_err(|e| ApiError::malformed_field(name, format!("invalid query parameter {name}: {e}"))),
        }
    }

    /// The raw body (415 for a non-JSON content type, 413 over the limit).
    pub async fn bytes(&mut self) -> Result<Bytes, ApiError> {
        body::require_json(&self.parts.headers)?;
        match self.body.take() {
            Some(b) => body::read(b, &self.parts.headers, self.body_limit).await,
            None => Ok(Bytes::new()),
        }
    }

    /// Decide CORS from the company's allow-list.
    pub fn allow_by(&mut self, settings: &chatbot_core::WidgetSettings) {
        let ok = self.origin().is_some_and(|o| settings.origin_allowed(o));
        self.cors = Some(if ok { Cors::Echo } else { Cors::Deny });
    }
}

impl App {
    pub fn new(bot: Chatbot, config: ServerConfig) -> Self {
        let metrics = HttpMetrics::new();
        let mut registry = Registry::default();
        let core = bot.metrics();
        core.register(&mut registry);
        metrics.register(&mut registry);
        Self { bot, config, metrics, registry }
    }

    /// Answer one request. `peer` is the TCP peer when known (it feeds the per-IP rate limits,
    /// through the trusted-proxy rule); without it the request has no client IP.
    pub async fn handle<B>(&self, req: Request<B>, peer: Option<SocketAddr>) -> Resp
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let start = Instant::now();
        let (parts, body) = req.into_parts();
        let method = parts.method.clone();
        let path = parts.uri.path().to_string();
        let origin = cors::origin(&parts.headers).map(str::to_string);
        let ip = peer.map(|p| net::client_ip(p.ip(), &parts.headers, &self.config.trusted_proxies));

        let (route, mut resp) = match routes::find(&method, &path) {
            Match::NotFound => {
                ("unmatched", body::error(&ApiError::not_found(format!("no route for {method} {path}"))))
            }
            Match::MethodNotAllowed { route, allowed } => {
                let template = route.template();
                let mut e = ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    format!("{method} is not allowed on {template}; allowed: {}", allowed.join(", ")),
                );
                e.allow = Some(allowed.iter().copied().chain(["OPTIONS"]).collect::<Vec<_>>().join(", "));
                (template, body::error(&e))
            }
            Match::Preflight { route, raw, allowed } => {
                let params = routes::decode_params(route, &raw).unwrap_or_default();
                let cors = self.preflight_cors(route, &params, origin.as_deref()).await;
                (route.template(), cors::preflight(&allowed, cors, origin.as_deref()))
            }
            Match::Route { route, raw } => {
                let template = route.template();
                let (result, params, cors) = match routes::decode_params(route, &raw) {
                    Err(e) => (Err(e), Vec::new(), None),
                    Ok(params) => {
                        let mut cx = Cx {
                            parts,
                            body: Some(body::request_body(body)),
                            params,
                            client: ClientInfo { ip },
                            cors: None,
                            body_limit: self.config.body_limit,
                        };
                        let result = self.run(route, &mut cx).await;
                        (result, cx.params, cx.cors)
                    }
                };
                let mut resp = result.unwrap_or_else(|e| body::error(&e));
                let decided = match cors {
                    Some(c) => c,
                    None => self.undecided_cors(route, &params, origin.as_deref()).await,
                };
                cors::apply(&mut resp, decided, origin.as_deref());
                (template, resp)
            }
        };
        let h = resp.headers_mut();
        if !h.contains_key(header::CACHE_CONTROL) {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        // Whether CORS headers are sent (and which) depends on the Origin on every route but
        // the public `*` ones, refusals and errors included: a shared cache must not serve one
        // origin's answer to another.
        if h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none_or(|v| v != "*") {
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }

        let status = resp.status().as_u16();
        if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
            self.metrics.refused(Refusal::PayloadTooLarge);
        }
        let elapsed = start.elapsed();
        self.metrics
            .requests
            .get_or_create(&RequestLabels { method: routes::method_label(&method), route, status })
            .inc();
        self.metrics.latency.get_or_create(&RouteLabels { route }).observe(elapsed.as_secs_f64());
        let ms = elapsed.as_secs_f64() * 1000.0;
        let client = ip.map_or_else(|| "-".to_string(), |ip| ip.to_string());
        let probe = [Route::Healthz, Route::Readyz, Route::Metrics].map(Route::template).contains(&route);
        // The route template, never the path: path parameters can hold a visitor's id (partner
        // conversations are keyed by a client's `user_id`, which integrators fill with e-mails).
        if probe {
            debug!(%method, route, status, ms, client, "request");
        } else {
            info!(%method, route, status, ms, client, "request");
        }
        resp
    }

    /// Run the route's handler with the request timeout and a panic net.
    async fn run(&self, route: Route, cx: &mut Cx) -> Result<Resp, ApiError> {
        let run = AssertUnwindSafe(self.dispatch(route, cx)).catch_unwind();
        match tokio::time::timeout(self.config.request_timeout, run).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => {
                self.metrics.panics.inc();
                error!(route = route.template(), "handler panicked");
                Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error"))
            }
            Err(_) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took too long; try again",
            )),
        }
    }

    /// CORS of a preflight: the company's list for company routes; any origin for the key routes
    /// (the preflight carries no key; the real response is checked against the key's company).
    async fn preflight_cors(&self, route: Route, params: &[String], origin: Option<&str>) -> Cors {
        let Some(origin) = origin else { return Cors::Deny };
        match route {
            Route::WidgetJs | Route::WidgetJsHashed => Cors::Any,
            Route::Session
            | Route::Chat
            | Route::SessionFeedback
            | Route::SessionInternal
            | Route::ChatInternal => Cors::Echo,
            _ => match company_param(route, params) {
                Some(cid) => self.company_cors(cid, origin).await,
                None => Cors::Deny,
            },
        }
    }

    /// CORS for a response whose handler failed before it knew (company routes: look the
    /// company's list up, so the widget can read the error).
    async fn undecided_cors(&self, route: Route, params: &[String], origin: Option<&str>) -> Cors {
        let Some(origin) = origin else { return Cors::Deny };
        match route {
            Route::WidgetJs | Route::WidgetJsHashed | Route::Demo | Route::Root => Cors::Any,
            _ => match company_param(route, params) {
                Some(cid) => self.company_cors(cid, origin).await,
                None => Cors::Deny,
            },
        }
    }

    async fn company_cors(&self, company_id: &str, origin: &str) -> Cors {
        let Ok(ctx) = self.bot.public_context(company_id).await else { return Cors::Deny };
        match self.bot.widget_settings(&ctx).await {
            Ok(s) if s.origin_allowed(origin) => Cors::Echo,
            _ => Cors::Deny,
        }
    }
}

/// The `{companyId}` parameter of a company route.
fn company_param(route: Route, params: &[String]) -> Option<&str> {
    route.param_names().zip(params).find(|(name, _)| *name == "companyId").map(|(_, v)| v.as_str())
}
