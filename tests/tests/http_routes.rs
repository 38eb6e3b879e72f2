//! Every route over real TCP: success shapes and every error status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_tests::{ADMIN_TOKEN, TestServer, encode_segment, error_code, status_json};
use serde_json::{Value, json};

#[tokio::test]
async fn operator_routes() {
    let s = TestServer::start().await;
    let (st, v) = status_json(s.get("/healthz", None).await).await;
    assert_eq!((st, v["status"].as_str()), (200, Some("ok")));
    let (st, _) = status_json(s.get("/readyz", None).await).await;
    assert_eq!(st, 200);
    let r = s.get("/widget.js", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/javascript; charset=utf-8");
    let js = r.text().await.unwrap();
    assert!(js.contains("data-company") && js.contains("/api/partner-chat/"));
    let r = s.get("/demo", None).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("/widget.js"));
    // after some traffic, /metrics shows the HTTP and core families
    s.demo().await;
    s.post("/api/partner-chat/123", None, &json!({"message": "Do you ship abroad?"})).await;
    let m = s.get("/metrics", None).await.text().await.unwrap();
    assert!(m.contains("# TYPE chatbot_http_requests counter"), "{m}");
    assert!(m.contains("chatbot_http_request_duration_seconds_bucket"));
    assert!(m.contains("route=\"/api/partner-chat/{companyId}\""));
    assert!(m.contains("chatbot_replies_total{answered_by=\"fallback\"}"), "{m}");
    assert!(m.contains("chatbot_upstream_errors") && m.contains("chatbot_model_tokens"), "{m}");
    s.shutdown().await;
}

#[tokio::test]
async fn http2_and_keep_alive() {
    let s = TestServer::start().await;
    let h2 = reqwest::Client::builder().no_proxy().http2_prior_knowledge().build().unwrap();
    let r = h2.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.version()), (200, reqwest::Version::HTTP_2));
    // HTTP/1.1 keeps the connection: many requests over one client all succeed
    for _ in 0..20 {
        assert_eq!(s.get("/healthz", None).await.status(), 200);
    }
    s.shutdown().await;
}

