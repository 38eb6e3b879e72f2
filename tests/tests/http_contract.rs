//! The server keeps to what docs/openapi.yaml publishes, case by case for each mismatch the
//! OpenAPI property tester (`.ci/openapi-conformance.sh`) found: schema-valid requests are
//! accepted, schema-violating ones are rejected, other methods answer 405 with `Allow`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_server::Route;
use chatbot_tests::{ADMIN_TOKEN, TestServer, error_code, status_json};
use serde_json::{Value, json};

/// `POST /api/widget-settings/123` with the operator token: (status, body).
async fn patch_settings(s: &TestServer, body: &Value) -> (u16, Value) {
    status_json(s.post("/api/widget-settings/123", Some(ADMIN_TOKEN), body).await).await
}

#[tokio::test]
async fn partner_chat_history_may_be_absent_or_a_list_but_not_null() {
    let s = TestServer::start().await;
    s.demo().await;
    let (st, v) =
        status_json(s.post("/api/partner-chat/123", None, &json!({"message": "hi", "history": null})).await)
            .await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("history")), "{v}");
    for body in [json!({"message": "hi"}), json!({"message": "hi", "history": []})] {
        let (st, v) = status_json(s.post("/api/partner-chat/123", None, &body).await).await;
        assert_eq!(st, 200, "{body}: {v}");
    }
    s.shutdown().await;
}

#[tokio::test]
async fn user_ids_follow_the_published_length_and_pattern() {
    let s = TestServer::start().await;
    s.demo().await;
    let chat = |user_id: Value| json!({"message": "Do you ship abroad?", "user_id": user_id});
    // 200 characters once trimmed, 202 as sent: over the published maxLength
    let padded = format!(" {} ", "u".repeat(200));
    for bad in [json!("visitor\u{7}"), json!("visitor\n"), json!("\u{85}x"), json!(padded)] {
        let (st, v) = status_json(s.post("/api/partner-chat/123", None, &chat(bad.clone())).await).await;
        assert_eq!((st, v["error"]["field"].as_str()), (422, Some("user_id")), "{bad}: {v}");
    }
    let (st, v) =
        status_json(s.post("/api/partner-chat/123", None, &chat(json!("  visitor-7 "))).await).await;
    assert_eq!((st, v["user_id"].as_str()), (200, Some("visitor-7")), "{v}");
    // blank or null: an anonymous id
    for anon in [json!("   "), Value::Null] {
        let (st, v) = status_json(s.post("/api/partner-chat/123", None, &chat(anon)).await).await;
        assert_eq!(st, 200);
        assert!(v["user_id"].as_str().unwrap().starts_with("anon_"), "{v}");
    }
    s.shutdown().await;
}

#[tokio::test]
async fn settings_patch_is_exactly_the_published_schema() {
    let s = TestServer::start().await;
    s.demo().await;
    // an empty colour was schema-valid before the document gave colours their pattern
    let (st, v) = patch_settings(&s, &json!({"secondary_color": ""})).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("secondary_color")), "{v}");
    // null is not "absent": only the logo may be cleared with it
    for field in ["allowed_origins", "primary_color", "border_radius", "auto_open", "position"] {
        let (st, v) = patch_settings(&s, &json!({ field: null })).await;
        assert_eq!((st, v["error"]["field"].as_str()), (422, Some(field)), "{v}");
    }
    let (st, v) = patch_settings(&s, &json!({"company_logo": null})).await;
    assert_eq!((st, v["company_logo"].clone()), (200, Value::Null), "{v}");
    // JSON Schema's integers include 25.0
    let (st, v) = patch_settings(&s, &json!({"border_radius": 25.0, "max_tokens": 100.0})).await;
    assert_eq!(
        (st, v["border_radius"].as_i64(), v["max_tokens"].as_i64()),
        (200, Some(25), Some(100)),
        "{v}"
    );
    let (st, v) = patch_settings(&s, &json!({"border_radius": 2.5})).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("border_radius")), "{v}");
    // origins exactly as browsers send them
    let ok = json!({"allowed_origins": ["http://localhost:3000", "https://shop.example/", "http://127.0.0.1:8080"]});
    let (st, v) = patch_settings(&s, &ok).await;
    assert_eq!(st, 200, "{v}");
    for bad in
        ["https://Shop.example", "http://shop.example:80", "https://shop.example:443", "http://[::1]:3000"]
    {
        let (st, v) = patch_settings(&s, &json!({"allowed_origins": [bad]})).await;
        assert_eq!((st, v["error"]["field"].as_str()), (422, Some("allowed_origins")), "{bad}: {v}");
    }
    // the logo: an http(s) URL of printable ASCII
    let (st, v) = patch_settings(&s, &json!({"company_logo": "https://cdn.example/a/logo.png?v=2"})).await;
    assert_eq!(st, 200, "{v}");
    for bad in ["https://cdn.example/a logo.png", "https://", "https://a.9/x"] {
        let (st, v) = patch_settings(&s, &json!({"company_logo": bad})).await;
        assert_eq!((st, v["error"]["field"].as_str()), (422, Some("company_logo")), "{bad}: {v}");
    }
    // blank texts
    let (st, v) = patch_settings(&s, &json!({"welcome_message": " \u{3000}\t"})).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("welcome_message")), "{v}");
    s.shutdown().await;
}

