//! Curated answers over HTTP: the admin routes (`/api/companies/{companyId}/answers`) with their
//! credentials and tenant isolation, and the chat routes answering a paraphrased question with
//! the curated text while the OpenAI-compatible model server (wiremock) counts zero calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_core::providers::ModelChoice;
use chatbot_core::{Chatbot, Config};
use chatbot_tests::{ADMIN_TOKEN, TestServer, error_code, sse_events, status_json};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CURATED: &str = "Orders to Belgium arrive in 2 working days; shipping is free above 50 euro.";

async fn send(
    s: &TestServer,
    m: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut r = s.http.request(m, s.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    let r = r.send().await.unwrap();
    let st = r.status().as_u16();
    let text = r.text().await.unwrap();
    (st, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

/// A server whose chat model is the OpenAI-compatible API of `upstream` (it answers every chat
/// call with a model reply), with the demo company and a curated answer; the answer's id.
async fn with_model(upstream: &MockServer) -> (TestServer, chatbot_tests::Tenant, String) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "MODEL REPLY"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        })))
        .mount(upstream)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::offline(dir.path().to_path_buf());
    config.admin_token = Some(ADMIN_TOKEN.into());
    config.model = ModelChoice::OpenAi {
        api_key: "sk-test-key".into(),
        base_url: Some(format!("{}/v1", upstream.uri())),
        model: "gpt-4o-mini".into(),
    };
    let bot = Chatbot::from_config(config).await.unwrap();
    let s = TestServer::start_bot(bot, dir).await;
    let t = s.demo().await;
    let body = json!({
        "questions": ["How long does delivery to Belgium take?", "Do you ship to Belgium?"],
        "answer": CURATED,
        "source": "https://demo.example/shipping"
    });
    let (st, v) =
        send(&s, reqwest::Method::POST, "/api/companies/123/answers", Some(&t.sk), Some(&body)).await;
    assert_eq!(st, 201, "{v}");
    (s, t, v["id"].as_str().unwrap().to_string())
}