#[tokio::test]
async fn unknown_route_404_and_wrong_method_405() {
    let s = TestServer::start().await;
    let (st, v) = status_json(s.get("/nope", None).await).await;
    assert_eq!((st, error_code(&v).as_str()), (404, "not_found"));
    let (st, _) = status_json(s.get("/api/widget-settings/", None).await).await;
    assert_eq!(st, 404);
    let r = s.http.delete(s.url("/api/widget-settings/123")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let allow = r.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let (_, v) = status_json(r).await;
    assert_eq!(error_code(&v), "method_not_allowed");
    let r = s.http.get(s.url("/api/chatbot/chat")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    s.shutdown().await;
}

#[tokio::test]
async fn widget_settings_read_and_write() {
    let s = TestServer::start().await;
    let t = s.tenant("acme", &[]).await;
    let (st, v) = status_json(s.get("/api/widget-settings/acme", None).await).await;
    assert_eq!(st, 200);
    for f in [
        "primary_color",
        "secondary_color",
        "text_color",
        "background_color",
        "border_radius",
        "company_name",
        "welcome_message",
        "placeholder_text",
        "position",
        "auto_open",
        "show_typing_indicator",
        "ai_personality",
        "ai_temperature",
        "max_tokens",
    ] {
        assert!(v.get(f).is_some(), "settings lack {f}: {v}");
    }
    assert_eq!(v["primary_color"], "#007bff");

    // a second instance on the same database has read (and may cache) the settings too
    let s2 = s.sibling().await;
    let (st, v) = status_json(s2.get("/api/widget-settings/acme", None).await).await;
    assert_eq!((st, v["primary_color"].as_str()), (200, Some("#007bff")));

    // unknown company 404, inactive company 403
    let (st, v) = status_json(s.get("/api/widget-settings/nobody", None).await).await;
    assert_eq!((st, error_code(&v).as_str()), (404, "not_found"));

    // writes: no key 401, publishable key 403, garbage key 401, secret key 200
    let patch = json!({"primary_color": "#ff0000", "welcome_message": "Hello!"});
    let r = s.post("/api/widget-settings/acme", None, &patch).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(s.post("/api/widget-settings/acme", Some(&t.pk), &patch).await.status(), 403);
    assert_eq!(s.post("/api/widget-settings/acme", Some("sk_not_a_real_key"), &patch).await.status(), 401);
    assert_eq!(s.post("/api/widget-settings/acme", Some("nonsense"), &patch).await.status(), 401);
    let (st, v) = status_json(s.post("/api/widget-settings/acme", Some(&t.sk), &patch).await).await;
    assert_eq!((st, v["primary_color"].as_str()), (200, Some("#ff0000")));
    // the next GET sees it at once
    let (_, v) = status_json(s.get("/api/widget-settings/acme", None).await).await;
    assert_eq!(
        (v["primary_color"].as_str(), v["welcome_message"].as_str()),
        (Some("#ff0000"), Some("Hello!"))
    );
    // ... and so does the second instance, whose earlier read is never served stale
    let (_, v) = status_json(s2.get("/api/widget-settings/acme", None).await).await;
    assert_eq!(
        (v["primary_color"].as_str(), v["welcome_message"].as_str()),
        (Some("#ff0000"), Some("Hello!"))
    );
    s2.shutdown().await;

    // 422 names the field; 400 malformed; 415 wrong type; 413 too big
    let (st, v) =
        status_json(s.post("/api/widget-settings/acme", Some(&t.sk), &json!({"primary_color": "red"})).await)
            .await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("primary_color")));
    let (st, v) =
        status_json(s.post("/api/widget-settings/acme", Some(&t.sk), &json!({"border_radius": "big"})).await)
            .await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("border_radius")));
    let (st, v) =
        status_json(s.post("/api/widget-settings/acme", Some(&t.sk), &json!({"colour": "#000000"})).await)
            .await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("colour")));
    let r = s
        .http
        .post(s.url("/api/widget-settings/acme"))
        .bearer_auth(&t.sk)
        .header("content-type", "application/json")
        .body("{\"primary_color\": ")
        .send()
        .await
        .unwrap();
    let (st, v) = status_json(r).await;
    assert_eq!((st, error_code(&v).as_str()), (400, "malformed"));
    let r = s
        .http
        .post(s.url("/api/widget-settings/acme"))
        .bearer_auth(&t.sk)
        .header("content-type", "text/plain")
        .body("primary_color=#000000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let big = json!({"welcome_message": "a".repeat(70_000)});
    let (st, v) = status_json(s.post("/api/widget-settings/acme", Some(&t.sk), &big).await).await;
    assert_eq!((st, error_code(&v).as_str()), (413, "payload_too_large"));
    // nothing of the failed writes landed
    let (_, v) = status_json(s.get("/api/widget-settings/acme", None).await).await;
    assert_eq!(v["primary_color"], "#ff0000");

    s.deactivate("acme").await;
    let (st, v) = status_json(s.get("/api/widget-settings/acme", None).await).await;
    assert_eq!((st, error_code(&v).as_str()), (403, "forbidden"));
    assert_eq!(s.post("/api/widget-settings/acme", Some(&t.sk), &patch).await.status(), 403);
    s.shutdown().await;
}

#[tokio::test]
async fn partner_chat_answers_and_stores() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    // the seed's curl, verbatim
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("Content-Type", "application/json")
        .body(r#"{"message": "Hello, I need help with my order"}"#)
        .send()
        .await
        .unwrap();
    let (st, v) = status_json(r).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["company_id"], "123");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(v["answered_by"].is_string() && v["sources"].is_array());
    let anon = v["user_id"].as_str().unwrap().to_string();
    assert!(!anon.is_empty());

    let (st, v) = status_json(
        s.post(
            "/api/partner-chat/123",
            None,
            &json!({"message": "How long does shipping to Germany take?", "user_id": "visitor-7",
                    "history": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["user_id"], "visitor-7");

    // every conversation is stored (admin API with the secret key)
    let (st, v) = status_json(s.get("/api/companies/123/conversations", Some(&t.sk)).await).await;
    assert_eq!(st, 200, "{v}");
    let convs = v["conversations"].as_array().unwrap();
    let users: Vec<&str> = convs.iter().filter_map(|c| c["user_id"].as_str()).collect();
    assert!(users.contains(&"visitor-7") && users.contains(&anon.as_str()), "{users:?}");
    let c = convs.iter().find(|c| c["user_id"] == "visitor-7").unwrap();
    assert!(c["messages"].as_array().unwrap().len() >= 2);

    // errors
    let (st, v) = status_json(s.post("/api/partner-chat/123", None, &json!({"user_id": "x"})).await).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("message")));
    let (st, v) = status_json(s.post("/api/partner-chat/123", None, &json!({"message": 5})).await).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("message")));
    let (st, v) = status_json(s.post("/api/partner-chat/123", None, &json!({"message": "   "})).await).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("message")));
    let (st, v) = status_json(
        s.post(
            "/api/partner-chat/123",
            None,
            &json!({"message": "hi", "history": [{"role": "god", "content": "x"}]}),
        )
        .await,
    )
    .await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("history[0].role")));
    let (st, v) = status_json(
        s.post("/api/partner-chat/123", None, &json!({"message": "hi", "history": "nope"})).await,
    )
    .await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("history")));
    let (st, v) = status_json(s.post("/api/partner-chat/123", None, &json!(["message"])).await).await;
    assert_eq!((st, error_code(&v).as_str()), (400, "malformed"));
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("Content-Type", "application/json")
        .body(r#"{"message": "#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let big = json!({"message": "a".repeat(200_000)});
    assert_eq!(s.post("/api/partner-chat/123", None, &big).await.status(), 413);
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("message=hi")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let (st, _) =
        status_json(s.post("/api/partner-chat/nobody", None, &json!({"message": "hi"})).await).await;
    assert_eq!(st, 404);
    s.tenant("sleepy", &[]).await;
    s.deactivate("sleepy").await;
    let (st, _) =
        status_json(s.post("/api/partner-chat/sleepy", None, &json!({"message": "hi"})).await).await;
    assert_eq!(st, 403);
    s.shutdown().await;
}

