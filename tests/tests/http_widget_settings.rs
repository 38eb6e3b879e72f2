//! Issue 14 over real TCP: the four new widget settings (and hostile values of them), owner mode
//! (owner tokens from the secret key or a one-time code, accepted only by the settings POST of
//! their company), the widget script's caching, and the demo page at `/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_core::auth::{OwnerToken, OwnerTokenKind};
use chatbot_tests::{TestServer, error_code, status_json};
use serde_json::{Value, json};

const SHOP: &str = "https://shop.example";
const EVIL: &str = "https://evil.example";

/// `POST` JSON with a bearer token and, optionally, an `Origin`.
async fn post_from(
    s: &TestServer,
    path: &str,
    token: Option<&str>,
    origin: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut r = s.http.post(s.url(path)).json(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(o) = origin {
        r = r.header("Origin", o);
    }
    status_json(r.send().await.unwrap()).await
}

#[tokio::test]
async fn the_new_settings_round_trip_with_their_defaults() {
    let s = TestServer::start().await;
    let t = s.tenant("acme", &[]).await;
    let (st, v) = status_json(s.get("/api/widget-settings/acme", None).await).await;
    assert_eq!(st, 200);
    assert_eq!(
        (&v["suggested_questions"], &v["language"], &v["show_sources"], &v["launcher_label"]),
        (&json!([]), &json!("auto"), &json!(true), &json!("")),
        "{v}"
    );
    let patch = json!({
        "suggested_questions": ["  Wie lange dauert der Versand?  ", "Kann ich zurückgeben?"],
        "language": "de", "show_sources": false, "launcher_label": "Fragen?"
    });
    let (st, v) = post_from(&s, "/api/widget-settings/acme", Some(&t.sk), None, &patch).await;
    assert_eq!(st, 200, "{v}");
    let (_, got) = status_json(s.get("/api/widget-settings/acme", None).await).await;
    assert_eq!(got["suggested_questions"], json!(["Wie lange dauert der Versand?", "Kann ich zurückgeben?"]));
    assert_eq!(
        (&got["language"], &got["show_sources"], &got["launcher_label"]),
        (&json!("de"), &json!(false), &json!("Fragen?"))
    );
    // the existing fields are still there, under the same names
    assert_eq!(got["primary_color"], "#007bff");
    s.shutdown().await;
}

#[tokio::test]
async fn hostile_values_of_the_new_settings_are_refused_naming_the_field() {
    let s = TestServer::start().await;
    let t = s.tenant("acme", &[]).await;
    let long = "x".repeat(10_000);
    let many: Vec<String> = (0..5_000).map(|i| format!("q{i}")).collect();
    for (body, field) in [
        (json!({"suggested_questions": many}), "suggested_questions"),
        (json!({"suggested_questions": ["a", "b", "c", "d", "e"]}), "suggested_questions"),
        (json!({"suggested_questions": [long]}), "suggested_questions"),
        (json!({"suggested_questions": ["two\nlines"]}), "suggested_questions"),
        (json!({"suggested_questions": ["nul\u{0}"]}), "suggested_questions"),
        (json!({"suggested_questions": [""]}), "suggested_questions"),
        (json!({"suggested_questions": "a question"}), "suggested_questions"),
        (json!({"suggested_questions": [{"q": 1}]}), "suggested_questions"),
        (json!({"suggested_questions": null}), "suggested_questions"),
        (json!({"language": "klingon"}), "language"),
        (json!({"language": ["en"]}), "language"),
        (json!({"language": long}), "language"),
        (json!({"show_sources": "false"}), "show_sources"),
        (json!({"show_sources": 0}), "show_sources"),
        (json!({"launcher_label": long}), "launcher_label"),
        (json!({"launcher_label": "esc\u{1b}[31m"}), "launcher_label"),
        (json!({"launcher_label": 42}), "launcher_label"),
    ] {
        let (st, v) = post_from(&s, "/api/widget-settings/acme", Some(&t.sk), None, &body).await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(
            (error_code(&v), v["error"]["field"].as_str()),
            ("invalid_field".into(), Some(field)),
            "{v}"
        );
        assert!(v["error"]["message"].as_str().unwrap().len() < 300, "a short message, not the input: {v}");
    }
    // nothing changed
    let (_, got) = status_json(s.get("/api/widget-settings/acme", None).await).await;
    assert_eq!((&got["suggested_questions"], &got["language"]), (&json!([]), &json!("auto")));
    s.shutdown().await;
}

#[tokio::test]
async fn owner_tokens_change_settings_of_their_company_and_nothing_else() {
    let s = TestServer::start().await;
    let a = s.tenant("a", &[]).await;
    let b = s.tenant("b", &[]).await;
    let r = s.http.post(s.url("/api/widget-settings/a/owner-token")).bearer_auth(&a.sk).send().await.unwrap();
    assert_eq!(r.status(), 200, "an empty body");
    let text = r.text().await.unwrap();
    assert!(!text.contains(&a.sk) && !text.contains(&a.sk[3..]), "the secret key is never echoed: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ot_"), "{v}");
    assert_eq!(v["expires_in"], 900);
    let expires = chrono::DateTime::parse_from_rfc3339(v["expires_at"].as_str().unwrap()).unwrap();
    let left = expires.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(left > chrono::TimeDelta::minutes(14) && left <= chrono::TimeDelta::minutes(15), "{left}");

    // it changes the settings of its company
    let (st, v) =
        post_from(&s, "/api/widget-settings/a", Some(&token), None, &json!({"primary_color": "#123456"}))
            .await;
    assert_eq!((st, v["primary_color"].as_str()), (200, Some("#123456")), "{v}");
    // ... and is refused everywhere else: another company's settings, leads, conversations
    let (st, v) =
        post_from(&s, "/api/widget-settings/b", Some(&token), None, &json!({"primary_color": "#000000"}))
            .await;
    assert_eq!((st, error_code(&v).as_str()), (401, "unauthorized"), "{v}");
    for path in ["/api/companies/a/leads", "/api/companies/a/conversations"] {
        let (st, v) = status_json(s.get(path, Some(&token)).await).await;
        assert_eq!(st, 401, "{path}: {v}");
    }
    let (st, _) = status_json(
        s.http.delete(s.url("/api/companies/a/conversations/x")).bearer_auth(&token).send().await.unwrap(),
    )
    .await;
    assert_eq!(st, 401);
    let (st, _) = post_from(&s, "/api/chatbot/session", Some(&token), None, &json!({})).await;
    assert_eq!(st, 401);
    // another company's key, a publishable key, a wrong key, an owner token as the key
    let path = "/api/widget-settings/a/owner-token";
    assert_eq!(post_from(&s, path, Some(&b.sk), None, &json!({})).await.0, 403);
    assert_eq!(post_from(&s, path, Some(&a.pk), None, &json!({})).await.0, 401);
    assert_eq!(post_from(&s, path, Some("sk_wrong"), None, &json!({})).await.0, 401);
    assert_eq!(post_from(&s, path, Some(&token), None, &json!({})).await.0, 401);
    // no credential at all: 401; the operator may open owner mode too
    let r = s.http.post(s.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 401, "an empty body without a key");
    let (st, v) = post_from(&s, path, Some(chatbot_tests::ADMIN_TOKEN), None, &json!({})).await;
    assert_eq!(st, 200, "{v}");
    // with a key the body may be `{}`, and is still type-checked
    assert_eq!(post_from(&s, path, Some(&a.sk), None, &json!({})).await.0, 200);
    for bad in [json!({"code": {}}), json!({"code": null})] {
        let (st, v) = post_from(&s, path, Some(&a.sk), None, &bad).await;
        assert_eq!((st, v["error"]["field"].as_str()), (422, Some("code")), "{bad}: {v}");
    }
    let (_, got) = status_json(s.get("/api/widget-settings/b", None).await).await;
    assert_eq!(got["primary_color"], "#007bff", "company b untouched");
    s.shutdown().await;
}