#[tokio::test]
async fn paging_follows_the_published_ranges() {
    let s = TestServer::start().await;
    s.demo().await;
    for path in ["/api/companies/123/leads", "/api/companies/123/conversations"] {
        let (st, v) =
            status_json(s.get(&format!("{path}?offset=4294967295&limit=500"), Some(ADMIN_TOKEN)).await).await;
        assert_eq!((st, v["offset"].as_u64()), (200, Some(4_294_967_295)), "{v}");
        for (query, field) in [("offset=4294967296", "offset"), ("limit=501", "limit"), ("limit=0", "limit")]
        {
            let (st, v) = status_json(s.get(&format!("{path}?{query}"), Some(ADMIN_TOKEN)).await).await;
            assert_eq!((st, v["error"]["field"].as_str()), (422, Some(field)), "{query}: {v}");
        }
        // a parameter given twice is refused, whichever value comes first
        for query in ["offset=&offset=true", "offset=1&offset=2", "limit=5&limit="] {
            let (st, v) = status_json(s.get(&format!("{path}?{query}"), Some(ADMIN_TOKEN)).await).await;
            assert_eq!(st, 422, "{query}: {v}");
            assert!(v["error"]["message"].as_str().unwrap().contains("more than once"), "{v}");
        }
        // empty means absent (allowEmptyValue)
        let (st, v) = status_json(s.get(&format!("{path}?limit=&offset="), Some(ADMIN_TOKEN)).await).await;
        assert_eq!((st, v["limit"].as_u64()), (200, Some(50)), "{v}");
    }
    s.shutdown().await;
}

/// Every documented path answers every other method with 405, an `Allow` header listing
/// exactly its methods (and OPTIONS), and the error shape.
#[tokio::test]
async fn other_methods_answer_405_with_allow() {
    let s = TestServer::start().await;
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "QUERY"];
    for &route in Route::ALL {
        let path = route.template().replace("{companyId}", "123").replace("{leadId}", "l1");
        let path = path.replace("{sessionId}", "s1");
        let mut own: Vec<String> = Route::ALL
            .iter()
            .filter(|r| r.template() == route.template())
            .map(|r| r.method().to_string())
            .collect();
        own.push("OPTIONS".into());
        for m in methods.iter().filter(|m| !own.iter().any(|o| o == *m)) {
            let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
            let r = s.http.request(method, s.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), 405, "{m} {path}");
            let allow = r.headers()["allow"].to_str().unwrap().to_string();
            let mut listed: Vec<&str> = allow.split(", ").collect();
            listed.sort_unstable();
            let mut want: Vec<&str> = own.iter().map(String::as_str).collect();
            want.sort_unstable();
            assert_eq!(listed, want, "{m} {path}");
            let (_, v) = status_json(r).await;
            assert_eq!(error_code(&v), "method_not_allowed");
        }
    }
    s.shutdown().await;
}