#[tokio::test]
async fn sessions_and_chat_with_publishable_key() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let (st, v) =
        status_json(s.post("/api/chatbot/session", Some(&t.pk), &json!({"user_id": "visitor-1"})).await)
            .await;
    assert_eq!(st, 200, "{v}");
    let sid = v["session_id"].as_str().unwrap().to_string();
    assert!(sid.len() >= 40, "a session token must not be guessable: {sid}");
    assert!(v["lead_id"].is_string() && v["expires_at"].is_string());
    // resume
    let (st, v2) =
        status_json(s.post("/api/chatbot/session", Some(&t.pk), &json!({"session_id": sid})).await).await;
    assert_eq!(st, 200);
    assert_eq!(
        (v2["session_id"].as_str(), v2["lead_id"].as_str()),
        (Some(sid.as_str()), v["lead_id"].as_str())
    );
    assert_eq!(v2["resumed"], true);
    // an empty body is a new session
    let r = s.http.post(s.url("/api/chatbot/session")).bearer_auth(&t.pk).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let (st, v) = status_json(
        s.post("/api/chatbot/chat", Some(&t.pk), &json!({"session_id": sid, "message": "Hi, I am Jane"}))
            .await,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(v["session_id"].as_str(), Some(sid.as_str()));
    assert!(v["lead"].is_object(), "{v}");

    // errors
    assert_eq!(s.post("/api/chatbot/session", None, &json!({})).await.status(), 401);
    assert_eq!(s.post("/api/chatbot/session", Some("pk_guess"), &json!({})).await.status(), 401);
    assert_eq!(
        s.post("/api/chatbot/chat", None, &json!({"session_id": sid, "message": "x"})).await.status(),
        401
    );
    let (st, v) = status_json(s.post("/api/chatbot/chat", Some(&t.pk), &json!({"message": "x"})).await).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("session_id")));
    let (st, v) = status_json(
        s.post("/api/chatbot/chat", Some(&t.pk), &json!({"session_id": "sess_guess", "message": "x"})).await,
    )
    .await;
    assert_eq!((st, error_code(&v).as_str()), (404, "not_found"));
    let (st, _) =
        status_json(s.post("/api/chatbot/session", Some(&t.pk), &json!({"session_id": "sess_guess"})).await)
            .await;
    assert_eq!(st, 404);
    let (st, v) =
        status_json(s.post("/api/chatbot/session", Some(&t.pk), &json!({"user_id": 12})).await).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("user_id")));
    let r = s
        .http
        .post(s.url("/api/chatbot/chat"))
        .bearer_auth(&t.pk)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    s.shutdown().await;
}

