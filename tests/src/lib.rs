//! Helpers for the black-box tests in `tests/tests/`: start the real server on an ephemeral
//! port over real TCP, with a temporary SQLite database, the local index and the offline
//! defaults, and seed companies and keys through the core.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;

use chatbot_core::auth::KeyKind;
use chatbot_core::llm::ChatModel;
use chatbot_core::{Chatbot, Config, NewCompany};
use chatbot_server::{RunningServer, ServerConfig};
use serde_json::Value;

pub mod browser;
pub mod load;

/// The operator credential the test servers accept on the `/internal` routes.
pub const ADMIN_TOKEN: &str = "test-operator-token-0123456789abcdef";

/// A company created for a test, with its keys.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    /// Publishable key (`pk_...`).
    pub pk: String,
    /// Secret key (`sk_...`).
    pub sk: String,
}

/// A server on 127.0.0.1 with its own data directory.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub bot: Chatbot,
    pub http: reqwest::Client,
    running: Option<RunningServer>,
    dir: Arc<tempfile::TempDir>,
}

impl TestServer {
    /// Start with the offline defaults and [`ADMIN_TOKEN`].
    pub async fn start() -> Self {
        Self::start_with(ServerConfig::default()).await
    }

    /// Start with the given server options (the bind address is replaced by an ephemeral port).
    pub async fn start_with(server: ServerConfig) -> Self {
        Self::start_in(Arc::new(tempfile::tempdir().unwrap()), server).await
    }

    /// A second instance on this one's database and data directory (its own connections and
    /// caches, as a second process behind a load balancer has).
    pub async fn sibling(&self) -> Self {
        Self::start_in(self.dir.clone(), ServerConfig::default()).await
    }

    /// Start with the offline defaults but `model` as the chat model (a test double of the
    /// model seam).
    pub async fn start_with_model(model: Arc<dyn ChatModel>) -> Self {
        Self::start_built(Arc::new(tempfile::tempdir().unwrap()), ServerConfig::default(), Some(model)).await
    }

    async fn start_in(dir: Arc<tempfile::TempDir>, server: ServerConfig) -> Self {
        Self::start_built(dir, server, None).await
    }

    async fn start_built(
        dir: Arc<tempfile::TempDir>,
        server: ServerConfig,
        model: Option<Arc<dyn ChatModel>>,
    ) -> Self {
        let mut config = Config::offline(dir.path().to_path_buf());
        config.admin_token = Some(ADMIN_TOKEN.into());
        let mut builder = Chatbot::builder().config(config);
        if let Some(m) = model {
            builder = builder.model(m);
        }
        let bot = builder.build().await.expect("the offline components start");
        Self::serve(bot, dir, server).await
    }

    /// Serve a bot built by the test (other providers, another database), with default server
    /// options; `dir` is kept as long as the server lives. The bot should accept [`ADMIN_TOKEN`].
    pub async fn start_bot(bot: Chatbot, dir: tempfile::TempDir) -> Self {
        Self::serve(bot, Arc::new(dir), ServerConfig::default()).await
    }

    async fn serve(bot: Chatbot, dir: Arc<tempfile::TempDir>, server: ServerConfig) -> Self {
        let running =
            chatbot_server::bind(bot.clone(), server.with_bind(([127, 0, 0, 1], 0).into())).await.unwrap();
        let addr = running.local_addr();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Self { addr, base: format!("http://{addr}"), bot, http, running: Some(running), dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Create a company with both keys; `origins` becomes its CORS allow-list.
    pub async fn tenant(&self, id: &str, origins: &[&str]) -> Tenant {
        self.bot
            .create_company(NewCompany {
                company_id: id.into(),
                company_name: format!("Company {id}"),
                email: format!("owner@{id}.example"),
                allowed_origins: origins.iter().map(|o| (*o).to_string()).collect(),
                ..NewCompany::default()
            })
            .await
            .unwrap();
        let ctx = self.bot.operator_context(id).await.unwrap();
        let pk = self.bot.create_key(&ctx, KeyKind::Publishable).await.unwrap().token;
        let sk = self.bot.create_key(&ctx, KeyKind::Secret).await.unwrap().token;
        Tenant { id: id.into(), pk, sk }
    }

    /// Seed the demo company `123` (with its knowledge).
    pub async fn demo(&self) -> Tenant {
        let seed = self.bot.seed_demo().await.unwrap();
        Tenant {
            id: seed.company_id,
            pk: seed.publishable_key.unwrap_or_default(),
            sk: seed.secret_key.unwrap_or_default(),
        }
    }

    /// Deactivate a company.
    pub async fn deactivate(&self, id: &str) {
        let ctx = self.bot.operator_context(id).await.unwrap();
        self.bot.set_company_active(&ctx, false).await.unwrap();
    }

    /// `POST` JSON, optionally with a bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut r = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    /// `GET`, optionally with a bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = self.http.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    /// Open a session with a publishable key and return its id.
    pub async fn session(&self, pk: &str) -> String {
        let r = self.post("/api/chatbot/session", Some(pk), &serde_json::json!({})).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        v["session_id"].as_str().unwrap().to_string()
    }

    /// Stop gracefully.
    pub async fn shutdown(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}

/// Percent-encode one path segment (everything but RFC 3986's unreserved characters), as a
/// client puts an id that holds spaces, `/` or non-ASCII into a URL.
pub fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A server-sent-events body as (event, data) pairs; `data` lines of one event are joined and
/// read as JSON (`null` when they are not JSON); an event without a name is `message`.
pub fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let mut ev = "message".to_string();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    ev = e.to_string();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            (ev, serde_json::from_str(&data).unwrap_or(Value::Null))
        })
        .collect()
}

/// Status and parsed JSON body (Null when the body is not JSON).
pub async fn status_json(r: reqwest::Response) -> (u16, Value) {
    let s = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Assert the one error shape and return the code.
pub fn error_code(v: &Value) -> String {
    let e = &v["error"];
    assert!(e.is_object(), "expected {{\"error\":{{...}}}}, got {v}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "error without a message: {v}");
    e["code"].as_str().expect("error.code").to_string()
}
