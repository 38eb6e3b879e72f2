//! The routes nested in an axum application (`Router::nest_service`) behave as under
//! `chatbot serve`: prefix stripped, the app's own routes untouched, CORS, body limits, errors,
//! server-sent events and the per-IP client address.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::routing::get;
use chatbot_core::{Chatbot, Config};
use chatbot_server::{PeerAddr, ServerConfig};
use serde_json::{Value, json};

async fn start() -> (String, Chatbot, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let bot = Chatbot::from_config(Config::offline(dir.path().to_path_buf())).await.unwrap();
    bot.seed_demo().await.unwrap();
    let app = axum::Router::new()
        .route("/", get(|| async { "the host app" }))
        .nest_service("/chat", chatbot_server::service(bot.clone(), ServerConfig::default()))
        // the client's address for the per-IP limits
        .layer(axum::middleware::map_request(
            |ConnectInfo(peer): ConnectInfo<SocketAddr>, mut req: Request| async move {
                req.extensions_mut().insert(PeerAddr(peer));
                req
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    (format!("http://{addr}"), bot, dir)
}

#[tokio::test]
async fn nested_under_axum() {
    let (base, bot, _dir) = start().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = |p: &str| format!("{base}{p}");

    // the host's own route and the nested ones, prefix stripped
    assert_eq!(http.get(url("/")).send().await.unwrap().text().await.unwrap(), "the host app");
    let r = http.get(url("/chat/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = http.get(url("/chat/api/widget-settings/123")).header("origin", "https://shop.example");
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://shop.example");
    let v: Value = r.json().await.unwrap();
    assert!(v["primary_color"].is_string(), "{v}");

    // preflight, errors in the one shape, 405, 413
    let r = http
        .request(reqwest::Method::OPTIONS, url("/chat/api/partner-chat/123"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.headers().contains_key("access-control-allow-methods"));
    let r = http.get(url("/chat/api/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "not_found");
    assert_eq!(http.put(url("/chat/api/widget-settings/123")).send().await.unwrap().status(), 405);
    let big = json!({"message": "a".repeat(200_000)});
    assert_eq!(http.post(url("/chat/api/partner-chat/123")).json(&big).send().await.unwrap().status(), 413);
    let r = http.post(url("/chat/api/partner-chat/123")).json(&json!({"message": 5})).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "message");

    // a chat turn, as JSON and as server-sent events
    let body = json!({"message": "Do you ship abroad?", "user_id": "axum visitor"});
    let r = http.post(url("/chat/api/partner-chat/123")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!((v["company_id"].as_str(), v["user_id"].as_str()), (Some("123"), Some("axum visitor")));
    let r = http
        .post(url("/chat/api/partner-chat/123"))
        .header("accept", "text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let text = r.text().await.unwrap();
    assert!(text.contains("event: done"), "{text}");

    // metrics count the nested requests by route template
    let m = http.get(url("/chat/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(m.contains("route=\"/api/partner-chat/{companyId}\""), "{m}");

    // the per-IP limit sees the client's address (PeerAddr), whatever the user id
    let ctx = bot.operator_context("123").await.unwrap();
    let mut ai = ctx.company().ai_config.clone();
    ai.rate_limit_per_ip = Some(1);
    bot.set_ai_config(&ctx, &ai).await.unwrap();
    let mut statuses = Vec::new();
    for i in 0..5 {
        let body = json!({"message": "Hello", "user_id": format!("visitor {i}")});
        let r = http.post(url("/chat/api/partner-chat/123")).json(&body).send().await.unwrap();
        statuses.push(r.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}