#[tokio::test]
async fn internal_routes_need_the_operator_token() {
    let s = TestServer::start().await;
    s.demo().await;
    let (st, v) = status_json(
        s.post("/api/chatbot/session/internal", Some(ADMIN_TOKEN), &json!({"company_id": "123"})).await,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let sid = v["session_id"].as_str().unwrap().to_string();
    let (st, v) = status_json(
        s.post(
            "/api/chatbot/chat/internal",
            Some(ADMIN_TOKEN),
            &json!({"company_id": "123", "session_id": sid, "message": "What are your opening hours?"}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()) && v["lead"].is_object());

    assert_eq!(
        s.post("/api/chatbot/session/internal", None, &json!({"company_id": "123"})).await.status(),
        401
    );
    assert_eq!(
        s.post("/api/chatbot/session/internal", Some("wrong-token"), &json!({"company_id": "123"}))
            .await
            .status(),
        401
    );
    let (st, v) =
        status_json(s.post("/api/chatbot/session/internal", Some(ADMIN_TOKEN), &json!({})).await).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("company_id")));
    let (st, _) = status_json(
        s.post("/api/chatbot/session/internal", Some(ADMIN_TOKEN), &json!({"company_id": "nobody"})).await,
    )
    .await;
    assert_eq!(st, 404);
    s.tenant("sleepy", &[]).await;
    s.deactivate("sleepy").await;
    let (st, _) = status_json(
        s.post("/api/chatbot/session/internal", Some(ADMIN_TOKEN), &json!({"company_id": "sleepy"})).await,
    )
    .await;
    assert_eq!(st, 403);
    // the chat twin needs the company too, and checks the session belongs to it
    let (st, v) = status_json(
        s.post("/api/chatbot/chat/internal", Some(ADMIN_TOKEN), &json!({"session_id": sid, "message": "x"}))
            .await,
    )
    .await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("company_id")));
    s.shutdown().await;
}

#[tokio::test]
async fn company_admin_api() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let sid = s.session(&t.pk).await;
    s.post(
        "/api/chatbot/chat",
        Some(&t.pk),
        &json!({"session_id": sid, "message": "I am Jane, jane@example.com"}),
    )
    .await;
    let (st, v) = status_json(s.get("/api/companies/123/leads", Some(&t.sk)).await).await;
    assert_eq!(st, 200, "{v}");
    let leads = v["leads"].as_array().unwrap();
    let lead = leads.iter().find(|l| l["session_id"] == sid.as_str()).expect("the session's lead").clone();
    let lead_id = lead["lead_id"].as_str().unwrap().to_string();

    // filter and paging
    let (_, v) =
        status_json(s.get("/api/companies/123/leads?status=new&limit=1&offset=0", Some(&t.sk)).await).await;
    assert!(v["leads"].as_array().unwrap().len() <= 1);
    let (_, v) = status_json(s.get("/api/companies/123/leads?status=converted", Some(&t.sk)).await).await;
    assert!(v["leads"].as_array().unwrap().is_empty());
    let (st, v) = status_json(s.get("/api/companies/123/leads?status=hot", Some(&t.sk)).await).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("status")));
    let (st, v) = status_json(s.get("/api/companies/123/leads?limit=0", Some(&t.sk)).await).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("limit")));

    // status changes
    let path = format!("/api/companies/123/leads/{lead_id}");
    let patch = |status: &str| {
        s.http.patch(s.url(&path)).bearer_auth(&t.sk).json(&json!({ "status": status })).send()
    };
    let (st, v) = status_json(patch("contacted").await.unwrap()).await;
    assert_eq!((st, v["status"].as_str()), (200, Some("contacted")));
    let (st, v) = status_json(patch("hot").await.unwrap()).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("status")));
    let (st, v) = status_json(patch("converted").await.unwrap()).await;
    assert_eq!((st, error_code(&v).as_str()), (409, "conflict"));
    let r = s
        .http
        .patch(s.url("/api/companies/123/leads/lead_nope"))
        .bearer_auth(&t.sk)
        .json(&json!({"status": "new"}));
    assert_eq!(r.send().await.unwrap().status(), 404);
    let (_, v) = status_json(s.get("/api/companies/123/leads?status=contacted", Some(&t.sk)).await).await;
    assert!(v["leads"].as_array().unwrap().iter().any(|l| l["lead_id"] == lead_id.as_str()));

    // the publishable key cannot read leads; no key at all is 401
    let st = s.get("/api/companies/123/leads", Some(&t.pk)).await.status().as_u16();
    assert!(st == 401 || st == 403, "{st}");
    assert_eq!(s.get("/api/companies/123/leads", None).await.status(), 401);
    // the operator token works too
    assert_eq!(s.get("/api/companies/123/leads", Some(ADMIN_TOKEN)).await.status(), 200);

    // conversations: list, delete, delete again 404
    let (_, v) = status_json(s.get("/api/companies/123/conversations?limit=10", Some(&t.sk)).await).await;
    assert!(v["conversations"].as_array().unwrap().iter().any(|c| c["session_id"] == sid.as_str()));
    let del = format!("/api/companies/123/conversations/{sid}");
    let r = s.http.delete(s.url(&del)).bearer_auth(&t.sk).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = s.http.delete(s.url(&del)).bearer_auth(&t.sk).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let (_, v) = status_json(s.get("/api/companies/123/conversations", Some(&t.sk)).await).await;
    assert!(!v["conversations"].as_array().unwrap().iter().any(|c| c["session_id"] == sid.as_str()));
    s.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let s = TestServer::start().await;
    s.demo().await;
    let ctx = s.bot.operator_context("123").await.unwrap();
    let mut ai = ctx.company().ai_config.clone();
    ai.rate_limit_per_session = Some(1);
    s.bot.set_ai_config(&ctx, &ai).await.unwrap();
    // One conversation, continued with its visitor token.
    let mut token = serde_json::Value::Null;
    let mut limited = None;
    for _ in 0..5 {
        let body = json!({"message": "Do you ship abroad?", "user_id": "hasty", "visitor_token": token});
        let r = s.post("/api/partner-chat/123", None, &body).await;
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        let (st, v) = status_json(r).await;
        assert_eq!(st, 200, "{v}");
        token = v["visitor_token"].clone();
    }
    let r = limited.expect("a per-session limit of 1/minute must answer 429 within 5 requests");
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let (_, v) = status_json(r).await;
    assert_eq!(error_code(&v), "rate_limited");
    s.shutdown().await;
}