#[tokio::test]
async fn an_expired_owner_token_is_refused() {
    let s = TestServer::start().await;
    s.tenant("a", &[]).await;
    let long_ago = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    let (token, rec) =
        OwnerToken::generate("a", OwnerTokenKind::Token, long_ago, chatbot_core::auth::OWNER_TOKEN_TTL);
    s.bot.store_unchecked().insert_owner_token(&rec).await.unwrap();
    let (st, v) =
        post_from(&s, "/api/widget-settings/a", Some(&token), None, &json!({"language": "fr"})).await;
    assert_eq!((st, error_code(&v).as_str()), (401, "unauthorized"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("expired"), "{v}");
    // the same token still valid is accepted (the refusal is the expiry, not the record)
    let (fresh, rec) = OwnerToken::generate(
        "a",
        OwnerTokenKind::Token,
        chrono::Utc::now(),
        chatbot_core::auth::OWNER_TOKEN_TTL,
    );
    s.bot.store_unchecked().insert_owner_token(&rec).await.unwrap();
    let (st, _) =
        post_from(&s, "/api/widget-settings/a", Some(&fresh), None, &json!({"language": "fr"})).await;
    assert_eq!(st, 200);
    s.shutdown().await;
}

#[tokio::test]
async fn a_one_time_code_is_exchanged_once_for_its_company() {
    let s = TestServer::start().await;
    s.tenant("a", &[SHOP]).await;
    s.tenant("b", &[]).await;
    let ctx = s.bot.operator_context("a").await.unwrap();
    let link = s.bot.create_owner_link(&ctx, None).await.unwrap();
    assert!(link.url.starts_with("https://shop.example/#chatbot-admin=oc_"), "{}", link.url);
    let code = link.code.clone();
    // not at another company
    let (st, _) =
        post_from(&s, "/api/widget-settings/b/owner-token", None, None, &json!({"code": code})).await;
    assert_eq!(st, 401);
    let (st, v) =
        post_from(&s, "/api/widget-settings/a/owner-token", None, Some(SHOP), &json!({"code": code})).await;
    assert_eq!(st, 200, "{v}");
    let token = v["token"].as_str().unwrap();
    let (st, _) =
        post_from(&s, "/api/widget-settings/a", Some(token), Some(SHOP), &json!({"show_sources": false}))
            .await;
    assert_eq!(st, 200);
    // used once: a second exchange fails
    let (st, v) =
        post_from(&s, "/api/widget-settings/a/owner-token", None, Some(SHOP), &json!({"code": code})).await;
    assert_eq!((st, error_code(&v).as_str()), (401, "unauthorized"), "{v}");
    // a body without a code, a code of the wrong type, garbage
    let (st, v) = post_from(&s, "/api/widget-settings/a/owner-token", None, None, &json!({})).await;
    assert_eq!((st, error_code(&v).as_str()), (401, "unauthorized"), "no key and no code: {v}");
    let (st, v) = post_from(&s, "/api/widget-settings/a/owner-token", None, None, &json!({"code": 7})).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("code")), "{v}");
    let (st, _) =
        post_from(&s, "/api/widget-settings/a/owner-token", None, None, &json!({"code": "oc_".repeat(5000)}))
            .await;
    assert_eq!(st, 401);
    let (st, _) =
        post_from(&s, "/api/widget-settings/nope/owner-token", None, None, &json!({"code": "oc_x"})).await;
    assert_eq!(st, 404);
    s.shutdown().await;
}

