//! Message ids, a visitor's own history and reply ratings through HTTP: every reply (JSON, SSE
//! `done`, history) names its stored message; a history and a rating reach only the caller's
//! own conversation (another visitor's, another company's, an expired or garbage token: 401;
//! a guessed message id of another conversation: 404); a second rating replaces the first;
//! ratings are listed for the company and counted in `/metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_core::auth::{self, VisitorToken};
use chatbot_tests::{ADMIN_TOKEN, TestServer, error_code, sse_events, status_json};
use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

/// A partner-chat turn with an optional visitor token; the reply.
async fn say(s: &TestServer, company: &str, token: Option<&str>, message: &str) -> Value {
    let mut body = json!({ "message": message });
    if let Some(t) = token {
        body["visitor_token"] = json!(t);
    }
    let (st, v) = status_json(s.post(&format!("/api/partner-chat/{company}"), None, &body).await).await;
    assert_eq!(st, 200, "{v}");
    v
}

async fn history(s: &TestServer, company: &str, token: Option<&str>) -> (u16, Value) {
    let mut r = s.http.get(s.url(&format!("/api/partner-chat/{company}/history")));
    if let Some(t) = token {
        r = r.header("X-Visitor-Token", t);
    }
    let r = r.send().await.unwrap();
    if r.status() == 200 {
        assert_eq!(r.headers()["cache-control"], "no-store", "a visitor's conversation is never cached");
    }
    status_json(r).await
}

async fn rate(s: &TestServer, company: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut r = s.http.post(s.url(&format!("/api/partner-chat/{company}/feedback"))).json(&body);
    if let Some(t) = token {
        r = r.header("X-Visitor-Token", t);
    }
    status_json(r.send().await.unwrap()).await
}

fn id_of(reply: &Value) -> String {
    let id = reply["message_id"].as_str().unwrap_or_else(|| panic!("no message_id: {reply}"));
    assert!(id.starts_with("msg_"), "{id}");
    id.to_string()
}

fn token_of(reply: &Value) -> String {
    reply["visitor_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn history_returns_the_visitors_own_conversation_only() {
    let s = TestServer::start().await;
    s.demo().await;
    s.tenant("acme", &[]).await;
    let a1 = say(&s, "123", None, "Do you ship abroad?").await;
    let ta = token_of(&a1);
    let a2 = say(&s, "123", Some(&ta), "How do returns work?").await;
    let b1 = say(&s, "123", None, "What are your opening hours? secret-of-visitor-b").await;
    let tb = token_of(&b1);
    assert_ne!(id_of(&a1), id_of(&a2), "each reply its own id");

    let (st, v) = history(&s, "123", Some(&ta)).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["company_id"], "123");
    let msgs = v["messages"].as_array().unwrap();
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"], "{v}");
    assert_eq!(msgs[0]["content"], "Do you ship abroad?");
    assert_eq!(msgs[1]["message_id"].as_str(), Some(id_of(&a1).as_str()));
    assert_eq!(msgs[1]["content"], a1["message"]);
    assert_eq!(msgs[3]["message_id"].as_str(), Some(id_of(&a2).as_str()));
    assert_eq!(msgs[3]["content"], a2["message"]);
    assert!(msgs.iter().all(|m| m["message_id"].is_string() && m["created_at"].is_string()), "{v}");
    assert!(msgs.iter().all(|m| m.get("feedback").is_none()), "nothing rated yet: {v}");
    // A reply's sources are kept with it (the demo knowledge answers the shipping question).
    assert_eq!(msgs[1].get("sources").cloned().unwrap_or(json!([])), a1["sources"], "{v}");
    assert!(!v.to_string().contains("secret-of-visitor-b"), "never another visitor's messages: {v}");

    let (st, v) = history(&s, "123", Some(&tb)).await;
    assert_eq!(st, 200);
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1]["message_id"].as_str(), Some(id_of(&b1).as_str()));
    assert!(!v.to_string().contains("ship abroad"), "{v}");

    // Missing, garbage, unknown, another company's and expired tokens: 401, nothing leaks.
    let unknown = auth::generate_visitor_token();
    for (label, company, token) in [
        ("missing", "123", None),
        ("empty", "123", Some("")),
        ("garbage", "123", Some("vt_garbage")),
        ("not a token at all", "123", Some("Bearer sk_whatever")),
        ("unknown", "123", Some(unknown.as_str())),
        ("another company's", "acme", Some(ta.as_str())),
    ] {
        let (st, v) = history(&s, company, token).await;
        assert_eq!(st, 401, "{label}: {v}");
        assert_eq!(error_code(&v), "unauthorized", "{label}");
        assert!(v.get("messages").is_none() && !v.to_string().contains("ship"), "{label}: {v}");
    }
    let expired = auth::generate_visitor_token();
    let past = Utc::now() - TimeDelta::days(1);
    let a_session = s.bot.store_unchecked().list_conversations("123", 10, 0).await.unwrap();
    let a_session = a_session.iter().find(|c| c.messages[0].content == "Do you ship abroad?").unwrap();
    s.bot
        .store_unchecked()
        .insert_visitor_token(&VisitorToken {
            token_hash: auth::hash_key(&expired),
            company_id: "123".into(),
            session_id: a_session.session_id.clone(),
            user_id: a_session.user_id.clone(),
            created_at: past - TimeDelta::days(30),
            last_used_at: past,
            expires_at: past,
        })
        .await
        .unwrap();
    let (st, v) = history(&s, "123", Some(&expired)).await;
    assert_eq!((st, error_code(&v).as_str()), (401, "unauthorized"), "expired: {v}");
    // An unknown company is 404, as for chat.
    assert_eq!(history(&s, "nope", Some(&ta)).await.0, 404);
    s.shutdown().await;
}