/// A conversation id may hold any characters (a signed partner-chat user's id is `pc_` + the
/// user id): the API percent-decodes path parameters, so such a conversation can be deleted.
#[tokio::test]
async fn conversations_with_any_id_can_be_deleted() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let user = "jane doe/ü";
    let op = s.bot.operator_context("123").await.unwrap();
    let secret = s.bot.create_key(&op, chatbot_core::auth::KeyKind::Identity).await.unwrap().token;
    let sig = chatbot_core::auth::identity_signature(&secret, user);
    let (st, v) = status_json(
        s.post(
            "/api/partner-chat/123",
            None,
            &json!({"message": "Hello", "user_id": user, "user_signature": sig}),
        )
        .await,
    )
    .await;
    assert_eq!((st, v["user_id"].as_str()), (200, Some(user)), "{v}");
    let (_, v) = status_json(s.get("/api/companies/123/conversations", Some(&t.sk)).await).await;
    let convs = v["conversations"].as_array().unwrap();
    let sid = convs.iter().find(|c| c["user_id"] == user).expect("the visitor's conversation")["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(sid.contains(' ') && sid.contains('/') && !sid.is_ascii(), "{sid}");

    let del = format!("/api/companies/123/conversations/{}", encode_segment(&sid));
    let r = s.http.delete(s.url(&del)).bearer_auth(&t.sk).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = s.http.delete(s.url(&del)).bearer_auth(&t.sk).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let (_, v) = status_json(s.get("/api/companies/123/conversations", Some(&t.sk)).await).await;
    assert!(!v["conversations"].as_array().unwrap().iter().any(|c| c["user_id"] == user));

    // a bad escape or bytes that are not UTF-8: 400 naming the parameter
    for bad in ["pc_%zz", "pc_%ff", "pc_%4"] {
        let r = s
            .http
            .delete(s.url(&format!("/api/companies/123/conversations/{bad}")))
            .bearer_auth(&t.sk)
            .send()
            .await
            .unwrap();
        let (st, v) = status_json(r).await;
        assert_eq!((st, v["error"]["field"].as_str()), (400, Some("sessionId")), "{bad}: {v}");
        assert_eq!(error_code(&v), "malformed");
    }
    let (st, v) = status_json(s.get("/api/widget-settings/%C3", None).await).await;
    assert_eq!((st, v["error"]["field"].as_str()), (400, Some("companyId")), "{v}");
    // an encoded company id is the same company
    assert_eq!(s.get("/api/widget-settings/%31%323", None).await.status(), 200);
    s.shutdown().await;
}

