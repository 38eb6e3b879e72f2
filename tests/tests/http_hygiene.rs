//! HTTP hygiene of the public edge: `X-Content-Type-Options` and `Vary: Origin` on every answer
//! (refusals and preflights included), the demo page's Content-Security-Policy, `/metrics`
//! behind its optional token, the failed-authentication limit per IP (valid credentials never
//! slowed), and panics (a panicking chat model) answered, counted and never stored as an empty
//! reply.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chatbot_core::Role;
use chatbot_core::llm::{ChatModel, ChatRequest, Completion, ModelCapabilities, StreamEvent};
use chatbot_server::ServerConfig;
use chatbot_tests::{ADMIN_TOKEN, TestServer, error_code, sse_events, status_json};
use futures::stream::BoxStream;
use serde_json::json;

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Vec<&'a str> {
    r.headers().get_all(name).iter().map(|v| v.to_str().unwrap()).collect()
}

fn varies_by_origin(r: &reqwest::Response) -> bool {
    header(r, "vary").iter().any(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("origin")))
}

/// The value of one sample line of the Prometheus text.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no sample {name} in\n{metrics}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn every_answer_is_nosniff_and_company_routes_vary_by_origin() {
    let s = TestServer::start().await;
    let t = s.tenant("acme", &["https://shop.example"]).await;
    let big = "x".repeat(70 * 1024);
    let evil = Some("https://evil.example");
    let good = Some("https://shop.example");
    let requests: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("settings, no origin", s.http.get(s.url("/api/widget-settings/acme"))),
        ("settings, allowed origin", s.http.get(s.url("/api/widget-settings/acme"))),
        ("settings, other origin", s.http.get(s.url("/api/widget-settings/acme"))),
        ("unknown company", s.http.get(s.url("/api/widget-settings/nope"))),
        ("leads without a key", s.http.get(s.url("/api/companies/acme/leads"))),
        ("leads, wrong key", s.http.get(s.url("/api/companies/acme/leads")).bearer_auth("sk_wrong")),
        ("leads", s.http.get(s.url("/api/companies/acme/leads")).bearer_auth(&t.sk)),
        (
            "chat over the size limit",
            s.http.post(s.url("/api/partner-chat/acme")).header("content-type", "application/json").body(big),
        ),
        ("chat, bad json", s.http.post(s.url("/api/partner-chat/acme")).body("{nope")),
        ("session, no key", s.http.post(s.url("/api/chatbot/session")).json(&json!({}))),
        ("preflight", s.http.request(reqwest::Method::OPTIONS, s.url("/api/partner-chat/acme"))),
        ("405", s.http.put(s.url("/api/widget-settings/acme"))),
        ("unknown route", s.http.get(s.url("/nope"))),
        ("healthz", s.http.get(s.url("/healthz"))),
    ];
    let mut statuses = Vec::new();
    for (i, (what, req)) in requests.into_iter().enumerate() {
        let origin = match i {
            1 | 10 => good,
            0 => None,
            _ => evil,
        };
        let req = match origin {
            Some(o) => req.header("origin", o).header("access-control-request-method", "POST"),
            None => req,
        };
        let r = req.send().await.unwrap();
        statuses.push(r.status().as_u16());
        assert_eq!(header(&r, "x-content-type-options"), ["nosniff"], "{what}");
        assert!(varies_by_origin(&r), "{what}: Vary {:?}", header(&r, "vary"));
        let allowed = header(&r, "access-control-allow-origin");
        match i {
            1 | 10 => assert_eq!(allowed, ["https://shop.example"], "{what}"),
            _ => assert!(allowed.is_empty(), "{what}: {allowed:?}"),
        }
    }
    assert_eq!(statuses, [200, 200, 200, 404, 401, 401, 200, 413, 400, 401, 204, 405, 404, 200]);

    // the public script is the same for every origin (`*`), so it does not vary by it
    let r = s.http.get(s.url("/widget.js")).header("origin", "https://a.example").send().await.unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), ["*"]);
    assert!(!varies_by_origin(&r));
    assert_eq!(header(&r, "x-content-type-options"), ["nosniff"]);

    // the 413 is counted among the refusals
    let m = s.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(sample(&m, "chatbot_http_refusals_total{reason=\"payload_too_large\"}"), 1.0);
}