#[tokio::test]
async fn owner_mode_only_on_the_allowed_origins() {
    let s = TestServer::start().await;
    let a = s.tenant("a", &[SHOP]).await;
    let path = "/api/widget-settings/a/owner-token";
    let (st, v) = post_from(&s, path, Some(&a.sk), Some(EVIL), &json!({})).await;
    assert_eq!((st, error_code(&v).as_str()), (403, "origin_not_allowed"), "{v}");
    let ctx = s.bot.operator_context("a").await.unwrap();
    let code = s.bot.create_owner_link(&ctx, None).await.unwrap().code;
    let (st, v) = post_from(&s, path, None, Some(EVIL), &json!({"code": code})).await;
    assert_eq!((st, error_code(&v).as_str()), (403, "origin_not_allowed"), "{v}");
    // the refused attempt did not spend the code; on the allowed origin it works, with CORS
    let r =
        s.http.post(s.url(path)).header("Origin", SHOP).json(&json!({"code": code})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], SHOP);
    let r = s.http.post(s.url(path)).header("Origin", SHOP).bearer_auth(&a.sk).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // a company that allows any origin offers owner mode anywhere
    let b = s.tenant("b", &[]).await;
    let (st, _) =
        post_from(&s, "/api/widget-settings/b/owner-token", Some(&b.sk), Some(EVIL), &json!({})).await;
    assert_eq!(st, 200);
    s.shutdown().await;
}