/// Typed bodies: a field of the wrong type is named, however deep.
#[tokio::test]
async fn wrong_typed_fields_are_named() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let cases = [
        ("/api/partner-chat/123", None, json!({"message": "hi", "user_id": 5}), "user_id"),
        ("/api/partner-chat/123", None, json!({"message": ["hi"]}), "message"),
        (
            "/api/partner-chat/123",
            None,
            json!({"message": "hi", "history": [{"role": "user", "content": 7}]}),
            "history[0].content",
        ),
        ("/api/partner-chat/123", None, json!({"message": "hi", "history": [["user", "x"]]}), "history[0]"),
        ("/api/chatbot/session", Some(t.pk.as_str()), json!({"session_id": []}), "session_id"),
        ("/api/chatbot/chat", Some(t.pk.as_str()), json!({"session_id": 1, "message": "x"}), "session_id"),
        ("/api/chatbot/session/internal", Some(ADMIN_TOKEN), json!({"company_id": 123}), "company_id"),
        (
            "/api/chatbot/chat/internal",
            Some(ADMIN_TOKEN),
            json!({"company_id": "123", "session_id": "s", "message": false}),
            "message",
        ),
    ];
    for (path, token, body, field) in cases {
        let (st, v) = status_json(s.post(path, token, &body).await).await;
        assert_eq!((st, v["error"]["field"].as_str()), (422, Some(field)), "{path} {body}: {v}");
        assert_eq!(error_code(&v), "invalid_field");
        assert!(v["error"]["message"].as_str().unwrap().contains(field), "{v}");
    }
    let sid = s.session(&t.pk).await;
    s.post(
        "/api/chatbot/chat",
        Some(&t.pk),
        &json!({"session_id": sid, "message": "I am Jane, jane@example.com"}),
    )
    .await;
    let (_, v) = status_json(s.get("/api/companies/123/leads", Some(&t.sk)).await).await;
    let lead_id = v["leads"][0]["lead_id"].as_str().unwrap().to_string();
    let r = s
        .http
        .patch(s.url(&format!("/api/companies/123/leads/{lead_id}")))
        .bearer_auth(&t.sk)
        .json(&json!({"status": 1}))
        .send()
        .await
        .unwrap();
    let (st, v) = status_json(r).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("status")), "{v}");
    // a query parameter that cannot be decoded is named too
    let (st, v) = status_json(s.get("/api/companies/123/leads?status=%ff", Some(&t.sk)).await).await;
    assert_eq!((st, v["error"]["field"].as_str()), (400, Some("status")), "{v}");
    s.shutdown().await;
}

/// Garbage of every shape on every route: a 4xx with the error shape, never a 5xx or a panic.
#[tokio::test]
async fn nothing_panics_on_garbage() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"str\"".to_vec(),
        b"{\"message\": null, \"user_id\": {}, \"history\": [1, null]}".to_vec(),
        b"{\"message\": \"\\u0000\\ud800\"}".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x7b],
        b"{\"session_id\": [], \"message\": 1.5e308, \"company_id\": true}".to_vec(),
        format!("{{\"message\": \"{}\"}}", "\u{1F600}".repeat(5000)).into_bytes(),
        b"{\"status\": 3, \"primary_color\": \"#zzzzzz\", \"position\": \"middle\"}".to_vec(),
    ];
    let sid = s.session(&t.pk).await;
    let paths = [
        "/api/widget-settings/123".to_string(),
        "/api/partner-chat/123".to_string(),
        "/api/chatbot/session".to_string(),
        "/api/chatbot/chat".to_string(),
        "/api/chatbot/session/internal".to_string(),
        "/api/chatbot/chat/internal".to_string(),
        "/api/partner-chat/%00%ff".to_string(),
    ];
    let tokens = [None, Some(t.pk.as_str()), Some(t.sk.as_str()), Some(ADMIN_TOKEN), Some("pk_\u{e9}\u{e9}")];
    for p in &paths {
        for b in &bodies {
            for tok in tokens {
                let mut r = s.http.post(s.url(p)).header("content-type", "application/json").body(b.clone());
                if let Some(tok) = tok {
                    r = r.header("authorization", format!("Bearer {tok}"));
                }
                let r = r.send().await.unwrap();
                let st = r.status().as_u16();
                let text = r.text().await.unwrap();
                assert!(st < 500, "{p} with {:?} -> {st} {text}", String::from_utf8_lossy(b));
                if st >= 400 {
                    let v: Value = serde_json::from_str(&text).unwrap();
                    error_code(&v);
                }
            }
        }
    }
    let _ = sid;
    let m = s.get("/metrics", None).await.text().await.unwrap();
    assert!(m.contains("chatbot_http_panics_total 0"), "{m}");
    s.shutdown().await;
}