async fn partner(s: &TestServer, company: &str, message: &str) -> Value {
    let (st, v) = status_json(
        s.post(&format!("/api/partner-chat/{company}"), None, &json!({"message": message})).await,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    v
}

#[tokio::test]
async fn a_paraphrase_gets_the_curated_text_on_both_routes_with_no_model_call() {
    let upstream = MockServer::start().await;
    let (s, t, id) = with_model(&upstream).await;

    let v = partner(&s, "123", "How long does delivery to Belgium usually take?").await;
    assert_eq!(v["answered_by"], "curated", "{v}");
    assert_eq!(v["message"], CURATED);
    assert_eq!(v["sources"][0]["source"], "https://demo.example/shipping", "{v}");

    // The session route, streamed: deltas then `done`, the same text.
    let sid = s.session(&t.pk).await;
    let r = s
        .http
        .post(s.url("/api/chatbot/chat"))
        .bearer_auth(&t.pk)
        .header("Accept", "text/event-stream")
        .json(&json!({"session_id": sid, "message": "do you ship to belgium"}))
        .send()
        .await
        .unwrap();
    let events = sse_events(&r.text().await.unwrap());
    let (last, done) = events.last().cloned().unwrap();
    assert_eq!(last, "done", "{events:?}");
    assert_eq!(done["answered_by"], "curated", "{done}");
    assert_eq!(done["message"], CURATED);
    assert!(
        upstream.received_requests().await.unwrap().is_empty(),
        "no call of any kind to the model server"
    );

    // Hits are counted and listed.
    let (st, v) = send(&s, reqwest::Method::GET, "/api/companies/123/answers", Some(ADMIN_TOKEN), None).await;
    assert_eq!(st, 200, "{v}");
    let a = &v["answers"][0];
    assert_eq!((a["id"].as_str(), a["hits"].as_u64()), (Some(id.as_str()), Some(2)), "{v}");
    assert!(a["last_hit_at"].is_string(), "{v}");

    // Another question is the model's, as before.
    let v = partner(&s, "123", "What are your opening hours?").await;
    assert_eq!(v["answered_by"], "model", "{v}");
    let calls = upstream.received_requests().await.unwrap().len();
    assert!(calls >= 1);

    // The operator raises the threshold above the paraphrase's similarity: the model answers.
    let (st, v) = send(
        &s,
        reqwest::Method::PATCH,
        "/api/companies/123/ai-config",
        Some(ADMIN_TOKEN),
        Some(&json!({"curated_threshold": 0.99})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let v = partner(&s, "123", "How long does delivery to Belgium usually take?").await;
    assert_eq!(v["answered_by"], "model", "{v}");
    assert!(upstream.received_requests().await.unwrap().len() > calls);
    // The exact question still matches.
    assert_eq!(partner(&s, "123", "Do you ship to Belgium?").await["answered_by"], "curated");

    // Another company's visitor asking the same question never gets company 123's answer.
    let b = s.tenant("b", &[]).await;
    let v = partner(&s, &b.id, "Do you ship to Belgium?").await;
    assert_ne!(v["answered_by"], "curated", "{v}");
    assert_ne!(v["message"], CURATED);
}

#[tokio::test]
async fn the_admin_routes_take_the_secret_key_or_operator_and_stay_in_their_company() {
    let s = TestServer::start().await;
    let a = s.tenant("a", &[]).await;
    let b = s.tenant("b", &[]).await;
    let list = "/api/companies/a/answers";
    let good = json!({"questions": ["Do you sell gift cards?"], "answer": "Yes, from 10 euro."});

    // Created with the secret key; the operator token lists it.
    let (st, created) = send(&s, reqwest::Method::POST, list, Some(&a.sk), Some(&good)).await;
    assert_eq!(st, 201, "{created}");
    assert!(created["id"].as_str().unwrap().starts_with("ca_"));
    assert_eq!((created["hits"].as_u64(), &created["source"]), (Some(0), &Value::Null));
    let id = created["id"].as_str().unwrap().to_string();
    let one = format!("/api/companies/a/answers/{id}");
    let (st, v) = send(&s, reqwest::Method::GET, list, Some(ADMIN_TOKEN), None).await;
    assert_eq!((st, v["answers"].as_array().map(Vec::len)), (200, Some(1)), "{v}");

    // Refused: no token, a publishable key, an owner token, a visitor token.
    let r = s.http.post(s.url("/api/widget-settings/a/owner-token")).bearer_auth(&a.sk).send().await.unwrap();
    let owner = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let visitor = partner(&s, "a", "hello").await["visitor_token"].as_str().unwrap().to_string();
    for (label, token) in
        [("none", None), ("pk", Some(a.pk.as_str())), ("owner", Some(&*owner)), ("visitor", Some(&*visitor))]
    {
        for (m, p, body) in [
            (reqwest::Method::GET, list.to_string(), None),
            (reqwest::Method::POST, list.to_string(), Some(&good)),
            (reqwest::Method::PATCH, one.clone(), Some(&json!({"answer": "hijacked"}))),
            (reqwest::Method::DELETE, one.clone(), None),
        ] {
            let (st, v) = send(&s, m.clone(), &p, token, body).await;
            assert_eq!(st, 401, "{label} {m} {p}: {v}");
        }
    }

    // Company B: its key on A's path is refused; on its own path A's answer does not exist.
    let (st, _) = send(&s, reqwest::Method::GET, list, Some(&b.sk), None).await;
    assert_eq!(st, 403);
    let (st, v) = send(&s, reqwest::Method::GET, "/api/companies/b/answers", Some(&b.sk), None).await;
    assert_eq!((st, v["answers"].as_array().map(Vec::len)), (200, Some(0)), "{v}");
    let theirs = format!("/api/companies/b/answers/{id}");
    let (st, v) =
        send(&s, reqwest::Method::PATCH, &theirs, Some(&b.sk), Some(&json!({"answer": "hijacked"}))).await;
    assert_eq!((st, error_code(&v).as_str()), (404, "not_found"), "{v}");
    let (st, _) = send(&s, reqwest::Method::DELETE, &theirs, Some(&b.sk), None).await;
    assert_eq!(st, 404);
    let (st, v) = send(&s, reqwest::Method::GET, list, Some(&a.sk), None).await;
    assert_eq!((st, v["answers"][0]["answer"].as_str()), (200, Some("Yes, from 10 euro.")), "untouched");

    // Bad input: named fields, never a 500.
    let long_q = "é".repeat(501);
    let many: Vec<String> = (0..21).map(|i| format!("q{i}")).collect();
    for (body, field) in [
        (json!({"questions": [], "answer": "a"}), "questions"),
        (json!({"questions": many, "answer": "a"}), "questions"),
        (json!({"questions": ["  "], "answer": "a"}), "questions[0]"),
        (json!({"questions": [long_q], "answer": "a"}), "questions[0]"),
        (json!({"questions": ["q"], "answer": ""}), "answer"),
        (json!({"questions": ["q"], "answer": "x".repeat(4001)}), "answer"),
        (json!({"questions": ["q"], "answer": "a", "source": "javascript:alert(1)"}), "source"),
    ] {
        let (st, v) = send(&s, reqwest::Method::POST, list, Some(&a.sk), Some(&body)).await;
        assert_eq!((st, v["error"]["field"].as_str()), (422, Some(field)), "{v}");
    }
    for body in [json!({"answer": "a"}), json!({"questions": ["q"], "answer": "a", "extra": 1}), json!([1])] {
        let (st, v) = send(&s, reqwest::Method::POST, list, Some(&a.sk), Some(&body)).await;
        assert!(st == 400 || st == 422, "{st} {v}");
    }
    // Nothing to change ({} or nulls): the answer as it is.
    for empty in [json!({}), json!({"answer": null, "questions": null})] {
        let (st, v) = send(&s, reqwest::Method::PATCH, &one, Some(&a.sk), Some(&empty)).await;
        assert_eq!(st, 200, "{v}");
        assert!(v["answer"].is_string(), "{v}");
    }

    // Update: the source is set, then removed with null; delete, then it is gone.
    let (st, v) = send(
        &s,
        reqwest::Method::PATCH,
        &one,
        Some(&a.sk),
        Some(&json!({"source": "https://a.example/gift", "questions": ["Gift cards?", "Vouchers?"]})),
    )
    .await;
    assert_eq!(
        (st, v["source"].as_str(), v["questions"].as_array().map(Vec::len)),
        (200, Some("https://a.example/gift"), Some(2)),
        "{v}"
    );
    let (st, v) =
        send(&s, reqwest::Method::PATCH, &one, Some(ADMIN_TOKEN), Some(&json!({"source": null}))).await;
    assert_eq!((st, &v["source"]), (200, &Value::Null), "{v}");
    let (st, v) = send(&s, reqwest::Method::DELETE, &one, Some(&a.sk), None).await;
    assert_eq!((st, v), (204, Value::Null));
    let (st, _) = send(&s, reqwest::Method::DELETE, &one, Some(&a.sk), None).await;
    assert_eq!(st, 404);
    let (st, _) =
        send(&s, reqwest::Method::GET, "/api/companies/nope/answers", Some(ADMIN_TOKEN), None).await;
    assert_eq!(st, 404);
}
