//! Visitor identity through HTTP: the issue's reproduction (a reused `user_id` learns and
//! changes nothing), the visitor token in the body, in `X-Visitor-Token` (allowed by CORS) and on
//! a second instance sharing the database, signatures, and the new-conversation cap's 429.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_core::auth::{KeyKind, identity_signature};
use chatbot_tests::{TestServer, error_code, status_json};
use serde_json::{Value, json};

async fn pc(s: &TestServer, body: Value) -> (u16, Value) {
    status_json(s.post("/api/partner-chat/123", None, &body).await).await
}

#[tokio::test]
async fn a_reused_user_id_is_only_a_label() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let (st, _) =
        pc(&s, json!({"message":"Hi, my name is Jane Doe and I would like a quote for a sofa","user_id":"visitor-1"}))
            .await;
    assert_eq!(st, 200);
    let (_, r2) = pc(&s, json!({"message":"please call me","user_id":"visitor-1"})).await;
    let (_, r3) = pc(&s, json!({"message":"my email is mallory@evil.example","user_id":"visitor-1"})).await;
    for r in [&r2, &r3] {
        assert!(!r.to_string().to_lowercase().contains("jane"), "{r}");
        assert_eq!(r["user_id"], "visitor-1");
    }
    let (_, v) = status_json(s.get("/api/companies/123/leads?limit=500", Some(&t.sk)).await).await;
    let leads = v["leads"].as_array().unwrap();
    assert!(
        !leads.iter().any(|l| l["name"].as_str().unwrap_or("").contains("Jane")
            && l["email"].as_str().unwrap_or("").contains("mallory")),
        "no hijacked lead: {v}"
    );
    assert_eq!(leads.len(), 3, "each request started its own conversation with its own lead");
    s.shutdown().await;
}

#[tokio::test]
async fn the_token_continues_by_body_header_and_on_another_instance() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    // The seed's curl, verbatim, still works and now returns a token.
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("Content-Type", "application/json")
        .body(r#"{"message": "Hello, I need help with my order"}"#)
        .send()
        .await
        .unwrap();
    let (st, first) = status_json(r).await;
    assert_eq!(st, 200, "{first}");
    let token = first["visitor_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("vt_"));

    let (st, v) = pc(&s, json!({"message": "I'm Jane Doe", "visitor_token": token})).await;
    assert_eq!((st, v["visitor_token"].as_str()), (200, Some(token.as_str())), "{v}");
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("X-Visitor-Token", &token)
        .json(&json!({"message": "my email is jane@example.com"}))
        .send()
        .await
        .unwrap();
    let (st, v) = status_json(r).await;
    assert_eq!(st, 200, "{v}");
    assert!(v["message"].as_str().unwrap().contains("Jane Doe"), "the same conversation: {v}");
    // A malformed header is refused even beside a good token in the body.
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("X-Visitor-Token", "not-a-token")
        .json(&json!({"message": "hello again", "visitor_token": token}))
        .send()
        .await
        .unwrap();
    let (st, v) = status_json(r).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("X-Visitor-Token")), "{v}");
    // Another instance on the same database accepts the token.
    let other = s.sibling().await;
    let (st, v) = pc(&other, json!({"message": "thanks!", "visitor_token": token})).await;
    assert_eq!((st, v["visitor_token"].as_str()), (200, Some(token.as_str())), "{v}");
    let (_, convs) = status_json(s.get("/api/companies/123/conversations", Some(&t.sk)).await).await;
    let conv = convs["conversations"].as_array().unwrap().iter().find(|c| c["user_id"] == first["user_id"]);
    assert_eq!(conv.unwrap()["messages"].as_array().unwrap().len(), 8, "{convs}");

    // Malformed tokens are named; a token of the wrong type too.
    let (st, v) = pc(&s, json!({"message": "hi", "visitor_token": "garbage"})).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("visitor_token")), "{v}");
    let (st, v) = pc(&s, json!({"message": "hi", "visitor_token": 5})).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("visitor_token")), "{v}");

    // CORS lets a widget on another origin send the header.
    let r = s
        .http
        .request(reqwest::Method::OPTIONS, s.url("/api/partner-chat/123"))
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type, x-visitor-token")
        .send()
        .await
        .unwrap();
    let allowed = r.headers()["access-control-allow-headers"].to_str().unwrap().to_string();
    assert!(allowed.contains("x-visitor-token"), "{allowed}");
    other.shutdown().await;
    s.shutdown().await;
}

#[tokio::test]
async fn signatures_bind_a_user_and_a_wrong_one_is_401() {
    let s = TestServer::start().await;
    s.demo().await;
    let op = s.bot.operator_context("123").await.unwrap();
    let secret = s.bot.create_key(&op, KeyKind::Identity).await.unwrap().token;
    let sig = identity_signature(&secret, "crm-7");
    let (st, a) = pc(&s, json!({"message": "I'm Jane Doe", "user_id": "crm-7", "user_signature": sig})).await;
    assert_eq!(st, 200, "{a}");
    assert!(a["visitor_token"].is_string());
    let (st, b) =
        pc(&s, json!({"message": "jane@example.com is my email", "user_id": "crm-7", "user_signature": sig}))
            .await;
    assert_eq!(st, 200, "{b}");
    assert!(b["message"].as_str().unwrap().contains("Jane Doe"), "same user, same conversation: {b}");
    let wrong = identity_signature(&secret, "crm-8");
    let (st, v) = pc(&s, json!({"message": "hi", "user_id": "crm-7", "user_signature": wrong})).await;
    assert_eq!((st, error_code(&v).as_str()), (401, "unauthorized"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("user_signature"), "{v}");
    // a signature of no user id cannot verify either (schema-valid, so 401 rather than 422)
    for user_id in [json!(""), json!(null), json!("   ")] {
        let (st, v) = pc(&s, json!({"message": "hi", "user_id": user_id, "user_signature": sig})).await;
        assert_eq!((st, error_code(&v).as_str()), (401, "unauthorized"), "{user_id}: {v}");
    }
    let (st, v) = pc(&s, json!({"message": "hi", "user_id": "crm-7"})).await;
    assert_eq!(st, 200);
    assert!(!v["message"].as_str().unwrap().contains("Jane"), "unsigned: a new conversation: {v}");
    s.shutdown().await;
}

#[tokio::test]
async fn the_new_conversation_cap_answers_429_with_retry_after() {
    let s = TestServer::start().await;
    s.demo().await;
    let op = s.bot.operator_context("123").await.unwrap();
    let patch =
        chatbot_core::AiConfigPatch { max_new_conversations_per_minute: Some(1), ..Default::default() };
    s.bot.update_ai_config(&op, &patch).await.unwrap();
    let (st, first) = pc(&s, json!({"message": "Hello"})).await;
    assert_eq!(st, 200);
    let r = s.post("/api/partner-chat/123", None, &json!({"message": "Hello"})).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    // The visitor who has a conversation goes on.
    let (st, _) =
        pc(&s, json!({"message": "Do you ship abroad?", "visitor_token": first["visitor_token"]})).await;
    assert_eq!(st, 200);
    s.shutdown().await;
}
