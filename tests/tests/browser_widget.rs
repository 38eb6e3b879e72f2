//! The embeddable widget in a real headless browser (Debian's chromium, driven through
//! chromedriver's WebDriver HTTP API on 127.0.0.1 with reqwest): it renders on `/demo` with the
//! company's settings, streams a knowledge answer, the conversation is stored, a settings change
//! shows after a reload, and a page from a disallowed origin gets no CORS access.
//!
//! Enabled by `CHATBOT_TEST_CHROMIUM` (the chromium binary); `CHATBOT_TEST_CHROMEDRIVER` names
//! chromedriver (default `/usr/bin/chromedriver`, else `chromedriver` on PATH).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chatbot_core::Role;
use chatbot_tests::TestServer;
use serde_json::{Value, json};

/// Generous overall limit for anything the browser has to do; polling stops as soon as it is done.
const PATIENCE: Duration = Duration::from_secs(90);
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const QUESTION: &str = "What are your opening hours?";

/// One chromedriver process with one browser session.
struct Browser {
    http: reqwest::Client,
    driver: String,
    session: String,
    child: Child,
    closed: bool,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(chromium: &str) -> Self {
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
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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

    /// Close the session: chromedriver quits chromium.
    async fn quit(mut self) {
        self.cmd(reqwest::Method::DELETE, "", None).await;
        self.closed = true;
    }

    async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    async fn reload(&self) {
        self.cmd(reqwest::Method::POST, "/refresh", Some(json!({}))).await;
    }

    /// Run a synchronous script (a function body; `arguments` available) and return its result.
    async fn js(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": [] }))).await
    }

    /// Run an async script: its last argument is the callback that returns the result.
    async fn js_async(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/async", Some(json!({ "script": script, "args": [] }))).await
    }

    /// Poll `script` until it returns something other than null/false/""; return that.
    async fn wait_for(&self, what: &str, script: &str) -> Value {
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

    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css})))
            .await;
        v[ELEMENT].as_str().unwrap().to_string()
    }

    /// A real (WebDriver) click: the browser dispatches the mouse events.
    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// Real key presses into an element.
    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
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

/// `#rrggbb` as the browser's computed `rgb(r, g, b)`.
fn rgb(hex: &str) -> String {
    let h = hex.trim_start_matches('#');
    let c = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).unwrap();
    format!("rgb({}, {}, {})", c(0), c(2), c(4))
}