#[tokio::test]
async fn the_demo_page_runs_under_a_content_security_policy() {
    let s = TestServer::start().await;
    let r = s.get("/demo", None).await;
    assert_eq!(r.status(), 200);
    let csp = header(&r, "content-security-policy").join(";");
    for directive in
        ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]
    {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(
        !csp.contains("'unsafe-eval'")
            && !csp.split(';').any(|d| d.contains("script-src") && d.contains("unsafe-inline"))
    );
    // `script-src 'self'` allows no inline script: every script on the page is a served file
    let html = r.text().await.unwrap();
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty());
    for sc in scripts {
        let (tag, rest) = sc.split_once('>').unwrap();
        assert!(tag.contains("src=\"/widget.js\""), "an inline or foreign script: <script{tag}>");
        assert!(rest.trim_start().starts_with("</script>"), "a script element with inline code");
    }
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let token = "metrics-token-for-the-scraper";
    let s =
        TestServer::start_with(ServerConfig { metrics_token: Some(token.into()), ..ServerConfig::default() })
            .await;
    let (status, body) = status_json(s.get("/metrics", None).await).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "unauthorized"));
    let r = s.get("/metrics", Some("not-the-token")).await;
    assert_eq!(r.status(), 401);
    assert_eq!(header(&r, "www-authenticate"), ["Bearer"]);
    let r = s.get("/metrics", Some(token)).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("chatbot_http_requests_total"));
    // the operator token is not the metrics token
    assert_eq!(s.get("/metrics", Some(ADMIN_TOKEN)).await.status(), 401);
    // the other probes stay public
    assert_eq!(s.get("/healthz", None).await.status(), 200);
}

#[tokio::test]
async fn failed_authentication_is_limited_per_ip_and_valid_credentials_never_are() {
    let s = TestServer::start().await;
    let t = s.tenant("acme", &[]).await;
    let limit = chatbot_core::guard::DEFAULT_AUTH_FAILURES_PER_MINUTE as usize;
    // wrong keys and wrong operator tokens share the IP's budget of failures
    for i in 0..limit {
        let r = if i % 3 == 0 {
            s.post(
                "/api/chatbot/session/internal",
                Some("wrong-operator-token"),
                &json!({"company_id": "acme"}),
            )
            .await
        } else {
            s.get("/api/companies/acme/leads", Some(&format!("sk_guess{i}"))).await
        };
        assert_eq!(r.status(), 401, "failure {i} is answered 401");
    }
    let r = s.get("/api/companies/acme/leads", Some("sk_one_more_guess")).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = header(&r, "retry-after")[0].parse().unwrap();
    assert!(retry >= 1);
    let (_, body) = status_json(r).await;
    assert_eq!(error_code(&body), "rate_limited");

    // from the same IP, valid credentials pass at once, as often as they like
    for _ in 0..limit + 5 {
        assert_eq!(s.get("/api/companies/acme/leads", Some(&t.sk)).await.status(), 200);
    }
    assert_eq!(s.post("/api/chatbot/session", Some(&t.pk), &json!({})).await.status(), 200);
    let r = s.post("/api/chatbot/session/internal", Some(ADMIN_TOKEN), &json!({"company_id": "acme"})).await;
    assert_eq!(r.status(), 200);
    // a request without any credential is not a guess: still 401
    assert_eq!(s.get("/api/companies/acme/leads", None).await.status(), 401);

    let m = s.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(sample(&m, "chatbot_rate_limited_total{limit=\"auth\"}"), 1.0);
    assert_eq!(sample(&m, "chatbot_rate_limited_total{limit=\"ip\"}"), 0.0);
}

/// A chat model that panics when the question holds "boom" (mid-stream when streaming, after
/// a first delta), and answers normally otherwise.
struct Panicky {
    calls: AtomicUsize,
}

const FINE: &str = "A fine answer.";