#[tokio::test]
async fn the_sse_done_event_names_the_stored_message() {
    let s = TestServer::start().await;
    s.demo().await;
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("Accept", "text/event-stream")
        .json(&json!({"message": "Do you ship abroad?"}))
        .send()
        .await
        .unwrap();
    let events = sse_events(&r.text().await.unwrap());
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "done", "{events:?}");
    let id = id_of(done);
    let (_, v) = history(&s, "123", Some(&token_of(done))).await;
    assert_eq!(v["messages"][1]["message_id"].as_str(), Some(id.as_str()), "{v}");
    assert_eq!(v["messages"][1]["content"], done["message"]);
    s.shutdown().await;
}

#[tokio::test]
async fn visitors_rate_only_replies_of_their_own_conversation() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let acme = s.tenant("acme", &[]).await;
    let a1 = say(&s, "123", None, "Do you ship abroad?").await;
    let ta = token_of(&a1);
    let b1 = say(&s, "123", None, "How do returns work?").await;
    let tb = token_of(&b1);
    let other = say(&s, "acme", None, "hello").await;

    let (st, v) = rate(&s, "123", Some(&ta), json!({"message_id": id_of(&a1), "rating": "up"})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v, json!({"message_id": id_of(&a1), "rating": "up"}));
    // A second rating replaces the first.
    let body = json!({"message_id": id_of(&a1), "rating": "down", "comment": "  Wrong: we ship to Norway <b>too</b>  "});
    let (st, v) = rate(&s, "123", Some(&ta), body).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["rating"], "down");
    assert_eq!(v["comment"], "Wrong: we ship to Norway <b>too</b>");
    let (_, h) = history(&s, "123", Some(&ta)).await;
    assert_eq!(
        h["messages"][1]["feedback"],
        json!({"rating": "down", "comment": "Wrong: we ship to Norway <b>too</b>"})
    );
    assert!(h["messages"][0].get("feedback").is_none());

    // Not a reply of the caller's conversation: 404 message_not_found.
    let user_msg = h["messages"][0]["message_id"].as_str().unwrap().to_string();
    for (label, company, token, id) in [
        ("the visitor's own message", "123", &ta, user_msg.clone()),
        ("another visitor's reply", "123", &ta, id_of(&b1)),
        ("another company's reply", "123", &ta, id_of(&other)),
        ("a guessed id", "123", &ta, "msg_AAAAAAAAAAAAAAAAAAAAAA".to_string()),
        ("a position", "123", &ta, "m1".to_string()),
        ("a reply of company 123 rated on acme", "acme", &token_of(&other), id_of(&a1)),
    ] {
        let (st, v) = rate(&s, company, Some(token), json!({"message_id": id, "rating": "up"})).await;
        assert_eq!((st, error_code(&v).as_str()), (404, "message_not_found"), "{label}: {v}");
    }
    // Another company's token, or none: 401.
    let (st, v) = rate(&s, "acme", Some(&ta), json!({"message_id": id_of(&a1), "rating": "up"})).await;
    assert_eq!((st, error_code(&v).as_str()), (401, "unauthorized"), "{v}");
    let (st, _) = rate(&s, "123", None, json!({"message_id": id_of(&a1), "rating": "up"})).await;
    assert_eq!(st, 401);
    // Validation names the field.
    let long = "é".repeat(2001);
    for (body, field) in [
        (json!({"message_id": id_of(&b1), "rating": "meh"}), "rating"),
        (json!({"message_id": id_of(&b1)}), "rating"),
        (json!({"rating": "up"}), "message_id"),
        (json!({"message_id": id_of(&b1), "rating": "up", "comment": long}), "comment"),
        (json!({"message_id": id_of(&b1), "rating": "up", "comment": "bell\u{7}"}), "comment"),
        (json!({"message_id": 7, "rating": "up"}), "message_id"),
    ] {
        let (st, v) = rate(&s, "123", Some(&tb), body.clone()).await;
        assert_eq!((st, v["error"]["field"].as_str()), (422, Some(field)), "{body}: {v}");
    }
    let (st, v) = rate(&s, "123", Some(&tb), json!([1, 2])).await;
    assert_eq!(st, 400, "{v}");
    let at_limit = "é".repeat(2000);
    let (st, v) =
        rate(&s, "123", Some(&tb), json!({"message_id": id_of(&b1), "rating": "up", "comment": at_limit}))
            .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["comment"].as_str().unwrap().chars().count(), 2000);

    // The company's listing: secret key or operator, newest first, paged; never another's.
    let (st, v) = status_json(s.get("/api/companies/123/feedback", Some(&t.sk)).await).await;
    assert_eq!(st, 200, "{v}");
    let list = v["feedback"].as_array().unwrap();
    assert_eq!(list.len(), 2, "one per rated reply: {v}");
    assert_eq!(list[0]["message_id"].as_str(), Some(id_of(&b1).as_str()), "most recent first");
    assert_eq!(list[1]["rating"], "down");
    assert_eq!(list[1]["message"], a1["message"]);
    assert_eq!(list[1]["question"], "Do you ship abroad?");
    assert_eq!((v["limit"].as_u64(), v["offset"].as_u64()), (Some(50), Some(0)));
    let (_, v) =
        status_json(s.get("/api/companies/123/feedback?limit=1&offset=1", Some(ADMIN_TOKEN)).await).await;
    assert_eq!(v["feedback"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["feedback"][0]["message_id"].as_str(), Some(id_of(&a1).as_str()));
    let (st, v) = status_json(s.get("/api/companies/123/feedback?limit=0", Some(&t.sk)).await).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("limit")));
    let (st, _) = status_json(s.get("/api/companies/123/feedback", Some(&t.pk)).await).await;
    assert_eq!(st, 401, "a publishable key lists nothing");
    let (st, _) = status_json(s.get("/api/companies/123/feedback", Some(&acme.sk)).await).await;
    assert!(st == 401 || st == 403, "another company's key: {st}");
    let (st, _) = status_json(s.get("/api/companies/123/feedback", None).await).await;
    assert_eq!(st, 401);
    let (_, v) = status_json(s.get("/api/companies/acme/feedback", Some(&acme.sk)).await).await;
    assert_eq!(v["feedback"], json!([]), "{v}");

    // Counted: three accepted ratings (up, down, up).
    let metrics = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chatbot_feedback_total{rating=\"up\"} 2"), "{metrics}");
    assert!(metrics.contains("chatbot_feedback_total{rating=\"down\"} 1"), "{metrics}");

    // Deleting the conversation deletes its ratings.
    let convs = s.bot.store_unchecked().list_conversations("123", 10, 0).await.unwrap();
    let a_conv = convs.iter().find(|c| c.messages[0].content == "Do you ship abroad?").unwrap();
    let r = s
        .http
        .delete(s.url(&format!("/api/companies/123/conversations/{}", a_conv.session_id)))
        .bearer_auth(&t.sk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, v) = status_json(s.get("/api/companies/123/feedback", Some(&t.sk)).await).await;
    assert_eq!(v["feedback"].as_array().unwrap().len(), 1, "{v}");
    s.shutdown().await;
}

