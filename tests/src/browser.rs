//! A real headless browser for the widget tests: Debian's chromium driven through chromedriver's
//! WebDriver HTTP API on 127.0.0.1 (with reqwest), a few Chrome DevTools commands through
//! chromedriver (`goog/cdp/execute`: locale and viewport emulation), and a tiny static page server
//! for host pages on another origin (hostile CSS, a strict Content-Security-Policy).
//!
//! Enabled by `CHATBOT_TEST_CHROMIUM` (the chromium binary); `CHATBOT_TEST_CHROMEDRIVER` names
//! chromedriver (default `/usr/bin/chromedriver`, else `chromedriver` on PATH).

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Generous overall limit for anything the browser has to do; polling stops as soon as it is done.
pub const PATIENCE: Duration = Duration::from_secs(90);
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The chromium binary when the browser lane is enabled.
pub fn chromium() -> Option<String> {
    std::env::var("CHATBOT_TEST_CHROMIUM").ok().filter(|v| !v.trim().is_empty())
}

/// Where screenshots go: `target/browser-artifacts/` of the workspace (or `CARGO_TARGET_DIR`).
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One chromedriver process with one browser session.
pub struct Browser {
    http: reqwest::Client,
    driver: String,
    session: String,
    child: Child,
    closed: bool,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start(chromium: &str) -> Self {
        let chromedriver = std::env::var("CHATBOT_TEST_CHROMEDRIVER")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| {
                if std::path::Path::new("/usr/bin/chromedriver").exists() {
                    "/usr/bin/chromedriver".into()
                } else {
                    "chromedriver".into()
                }
            });
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {chromedriver}: {e}"));
        let driver = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let deadline = Instant::now() + PATIENCE;
        loop {
            let ready = match http.get(format!("{driver}/status")).send().await {
                Ok(r) => r.json::<Value>().await.ok().is_some_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready on {driver}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1200,900",
            "--lang=en-US",
        ]
        .iter()
        .map(|a| (*a).to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "goog:chromeOptions": {"binary": chromium, "args": args}
        }}});
        let r: Value =
            http.post(format!("{driver}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver did not open a session: {r}"))
            .to_string();
        Self { http, driver, session, child, closed: false, _profile: profile }
    }

    /// One WebDriver command; returns its `value`, panics on a WebDriver error.
    pub async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver, self.session);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        let value = v["value"].clone();
        if let Some(e) = value.get("error") {
            panic!("WebDriver {method} {path}: {e}: {}", value["message"]);
        }
        value
    }

    /// A Chrome DevTools Protocol command (chromedriver's `goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd(reqwest::Method::POST, "/goog/cdp/execute", Some(json!({ "cmd": cmd, "params": params })))
            .await
    }

    /// Close the session: chromedriver quits chromium.
    pub async fn quit(mut self) {
        self.cmd(reqwest::Method::DELETE, "", None).await;
        self.closed = true;
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn reload(&self) {
        self.cmd(reqwest::Method::POST, "/refresh", Some(json!({}))).await;
    }

    /// Run a synchronous script (a function body; `arguments` available) and return its result.
    pub async fn js(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": [] }))).await
    }

    /// Run an async script: its last argument is the callback that returns the result.
    pub async fn js_async(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/async", Some(json!({ "script": script, "args": [] }))).await
    }

    /// Poll `script` until it returns something other than null/false/""; return that.
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let v = self.js(script).await;
            if !(v.is_null() || v == false || v == "") {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what} (last: {v})");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element a script returns (it may live in a shadow root), as a WebDriver element id.
    pub async fn element(&self, script: &str) -> String {
        let v = self.js(script).await;
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element from {script}: {v}")).to_string()
    }

    /// A real (WebDriver) click on the element `script` returns: the browser dispatches the mouse
    /// events at its centre, so an element hidden or covered by the page is not clicked.
    pub async fn click(&self, script: &str) {
        let id = self.element(script).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// Real key presses into the element `script` returns (`\u{E00C}` is Escape).
    pub async fn type_into(&self, script: &str, text: &str) {
        let id = self.element(script).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
    }

    /// Empty an input (WebDriver's element clear).
    pub async fn clear(&self, script: &str) {
        let id = self.element(script).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await;
    }

    /// Real key presses to whatever has the focus.
    pub async fn keys(&self, text: &str) {
        let actions: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.cmd(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "kbd", "actions": actions}]})),
        )
        .await;
        self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Save a PNG screenshot of the viewport under [`artifacts_dir`]; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let path = artifacts_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    /// Stop chromedriver; after a panic, first close the session (so chromedriver quits
    /// chromium) with a blocking raw request.
    fn drop(&mut self) {
        let host = self.driver.trim_start_matches("http://").to_string();
        if !self.closed
            && let Ok(mut tcp) = std::net::TcpStream::connect(&host)
        {
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(20)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            if tcp.write_all(req.as_bytes()).is_ok() {
                // one read: chromedriver answers once chromium is gone
                let mut buf = [0u8; 1024];
                let _ = tcp.read(&mut buf);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One page of [`Pages`]: its content type, body and extra headers.
#[derive(Clone)]
pub struct Page {
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

/// A static page server on 127.0.0.1 (another origin than the chatbot server): the partner's site.
/// Hand-written (a loop over a TcpListener, one request per connection) because the tests need
/// nothing more than fixed pages with chosen headers.
pub struct Pages {
    pub base: String,
    pages: Arc<Mutex<HashMap<String, Page>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Pages {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let pages: Arc<Mutex<HashMap<String, Page>>> = Arc::default();
        let served = pages.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let served = served.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tcp.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/");
                    let page = served.lock().unwrap().get(path).cloned();
                    let (status, page) = match page {
                        Some(p) => ("200 OK", p),
                        None => (
                            "404 Not Found",
                            Page { content_type: "text/plain", body: "not found".into(), headers: vec![] },
                        ),
                    };
                    let mut out = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
                        page.content_type,
                        page.body.len()
                    );
                    for (k, v) in &page.headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    out.push_str(&page.body);
                    let _ = tcp.write_all(out.as_bytes()).await;
                    let _ = tcp.shutdown().await;
                });
            }
        });
        Self { base, pages, task }
    }

    /// Serve `body` at `path`.
    pub fn put(
        &self,
        path: &str,
        content_type: &'static str,
        body: impl Into<String>,
        headers: &[(&str, &str)],
    ) {
        let headers = headers.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        self.pages.lock().unwrap().insert(path.into(), Page { content_type, body: body.into(), headers });
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        self.task.abort();
    }
}