/// The widget's parts, read from the live DOM (computed styles, visibility, texts).
const STATE: &str = r#"
const root = document.querySelector('[data-chatbot-widget="123"]');
if (!root) return null;
const bubble = root.querySelector('button[aria-label^="Open chat"]');
const input = root.querySelector('form input');
const panel = input.closest('form').parentElement;
const header = panel.firstElementChild;
const log = root.querySelector('[role="log"]');
const send = root.querySelector('form button[type="submit"]');
return {
  widgets: document.querySelectorAll('[data-chatbot-widget]').length,
  bubble_bg: getComputedStyle(bubble).backgroundColor,
  bubble_label: bubble.getAttribute('aria-label'),
  header_bg: getComputedStyle(header).backgroundColor,
  header_text: header.textContent,
  send_bg: getComputedStyle(send).backgroundColor,
  send_disabled: send.disabled,
  panel_visible: panel.getBoundingClientRect().height > 0 && getComputedStyle(panel).display !== 'none',
  placeholder: input.placeholder,
  focused: document.activeElement === input,
  lines: Array.from(log.children).map(b => ({
    text: b.textContent,
    mine: b.style.alignSelf === 'flex-end',
    visible: b.getBoundingClientRect().height > 0,
  })),
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_works_in_a_real_browser() {
    let Some(chromium) = std::env::var("CHATBOT_TEST_CHROMIUM").ok().filter(|v| !v.trim().is_empty()) else {
        println!("skipped: CHATBOT_TEST_CHROMIUM not set");
        return;
    };
    let started = Instant::now();
    let s = TestServer::start().await;
    let t = s.demo().await;
    let ctx = s.bot.operator_context("123").await.unwrap();
    let settings = s.bot.widget_settings(&ctx).await.unwrap();
    let browser = Browser::start(&chromium).await;
    println!("chromedriver + chromium session up after {:.1}s", started.elapsed().as_secs_f64());

    // ---- renders on /demo with the company's settings, closed until the bubble is clicked
    browser.goto(&s.url("/demo")).await;
    let st = browser.wait_for("the widget to render on /demo", STATE).await;
    assert_eq!(st["widgets"], 1, "{st}");
    assert_eq!(st["bubble_bg"], rgb(&settings.primary_color), "{st}");
    assert_eq!(st["bubble_label"], format!("Open chat with {}", settings.company_name), "{st}");
    assert_eq!(st["panel_visible"], false, "the panel starts closed (auto_open is off): {st}");
    browser.click(r#"[data-chatbot-widget="123"] button[aria-label^="Open chat"]"#).await;
    let st = browser.wait_for("the panel to open", STATE).await;
    assert_eq!(st["panel_visible"], true, "{st}");
    assert_eq!(st["header_bg"], rgb(&settings.primary_color), "{st}");
    assert_eq!(st["send_bg"], rgb(&settings.primary_color), "{st}");
    assert!(st["header_text"].as_str().unwrap().contains(&settings.company_name), "{st}");
    assert_eq!(st["placeholder"], settings.placeholder_text.as_str(), "{st}");
    assert_eq!(st["focused"], true, "opening focuses the input: {st}");
    let lines = st["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{st}");
    assert_eq!(lines[0]["text"], settings.welcome_message.as_str(), "{st}");
    assert_eq!(lines[0]["visible"], true, "{st}");

    // ---- type a question with real key presses, send it, watch the reply arrive in pieces
    browser
        .js(
            r#"
        window.__seen = []; window.__types = [];
        // Record every text the widget puts into a bot bubble (a MutationObserver would miss
        // some: Chromium updates a lone text child in place without a record).
        const isReply = n => n && n.nodeType === Node.ELEMENT_NODE && n.style.alignSelf === 'flex-start';
        const tc = Object.getOwnPropertyDescriptor(Node.prototype, 'textContent');
        Object.defineProperty(Node.prototype, 'textContent', {
          configurable: true, enumerable: tc.enumerable, get: tc.get,
          set(v) { if (isReply(this)) window.__seen.push(String(v)); tc.set.call(this, v); },
        });
        const f = window.fetch;
        window.fetch = function (u, o) {
          return f.apply(this, arguments).then(r => {
            if (String(u).indexOf('/api/partner-chat/') >= 0) window.__types.push(r.headers.get('content-type'));
            return r;
          });
        };
        return true;"#,
        )
        .await;
    browser.type_into(r#"[data-chatbot-widget="123"] form input"#, QUESTION).await;
    browser.click(r#"[data-chatbot-widget="123"] form button[type="submit"]"#).await;
    let st = browser
        .wait_for(
            "the streamed reply to finish",
            &format!(
                "const st = (function () {{ {STATE} }})();
                 return st && st.lines.length === 3 && !st.send_disabled && st.lines[2].text !== '\u{2026}' ? st : null;"
            ),
        )
        .await;
    let lines = st["lines"].as_array().unwrap();
    assert_eq!(lines[1]["text"], QUESTION, "{st}");
    assert_eq!(lines[1]["mine"], true, "{st}");
    let reply = lines[2]["text"].as_str().unwrap().to_string();
    assert!(reply.contains("9:00") || reply.contains("Monday"), "the reply uses the demo knowledge: {reply}");
    assert_eq!(lines[2]["mine"], false, "{st}");
    assert_eq!(st["placeholder"], settings.placeholder_text.as_str());
    let types = browser.js("return window.__types;").await;
    assert!(
        types[0].as_str().is_some_and(|t| t.starts_with("text/event-stream")),
        "the widget asked for and got a stream: {types}"
    );
    // The bubble went: typing indicator, cleared at the first delta, grown delta by delta (each
    // text a longer prefix of the reply), then the final message; the JSON fallback would set
    // the reply at once. (The offline engine sends its answer as one delta; a real model many.)
    let seen: Vec<String> = serde_json::from_value(browser.js("return window.__seen;").await).unwrap();
    assert!(seen.len() >= 4, "{seen:?}");
    assert_eq!(seen[0], "\u{2026}", "the typing indicator first: {seen:?}");
    assert_eq!(seen[1], "", "cleared at the first delta: {seen:?}");
    let grown = &seen[2..seen.len() - 1];
    assert!(grown.iter().all(|p| !p.is_empty() && reply.starts_with(p.as_str())), "{seen:?}");
    assert!(grown.windows(2).all(|w| w[0].len() < w[1].len()), "{seen:?}");
    assert_eq!(grown.last().unwrap(), &reply, "the deltas add up to the reply: {seen:?}");
    assert_eq!(seen.last().unwrap(), &reply, "{seen:?}");

    // ---- the conversation is stored, under the browser's anonymous user id
    let uid = browser.js("return localStorage.getItem('chatbot_user_123');").await;
    let uid = uid.as_str().expect("the widget keeps an anonymous user id").to_string();
    assert!(uid.starts_with("anon_"), "{uid}");
    let convs = s.bot.list_conversations(&ctx, chatbot_core::Page::default()).await.unwrap();
    let conv = convs
        .iter()
        .find(|c| c.user_id == uid)
        .unwrap_or_else(|| panic!("no conversation of {uid}: {convs:?}"));
    let msgs: Vec<(Role, &str)> = conv.messages.iter().map(|m| (m.role, m.content.as_str())).collect();
    assert_eq!(msgs, vec![(Role::User, QUESTION), (Role::Assistant, reply.as_str())]);

    println!("rendered, chatted and checked the store after {:.1}s", started.elapsed().as_secs_f64());

    // ---- a settings change through the API (secret key) shows after a reload
    let patch = json!({
        "primary_color": "#aa3300",
        "welcome_message": "Welcome back, browser!",
        "placeholder_text": "Ask the Demo Shop anything"
    });
    let r = s.post("/api/widget-settings/123", Some(&t.sk), &patch).await;
    assert_eq!(r.status(), 200);
    browser.reload().await;
    let st = browser
        .wait_for(
            "the widget with the new settings",
            &format!("const st = (function () {{ {STATE} }})(); return st && st.bubble_bg === 'rgb(170, 51, 0)' ? st : null;"),
        )
        .await;
    assert_eq!(st["widgets"], 1, "{st}");
    assert_eq!(st["header_bg"], "rgb(170, 51, 0)", "{st}");
    assert_eq!(st["placeholder"], "Ask the Demo Shop anything", "{st}");
    let texts: Vec<&str> =
        st["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    // the new welcome, then this tab's history restored (sessionStorage)
    assert_eq!(texts, vec!["Welcome back, browser!", QUESTION, reply.as_str()], "{st}");
    let uid_after = browser.js("return localStorage.getItem('chatbot_user_123');").await;
    assert_eq!(uid_after, uid.as_str(), "the anonymous id survives a reload");

    // ---- the widget keeps the visitor token and sends it back: the conversation continues
    let token = browser.js("return localStorage.getItem('chatbot_token_123');").await;
    assert!(
        token.as_str().is_some_and(|t| t.starts_with("vt_")),
        "the widget keeps its visitor token: {token}"
    );
    const FOLLOW_UP: &str = "Do you ship abroad?";
    browser.click(r#"[data-chatbot-widget="123"] button[aria-label^="Open chat"]"#).await;
    browser
        .wait_for(
            "the panel to open again",
            &format!("const st = (function () {{ {STATE} }})(); return st && st.panel_visible ? st : null;"),
        )
        .await;
    browser.type_into(r#"[data-chatbot-widget="123"] form input"#, FOLLOW_UP).await;
    browser.click(r#"[data-chatbot-widget="123"] form button[type="submit"]"#).await;
    browser
        .wait_for(
            "the second reply",
            &format!(
                "const st = (function () {{ {STATE} }})();
                 return st && st.lines.length === 5 && !st.send_disabled && st.lines[4].text !== '\u{2026}' ? st : null;"
            ),
        )
        .await;
    let convs = s.bot.list_conversations(&ctx, chatbot_core::Page::default()).await.unwrap();
    let mine: Vec<_> = convs.iter().filter(|c| c.user_id == uid).collect();
    assert_eq!(mine.len(), 1, "one conversation, continued by the token: {convs:?}");
    let users: Vec<&str> =
        mine[0].messages.iter().filter(|m| m.role == Role::User).map(|m| m.content.as_str()).collect();
    assert_eq!(users, vec![QUESTION, FOLLOW_UP]);

    // ---- CORS: a page on another origin (localhost vs 127.0.0.1) embeds the widget
    let other = format!("http://localhost:{}", s.addr.port());
    let api = s.base.clone();
    let embed = format!(
        r#"
        window.__warn = [];
        const w = console.warn; console.warn = function (m) {{ window.__warn.push(String(m)); w.apply(console, arguments); }};
        const sc = document.createElement('script');
        sc.src = '{api}/widget.js'; sc.setAttribute('data-company', '123'); sc.setAttribute('data-api-base', '{api}');
        sc.onload = () => {{ window.__loaded = true; }};
        document.body.appendChild(sc);
        return true;"#
    );
    let probe = format!(
        "const done = arguments[arguments.length - 1];
         fetch('{api}/api/widget-settings/123').then(r => done('ok ' + r.status), e => done('blocked ' + e.name));"
    );
    // disallowed: only the shop may embed
    let r = s
        .post("/api/widget-settings/123", Some(&t.sk), &json!({"allowed_origins": ["https://shop.example"]}))
        .await;
    assert_eq!(r.status(), 200);
    browser.goto(&format!("{other}/healthz")).await;
    assert_eq!(browser.js("return location.origin;").await, other.as_str());
    browser.js(&embed).await;
    let warn = browser
        .wait_for(
            "the widget to give up on its settings",
            "return window.__loaded && window.__warn.find(m => m.indexOf('could not load settings') >= 0);",
        )
        .await;
    assert!(warn.as_str().unwrap().contains("123"), "{warn}");
    assert_eq!(browser.js("return document.querySelectorAll('[data-chatbot-widget]').length;").await, 0);
    assert_eq!(browser.js_async(&probe).await, "blocked TypeError", "a disallowed origin reads nothing");
    // allowed: the same page now gets the widget (so the refusal above was CORS, not the setup)
    let r = s
        .post(
            "/api/widget-settings/123",
            Some(&t.sk),
            &json!({"allowed_origins": ["https://shop.example", other]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    browser.goto(&format!("{other}/healthz")).await;
    browser.js(&embed).await;
    browser
        .wait_for(
            "the widget on an allowed origin",
            "return document.querySelectorAll('[data-chatbot-widget]').length === 1;",
        )
        .await;
    assert_eq!(browser.js_async(&probe).await, "ok 200");

    browser.quit().await;
    s.shutdown().await;
    println!("browser widget test took {:.1}s", started.elapsed().as_secs_f64());
}
