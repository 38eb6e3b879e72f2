//! CORS: preflight for every route; the origin echoed only when the company allows it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_tests::TestServer;
use serde_json::json;

const SHOP: &str = "https://shop.example";
const EVIL: &str = "https://evil.example";

async fn preflight(s: &TestServer, path: &str, origin: &str, method: &str) -> reqwest::Response {
    s.http
        .request(reqwest::Method::OPTIONS, s.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", "content-type, authorization")
        .send()
        .await
        .unwrap()
}

fn acao(r: &reqwest::Response) -> Option<String> {
    r.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_string())
}

fn no_credentials_with_wildcard(r: &reqwest::Response) {
    let cred = r.headers().get("access-control-allow-credentials").is_some();
    assert!(!(cred && acao(r).as_deref() == Some("*")), "credentials combined with a wildcard");
}

#[tokio::test]
async fn preflight_is_answered_for_every_route() {
    let s = TestServer::start().await;
    s.demo().await;
    for &route in chatbot_server::Route::ALL {
        let (method, template) = (route.method(), route.template());
        let method = method.as_str();
        let path = template
            .replace("{companyId}", "123")
            .replace("{leadId}", "lead_x")
            .replace("{sessionId}", "s_x");
        let r = preflight(&s, &path, SHOP, method).await;
        assert_eq!(r.status(), 204, "OPTIONS {path}");
        let allow = r.headers()["allow"].to_str().unwrap().to_string();
        assert!(allow.contains(method) && allow.contains("OPTIONS"), "{path}: {allow}");
        no_credentials_with_wildcard(&r);
        if path.starts_with("/api/") {
            assert_eq!(acao(&r).as_deref(), Some(SHOP), "{path}");
            let methods = r.headers()["access-control-allow-methods"].to_str().unwrap().to_string();
            assert!(methods.contains(method), "{path}: {methods}");
            let headers = r.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
            assert!(headers.contains("authorization") && headers.contains("content-type"));
        }
    }
    // unknown paths are not routes
    assert_eq!(preflight(&s, "/api/nope", SHOP, "GET").await.status(), 404);
    s.shutdown().await;
}

#[tokio::test]
async fn empty_allow_list_echoes_any_origin() {
    let s = TestServer::start().await;
    s.demo().await;
    let r = s.http.get(s.url("/api/widget-settings/123")).header("Origin", EVIL).send().await.unwrap();
    assert_eq!(acao(&r).as_deref(), Some(EVIL));
    assert!(r.headers().get_all("vary").iter().any(|v| v.to_str().unwrap().contains("Origin")));
    no_credentials_with_wildcard(&r);
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("Origin", SHOP)
        .json(&json!({"message": "Do you ship abroad?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(acao(&r).as_deref(), Some(SHOP));
    // without an Origin there is nothing to allow
    let r = s.get("/api/widget-settings/123", None).await;
    assert_eq!(acao(&r), None);
    s.shutdown().await;
}

#[tokio::test]
async fn allow_list_is_enforced_per_company() {
    let s = TestServer::start().await;
    let t = s.tenant("shop", &[SHOP]).await;
    // preflight
    assert_eq!(acao(&preflight(&s, "/api/partner-chat/shop", SHOP, "POST").await).as_deref(), Some(SHOP));
    let r = preflight(&s, "/api/partner-chat/shop", EVIL, "POST").await;
    assert_eq!(r.status(), 204);
    assert_eq!(acao(&r), None);
    assert!(r.headers().get("access-control-allow-methods").is_none());
    // actual requests: settings, partner chat, errors too
    for origin in [SHOP, EVIL] {
        let want = (origin == SHOP).then(|| origin.to_string());
        let r = s.http.get(s.url("/api/widget-settings/shop")).header("Origin", origin).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(acao(&r), want, "GET settings from {origin}");
        let r = s
            .http
            .post(s.url("/api/partner-chat/shop"))
            .header("Origin", origin)
            .json(&json!({"message": "hello there"}))
            .send()
            .await
            .unwrap();
        assert_eq!(acao(&r), want, "partner chat from {origin}");
        let r = s
            .http
            .post(s.url("/api/partner-chat/shop"))
            .header("Origin", origin)
            .json(&json!({"nomessage": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(acao(&r), want, "an error from {origin}");
        let r = s
            .http
            .post(s.url("/api/widget-settings/shop"))
            .header("Origin", origin)
            .json(&json!({"primary_color": "#000000"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(acao(&r), want, "401 from {origin}");
        // the key routes: decided by the key's company
        let r = s
            .http
            .post(s.url("/api/chatbot/session"))
            .header("Origin", origin)
            .bearer_auth(&t.pk)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(acao(&r), want, "session from {origin}");
        no_credentials_with_wildcard(&r);
    }
    // the allow-list is read fresh on every request: widen it and EVIL is allowed at once
    let r = s.post("/api/widget-settings/shop", Some(&t.sk), &json!({"allowed_origins": [SHOP, EVIL]})).await;
    assert_eq!(r.status(), 200);
    let r = s.http.get(s.url("/api/widget-settings/shop")).header("Origin", EVIL).send().await.unwrap();
    assert_eq!(acao(&r).as_deref(), Some(EVIL));
    // unknown company: no CORS header
    let r = s.http.get(s.url("/api/widget-settings/nobody")).header("Origin", SHOP).send().await.unwrap();
    assert_eq!((r.status().as_u16(), acao(&r)), (404, None));
    s.shutdown().await;
}

#[tokio::test]
async fn widget_script_is_public() {
    let s = TestServer::start().await;
    let r = s.http.get(s.url("/widget.js")).header("Origin", EVIL).send().await.unwrap();
    assert_eq!(acao(&r).as_deref(), Some("*"));
    assert!(r.headers().get("access-control-allow-credentials").is_none());
    s.shutdown().await;
}