/// The bytes `build.rs` chose: the minified script when the repository has it.
fn expected_widget() -> Vec<u8> {
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../chatbot-server/assets");
    std::fs::read(assets.join("widget.min.js")).or_else(|_| std::fs::read(assets.join("widget.js"))).unwrap()
}

#[tokio::test]
async fn the_widget_script_is_cached_by_etag_and_by_content_hash() {
    let s = TestServer::start().await;
    let r = s.get("/widget.js", None).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(h["cache-control"], "public, max-age=300");
    let etag = h["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"), "a strong tag: {etag}");
    let body = r.bytes().await.unwrap();
    assert_eq!(body.as_ref(), expected_widget().as_slice(), "the served bytes are the asset's");
    assert_eq!(&etag[1..etag.len() - 1], chatbot_server::WIDGET_HASH);

    // revalidation: 304 without a body, for the tag alone, in a list, or weakly compared
    for inm in [etag.clone(), format!("\"stale\", {etag}"), format!("W/{etag}")] {
        let r = s.http.get(s.url("/widget.js")).header("If-None-Match", &inm).send().await.unwrap();
        assert_eq!(r.status(), 304, "{inm}");
        assert_eq!(r.headers()["etag"], etag.as_str());
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let r = s.http.get(s.url("/widget.js")).header("If-None-Match", "\"stale\"").send().await.unwrap();
    assert_eq!(r.status(), 200);

    // the content-hashed URL: the same bytes, cacheable for a year
    let hashed = chatbot_server::widget_hashed_path();
    assert_eq!(hashed, format!("/widget.{}.js", chatbot_server::WIDGET_HASH));
    let r = s.get(&hashed, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(r.headers()["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(r.headers()["etag"], etag.as_str());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(r.bytes().await.unwrap(), body);
    let r = s.http.get(s.url(&hashed)).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(r.status(), 304);
    // an unknown hash is 404, never another version's bytes
    for other in ["/widget.0000000000000000000a.js", "/widget.x.js", "/widget.%2e%2e.js"] {
        let (st, v) = status_json(s.get(other, None).await).await;
        assert_eq!((st, error_code(&v).as_str()), (404, "not_found"), "{other}");
    }
    s.shutdown().await;
}

#[tokio::test]
async fn the_root_serves_the_demo_page_with_its_policy() {
    let s = TestServer::start().await;
    let demo = s.get("/demo", None).await;
    let root = s.get("/", None).await;
    assert_eq!((root.status().as_u16(), demo.status().as_u16()), (200, 200));
    for h in ["content-type", "content-security-policy"] {
        assert_eq!(root.headers()[h], demo.headers()[h], "{h}");
    }
    assert!(root.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    let (root, demo) = (root.text().await.unwrap(), demo.text().await.unwrap());
    assert_eq!(root, demo);
    assert!(
        root.contains(r#"<script src="/widget.js" data-company="123" async></script>"#),
        "the partner's embed, exactly"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn the_demo_company_has_suggested_questions() {
    let s = TestServer::start().await;
    s.demo().await;
    let (_, v) = status_json(s.get("/api/widget-settings/123", None).await).await;
    assert_eq!(
        v["suggested_questions"],
        json!(["What are your opening hours?", "Do you ship abroad?", "How do returns work?"])
    );
    // seeding again keeps an owner's own list
    let ctx = s.bot.operator_context("123").await.unwrap();
    let mine = chatbot_core::WidgetSettingsPatch {
        suggested_questions: Some(vec!["Mine?".into()]),
        ..Default::default()
    };
    s.bot.update_widget_settings(&ctx, &mine).await.unwrap();
    s.bot.seed_demo().await.unwrap();
    let (_, v) = status_json(s.get("/api/widget-settings/123", None).await).await;
    assert_eq!(v["suggested_questions"], json!(["Mine?"]));
    s.shutdown().await;
}