#[tokio::test]
async fn sessions_rate_replies_and_a_resumed_session_returns_its_messages() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let acme = s.tenant("acme", &[]).await;
    let (st, new) = status_json(s.post("/api/chatbot/session", Some(&t.pk), &json!({})).await).await;
    assert_eq!(st, 200);
    assert_eq!(new["messages"], json!([]), "a new session has no messages: {new}");
    let sid = new["session_id"].as_str().unwrap().to_string();
    let (st, reply) = status_json(
        s.post(
            "/api/chatbot/chat",
            Some(&t.pk),
            &json!({"session_id": sid, "message": "Do you ship abroad?"}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200, "{reply}");
    let mid = id_of(&reply);
    let other_sid = s.session(&t.pk).await;
    let (_, other) = status_json(
        s.post("/api/chatbot/chat", Some(&t.pk), &json!({"session_id": other_sid, "message": "hello"})).await,
    )
    .await;

    let fb =
        |sid: &str, id: &str, rating: &str| json!({"session_id": sid, "message_id": id, "rating": rating});
    let (st, v) =
        status_json(s.post("/api/chatbot/feedback", Some(&t.pk), &fb(&sid, &mid, "up")).await).await;
    assert_eq!((st, v.clone()), (200, json!({"message_id": mid, "rating": "up"})), "{v}");
    let (st, v) =
        status_json(s.post("/api/chatbot/feedback", Some(&t.pk), &fb(&sid, &id_of(&other), "up")).await)
            .await;
    assert_eq!((st, error_code(&v).as_str()), (404, "message_not_found"), "another session's reply: {v}");
    // Another company's key cannot reach the session at all.
    let (st, v) =
        status_json(s.post("/api/chatbot/feedback", Some(&acme.pk), &fb(&sid, &mid, "down")).await).await;
    assert_eq!(st, 404, "{v}");
    assert_ne!(error_code(&v), "message_not_found", "the session itself is unknown to acme");
    let (st, v) = status_json(s.post("/api/chatbot/feedback", None, &fb(&sid, &mid, "down")).await).await;
    assert_eq!(st, 401, "{v}");
    let (st, v) = status_json(
        s.post("/api/chatbot/feedback", Some(&t.pk), &json!({"message_id": mid, "rating": "up"})).await,
    )
    .await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("session_id")), "{v}");

    let (st, resumed) =
        status_json(s.post("/api/chatbot/session", Some(&t.pk), &json!({"session_id": sid})).await).await;
    assert_eq!(st, 200, "{resumed}");
    assert_eq!(resumed["resumed"], true);
    let msgs = resumed["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "{resumed}");
    assert_eq!(
        (msgs[0]["role"].as_str(), msgs[0]["content"].as_str()),
        (Some("user"), Some("Do you ship abroad?"))
    );
    assert_eq!(msgs[1]["message_id"].as_str(), Some(mid.as_str()));
    assert_eq!(msgs[1]["content"], reply["message"]);
    assert_eq!(msgs[1]["feedback"], json!({"rating": "up"}));
    assert!(!resumed.to_string().contains("hello"), "never another session's messages");
    // Another company's key cannot resume it.
    let (st, v) =
        status_json(s.post("/api/chatbot/session", Some(&acme.pk), &json!({"session_id": sid})).await).await;
    assert_eq!(st, 404, "{v}");
    assert!(v.get("messages").is_none());
    s.shutdown().await;
}