#[async_trait]
impl ChatModel for Panicky {
    fn provider(&self) -> &'static str {
        "panicky"
    }

    fn capabilities(&self) -> ModelCapabilities {
        ModelCapabilities::generative().with_token_counts(false)
    }

    async fn complete(&self, req: &ChatRequest) -> chatbot_core::Result<Completion> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if req.question.contains("boom") {
            panic!("the model double panics");
        }
        Ok(Completion { text: FINE.into(), model: "panicky-1".into(), usage: None })
    }

    async fn stream(
        &self,
        req: &ChatRequest,
    ) -> chatbot_core::Result<BoxStream<'static, chatbot_core::Result<StreamEvent>>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let boom = req.question.contains("boom");
        let mut step = 0;
        Ok(Box::pin(futures::stream::poll_fn(move |_| {
            step += 1;
            std::task::Poll::Ready(match step {
                1 => Some(Ok(StreamEvent::Delta("A fine ".into()))),
                2 if boom => panic!("the model double panics mid-stream"),
                2 => Some(Ok(StreamEvent::Delta("answer.".into()))),
                3 => Some(Ok(StreamEvent::Done { model: "panicky-1".into(), usage: None })),
                _ => None,
            })
        })))
    }
}

async fn stored(s: &TestServer, company: &str, sid: &str) -> Vec<(Role, String)> {
    let conv = s.bot.store_unchecked().get_conversation(company, sid).await.unwrap().unwrap();
    conv.messages.into_iter().map(|m| (m.role, m.content)).collect()
}

#[tokio::test]
async fn a_panicking_model_is_answered_counted_and_never_stored_as_an_empty_reply() {
    let model = Arc::new(Panicky { calls: AtomicUsize::new(0) });
    let s = TestServer::start_with_model(model.clone()).await;
    // the demo company: its knowledge keeps these questions on topic, so the model is asked
    let t = s.demo().await;
    let sid = s.session(&t.pk).await;
    let chat = |message: &str| json!({"session_id": sid, "message": message});

    // JSON: 500 in the one error shape
    let (status, body) =
        status_json(s.post("/api/chatbot/chat", Some(&t.pk), &chat("Do you ship abroad? boom")).await).await;
    assert_eq!((status, error_code(&body).as_str()), (500, "internal"));
    // streaming: the deltas so far, then an `error` event (never a bare end of stream)
    let r = s
        .http
        .post(s.url("/api/chatbot/chat"))
        .bearer_auth(&t.pk)
        .header("accept", "text/event-stream")
        .json(&chat("What is your return policy? boom"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let events = sse_events(&r.text().await.unwrap());
    let (last, data) = events.last().unwrap();
    assert_eq!(last, "error", "{events:?}");
    assert_eq!((data["status"].as_u64(), data["error"]["code"].as_str()), (Some(500), Some("internal")));
    assert!(!events.iter().any(|(e, _)| e == "done"));
    assert!(model.calls.load(Ordering::SeqCst) >= 2, "the model double was called");

    // the visitor's messages stay, and no reply was stored for them (none empty)
    let msgs = stored(&s, &t.id, &sid).await;
    assert_eq!(
        msgs,
        [
            (Role::User, "Do you ship abroad? boom".to_string()),
            (Role::User, "What is your return policy? boom".to_string())
        ],
        "only the visitor's messages"
    );

    // a later turn works, streamed and plain, and is stored with its reply
    let (status, body) =
        status_json(s.post("/api/chatbot/chat", Some(&t.pk), &chat("Do you ship abroad?")).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with(FINE), "{body}");
    let r = s
        .http
        .post(s.url("/api/chatbot/chat"))
        .bearer_auth(&t.pk)
        .header("accept", "text/event-stream")
        .json(&chat("What is your return policy?"))
        .send()
        .await
        .unwrap();
    let events = sse_events(&r.text().await.unwrap());
    assert_eq!(events.last().unwrap().0, "done", "{events:?}");
    let msgs = stored(&s, &t.id, &sid).await;
    assert_eq!(msgs.len(), 6, "{msgs:?}");
    assert!(msgs.iter().all(|(_, text)| !text.trim().is_empty()), "no empty message: {msgs:?}");
    assert_eq!(msgs.iter().filter(|(r, _)| *r == Role::Assistant).count(), 2);

    // the partner chat routes answer the same way
    let (status, body) = status_json(
        s.post("/api/partner-chat/123", None, &json!({"message": "Do you ship to Germany? boom"})).await,
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (500, "internal"));
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("accept", "text/event-stream")
        .json(&json!({"message": "Do you ship to France? boom"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sse_events(&r.text().await.unwrap()).last().unwrap().0, "error");

    // both kinds of caught panic are counted
    let m = s.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(sample(&m, "chatbot_http_panics_total"), 2.0, "the two JSON turns");
    assert_eq!(sample(&m, "chatbot_turn_panics_total"), 2.0, "the two streamed turns");
}
