//! Three `chatbot serve` processes (release build) on one PostgreSQL database behave as one
//! server: `chatbot db migrate` run by all three at once, one per-IP limit for the cluster,
//! settings written through one instance served by the others, 200 visitors x 5 turns spread
//! round-robin ending in exactly one conversation and one lead each with every acknowledged
//! message in order, each ready lead's webhook received once, a rolling restart (two instances
//! stopped with SIGTERM and replaced, one at a time, while visitors chat) that loses and
//! doubles nothing, and one instance killed with SIGKILL mid-run without losing anything
//! acknowledged.
//!
//! Needs `CHATBOT_TEST_CLUSTER_BIN` (the release `chatbot` binary; CI builds it and sets it) and
//! `CHATBOT_TEST_POSTGRES_URL` (a database whose user may create databases: the test makes a
//! fresh one and drops it). Without them it says so and passes without running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatbot_core::store::PostgresStore;
use serde_json::{Value, json};

const ADMIN: &str = "cluster-operator-token-0123456789abcdef";
const COMPANY: &str = "cluster";
const VISITORS: usize = 200;
const TURNS: usize = 5;

struct Instance {
    child: Option<Child>,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn command(bin: &PathBuf, url: &str, dir: &std::path::Path) -> Command {
    let mut c = Command::new(bin);
    c.env("DATABASE_URL", url)
        .env("CHATBOT_DATA_DIR", dir)
        .env("CHATBOT_ADMIN_TOKEN", ADMIN)
        .env("CHATBOT_TRUSTED_PROXIES", "127.0.0.1")
        .env("CHATBOT_ALLOW_HTTP_WEBHOOKS", "1")
        .env("CHATBOT_ALLOW_PRIVATE_WEBHOOKS", "1")
        .env("CHATBOT_AUTH_FAILURES_PER_MINUTE", "100000")
        // A lead's webhook left unsent by the killed instance is sent by a live one after 10 s
        // (longer than a delivery takes on a loaded CI machine: a live sender is never doubled).
        .env("CHATBOT_WEBHOOK_RECOVERY_SECS", "10")
        .env("RUST_LOG", "warn")
        .env_remove("CHATBOT_EMBEDDER")
        .env_remove("CHATBOT_MODEL_PROVIDER")
        .env_remove("CHATBOT_VECTOR_STORE");
    c
}

fn cli(bin: &PathBuf, url: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = command(bin, url, dir.path()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "chatbot {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn start(bin: &PathBuf, url: &str, http: &reqwest::Client) -> Instance {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = command(bin, url, dir.path())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "instance on {port} never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Instance { child: Some(child), base, _dir: dir }
}

/// A local webhook receiver: lead ids of every POST, in arrival order.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let s = s.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then the body by Content-Length.
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        let body: Value =
                            serde_json::from_slice(&buf[end + 4..end + 4 + len]).unwrap_or(Value::Null);
                        if let Some(id) = body["lead"]["lead_id"].as_str() {
                            s.lock().unwrap().push(id.to_string());
                        }
                        let _ = sock.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

/// A realistic name per visitor (20 first names x 10 last names).
fn name(v: usize) -> String {
    const FIRST: [&str; 20] = [
        "Anna", "Bram", "Chloe", "Daan", "Emma", "Finn", "Greta", "Hugo", "Iris", "Jonas", "Karin", "Lars",
        "Mila", "Noah", "Olga", "Pieter", "Quinn", "Rosa", "Sven", "Tess",
    ];
    const LAST: [&str; 10] =
        ["Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Peters", "Hendriks"];
    format!("{} {}", FIRST[v % 20], LAST[(v / 20) % 10])
}

/// One partner-chat request through `base`, from `ip` (X-Forwarded-For; the instances trust
/// 127.0.0.1 as a proxy).
async fn chat(
    http: &reqwest::Client,
    base: &str,
    ip: Ipv4Addr,
    message: &str,
    token: Option<&str>,
) -> reqwest::Result<reqwest::Response> {
    let mut body = json!({ "message": message });
    if let Some(t) = token {
        body["visitor_token"] = json!(t);
    }
    http.post(format!("{base}/api/partner-chat/{COMPANY}"))
        .header("x-forwarded-for", ip.to_string())
        .json(&body)
        .send()
        .await
}

/// An admin API read as JSON, with the operator token.
async fn admin_get(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).bearer_auth(ADMIN).send().await.unwrap().json().await.unwrap()
}

/// Every conversation of the company, through `base`'s admin API.
async fn all_conversations(http: &reqwest::Client, base: &str) -> Vec<Value> {
    let mut conversations = Vec::new();
    for offset in (0..).step_by(500) {
        let page = admin_get(
            http,
            &format!("{base}/api/companies/{COMPANY}/conversations?limit=500&offset={offset}"),
        )
        .await;
        let list = page["conversations"].as_array().unwrap().clone();
        let n = list.len();
        conversations.extend(list);
        if n < 500 {
            break;
        }
    }
    conversations
}

/// The visitor's messages of a conversation, in order.
fn user_messages(c: &Value) -> Vec<String> {
    c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect()
}

/// A rolling restart while visitors chat: each instance in `slots` in turn gets SIGTERM (it
/// must drain and exit cleanly) and is replaced by a new one, as an upgrade would. Visitors'
/// requests that fail to connect go to the next instance. Afterwards every visitor has exactly
/// one conversation holding exactly the acknowledged messages, in order: a graceful stop
/// answers what it accepted and refuses the rest, so nothing is lost and nothing is stored
/// twice.
async fn rolling_restart(
    bin: &PathBuf,
    url: &str,
    http: &reqwest::Client,
    nodes: &mut [Instance],
    slots: &[usize],
) {
    const ROLLING: usize = 60;
    let live: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(nodes.iter().map(|n| n.base.clone()).collect()));
    let acknowledged: Arc<Mutex<HashMap<usize, Vec<String>>>> = Arc::default();
    let retried = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for worker in 0..12 {
        let (http, live, acknowledged, retried) =
            (http.clone(), live.clone(), acknowledged.clone(), retried.clone());
        tasks.push(tokio::spawn(async move {
            for v in (worker..ROLLING).step_by(12) {
                let ip = Ipv4Addr::new(10, 9, 0, v as u8 + 1);
                let mut token: Option<String> = None;
                for turn in 0..TURNS {
                    let text =
                        format!("Rolling question {turn} of visitor {v}: how long does delivery take?");
                    let mut node = (v + turn) % 3;
                    let reply = loop {
                        let base = live.lock().unwrap()[node].clone();
                        match chat(&http, &base, ip, &text, token.as_deref()).await {
                            Ok(r) if r.status() == 200 => break r.json::<Value>().await.unwrap(),
                            Ok(r) => {
                                panic!("visitor {v} turn {turn}: {} {}", r.status(), r.text().await.unwrap())
                            }
                            // Not accepted (the instance is draining or gone): another one answers.
                            Err(_) => {}
                        }
                        retried.fetch_add(1, Ordering::Relaxed);
                        node = (node + 1) % 3;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    };
                    token = Some(reply["visitor_token"].as_str().unwrap().to_string());
                    acknowledged.lock().unwrap().entry(v).or_default().push(text);
                    // Paced, so that the restarts happen while visitors are mid-conversation.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    let acked = |acknowledged: &Arc<Mutex<HashMap<usize, Vec<String>>>>| {
        acknowledged.lock().unwrap().values().map(Vec::len).sum::<usize>()
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    for (i, &slot) in slots.iter().enumerate() {
        while acked(&acknowledged) < ROLLING * TURNS * (i + 1) / (slots.len() + 2) {
            assert!(Instant::now() < deadline, "the run stalled");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut child = nodes[slot].child.take().unwrap();
        let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        assert!(exit.success(), "instance {slot} did not stop cleanly on SIGTERM: {exit}");
        nodes[slot] = start(bin, url, http).await;
        live.lock().unwrap()[slot] = nodes[slot].base.clone();
    }
    for t in tasks {
        t.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let conversations = all_conversations(http, &nodes[0].base).await;
    for v in 0..ROLLING {
        let mine: Vec<&Value> = conversations
            .iter()
            .filter(|c| c["messages"][0]["content"].as_str() == Some(acknowledged[&v][0].as_str()))
            .collect();
        assert_eq!(mine.len(), 1, "visitor {v}: one conversation");
        assert_eq!(
            user_messages(mine[0]),
            acknowledged[&v],
            "visitor {v}: exactly the acknowledged messages"
        );
    }
    println!(
        "rolling restart: {} instances stopped with SIGTERM and replaced while {ROLLING} visitors chatted; \
         {} requests went to another instance; every acknowledged message stored once, in order",
        slots.len(),
        retried.load(Ordering::Relaxed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_behave_as_one() {
    let (Some(bin), Some(pg)) = (
        std::env::var_os("CHATBOT_TEST_CLUSTER_BIN").map(PathBuf::from),
        std::env::var("CHATBOT_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty()),
    ) else {
        eprintln!("SKIPPED: set CHATBOT_TEST_CLUSTER_BIN (release chatbot) and CHATBOT_TEST_POSTGRES_URL");
        return;
    };
    // A fresh database for the cluster.
    let admin = PostgresStore::connect(&pg).await.unwrap();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let db = format!("chatbot_cluster_{}_{}", std::process::id(), nanos % 1_000_000_000);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(admin.pool()).await.unwrap();
    let url = match pg.rfind('/') {
        Some(i) if !pg[i + 1..].contains('@') => format!("{}/{db}", &pg[..i]),
        _ => panic!("CHATBOT_TEST_POSTGRES_URL must name a database"),
    };

    // Three processes migrate the empty database at once (the advisory lock queues them).
    let migrations: Vec<_> = (0..3)
        .map(|_| {
            let (bin, url) = (bin.clone(), url.clone());
            std::thread::spawn(move || cli(&bin, &url, &["db", "migrate"]))
        })
        .collect();
    for m in migrations {
        m.join().unwrap();
    }
    let (hook_url, hooks) = webhook_receiver().await;
    cli(
        &bin,
        &url,
        &["company", "create", COMPANY, "--name", "Cluster Shop", "--email", "ops@cluster.example"],
    );
    cli(&bin, &url, &["company", "ai-config", COMPANY, "--webhook-url", &hook_url]);
    let sk = cli(&bin, &url, &["keys", "create", COMPANY, "--kind", "secret"]).trim().to_string();

    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(start(&bin, &url, &http).await);
    }
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();

    // --- one per-IP limit for the cluster: 300 quick requests from one address at 60/min ---
    let ip = Ipv4Addr::new(198, 51, 100, 7);
    let ok = Arc::new(AtomicUsize::new(0));
    let limited = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for worker in 0..10 {
        let (http, bases, ok, limited) = (http.clone(), bases.clone(), ok.clone(), limited.clone());
        tasks.push(tokio::spawn(async move {
            for i in (worker..300).step_by(10) {
                let r = chat(&http, &bases[i % 3], ip, "Hello", None).await.unwrap();
                match r.status().as_u16() {
                    200 => ok.fetch_add(1, Ordering::Relaxed),
                    429 => {
                        assert!(r.headers().contains_key("retry-after"), "429 without Retry-After");
                        limited.fetch_add(1, Ordering::Relaxed)
                    }
                    s => panic!("unexpected {s}: {}", r.text().await.unwrap_or_default()),
                };
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (ok, limited) = (ok.load(Ordering::Relaxed), limited.load(Ordering::Relaxed));
    println!("per-IP limit over 3 instances: {ok} answered, {limited} refused with 429 (300 sent, 60/min)");
    assert!((60..=75).contains(&ok), "{ok} answered: the limit must hold for the cluster, not per instance");
    assert_eq!(ok + limited, 300);

    // --- settings written through one instance are served by the others ---
    let mut first_try = 0;
    for round in 0..10 {
        let text = format!("Welcome, round {round}");
        let w = http
            .post(format!("{}/api/widget-settings/{COMPANY}", bases[round % 3]))
            .bearer_auth(&sk)
            .json(&json!({ "welcome_message": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(w.status(), 200, "{}", w.text().await.unwrap_or_default());
        for (j, base) in bases.iter().enumerate().filter(|(j, _)| *j != round % 3) {
            let deadline = Instant::now() + Duration::from_secs(2);
            let mut tries = 0;
            loop {
                tries += 1;
                let s: Value = http
                    .get(format!("{base}/api/widget-settings/{COMPANY}"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if s["welcome_message"] == json!(text) {
                    break;
                }
                assert!(Instant::now() < deadline, "instance {j} never served round {round}'s settings");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            first_try += usize::from(tries == 1);
        }
    }
    println!("settings: {first_try}/20 reads on another instance saw the write on the next request");

    // --- a rolling restart: instances 0 and 1 stopped with SIGTERM and replaced, one at a time ---
    rolling_restart(&bin, &url, &http, &mut nodes, &[0, 1]).await;
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();

    // --- 200 visitors x 5 turns, round-robin, one instance killed mid-run ---
    let acknowledged: Arc<Mutex<HashMap<usize, Vec<String>>>> = Arc::default();
    let retried = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let dead: Arc<Mutex<Option<usize>>> = Arc::default();
    let mut victim = nodes.pop().unwrap();
    let victim_index = 2;
    let mut tasks = Vec::new();
    for worker in 0..20 {
        let (http, bases, acknowledged, retried, sent, dead) =
            (http.clone(), bases.clone(), acknowledged.clone(), retried.clone(), sent.clone(), dead.clone());
        tasks.push(tokio::spawn(async move {
            for v in (worker..VISITORS).step_by(20) {
                let ip = Ipv4Addr::new(10, 7, (v / 250) as u8, (v % 250) as u8 + 1);
                let mut token: Option<String> = None;
                for turn in 0..TURNS {
                    let text = match turn {
                        1 => {
                            format!("My name is {} and my email is visitor{v}@cluster.example", name(v))
                        }
                        _ => format!("Question {turn} of visitor {v}: do you ship to Belgium?"),
                    };
                    let mut node = (v + turn) % 3;
                    let reply = loop {
                        if *dead.lock().unwrap() == Some(node) {
                            node = (node + 1) % 3;
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                        match chat(&http, &bases[node], ip, &text, token.as_deref()).await {
                            Ok(r) if r.status() == 200 => break r.json::<Value>().await.unwrap(),
                            Ok(r) if r.status().is_server_error() => {}
                            Ok(r) => {
                                panic!("visitor {v} turn {turn}: {} {}", r.status(), r.text().await.unwrap())
                            }
                            // The connection failed (the instance was killed): another one answers.
                            Err(_) => {}
                        }
                        retried.fetch_add(1, Ordering::Relaxed);
                        node = (node + 1) % 3;
                    };
                    token = Some(reply["visitor_token"].as_str().unwrap().to_string());
                    acknowledged.lock().unwrap().entry(v).or_default().push(text);
                }
            }
        }));
    }
    // Kill one instance once about a third of the turns are acknowledged.
    let deadline = Instant::now() + Duration::from_secs(600);
    while acknowledged.lock().unwrap().values().map(Vec::len).sum::<usize>() < VISITORS * TURNS / 3 {
        assert!(Instant::now() < deadline, "the run stalled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut child = victim.child.take().unwrap();
    // SIGKILL: no shutdown, no flush.
    child.kill().unwrap();
    child.wait().unwrap();
    *dead.lock().unwrap() = Some(victim_index);
    drop(victim);
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "visitors: {} requests sent for {} turns, {} retried on another instance after the kill",
        sent.load(Ordering::Relaxed),
        VISITORS * TURNS,
        retried.load(Ordering::Relaxed)
    );

    // --- what the database holds ---
    let conversations = all_conversations(&http, &bases[0]).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    let mut by_visitor: HashMap<usize, Vec<&Value>> = HashMap::new();
    for c in &conversations {
        let first = c["messages"][0]["content"].as_str().unwrap_or_default();
        if let Some(v) = acknowledged.iter().find(|(_, msgs)| msgs[0] == first).map(|(v, _)| *v) {
            by_visitor.entry(v).or_default().push(c);
        }
    }
    let (mut duplicated, mut orphans) = (0, 0);
    for v in 0..VISITORS {
        let convs = by_visitor.get(&v).map_or(&[][..], Vec::as_slice);
        // The visitor's conversation: the one holding its later turns. A first message whose
        // request the kill cut (stored, never answered: the visitor got no token) may have
        // started another conversation holding only that message; nothing else may.
        let (main, rest): (Vec<&Value>, Vec<&Value>) = convs.iter().partition(|c| user_messages(c).len() > 1);
        assert_eq!(main.len(), 1, "visitor {v}: exactly one conversation with its turns");
        for o in &rest {
            assert_eq!(user_messages(o), [acknowledged[&v][0].clone()], "visitor {v}: a stray conversation");
        }
        orphans += rest.len();
        let stored = user_messages(main[0]);
        // Every acknowledged message, in order (a request cut by the kill may have stored its
        // message before its retry did: then it appears twice, never lost or out of order).
        let mut it = stored.iter();
        for m in &acknowledged[&v] {
            assert!(it.any(|s| s == m), "visitor {v}: {m:?} lost or out of order in {stored:?}");
        }
        duplicated += stored.len() - acknowledged[&v].len();
    }
    let retried = retried.load(Ordering::Relaxed);
    assert!(duplicated + orphans <= retried, "only requests cut by the kill leave a trace twice");
    println!(
        "conversations: {VISITORS} visitors, one conversation with their turns each; requests cut by the kill \
         left {duplicated} messages stored twice and {orphans} one-message conversations (of {retried} retried)"
    );

    let leads = admin_get(&http, &format!("{}/api/companies/{COMPANY}/leads?limit=500", bases[1])).await;
    let leads = leads["leads"].as_array().unwrap();
    let visitor_leads: Vec<&Value> = leads
        .iter()
        .filter(|l| l["email"].as_str().is_some_and(|e| e.ends_with("@cluster.example")))
        .collect();
    assert_eq!(visitor_leads.len(), VISITORS, "one lead per visitor");
    let mut emails: Vec<&str> = visitor_leads.iter().map(|l| l["email"].as_str().unwrap()).collect();
    emails.sort_unstable();
    emails.dedup();
    assert_eq!(emails.len(), VISITORS, "no visitor has two leads");

    // Webhooks: each ready lead once, including those the killed instance had stamped but not
    // sent (a live instance sends them after the recovery period). Deliveries are
    // asynchronous: wait for them to settle.
    let ready: Vec<&str> = visitor_leads
        .iter()
        .filter(|l| l["is_lead_ready"] == true)
        .map(|l| l["lead_id"].as_str().unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    while hooks.lock().unwrap().iter().collect::<std::collections::HashSet<_>>().len() < ready.len()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hooks = hooks.lock().unwrap().clone();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &hooks {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    println!("webhooks: {} ready leads, {} deliveries received", ready.len(), hooks.len());
    assert_eq!(
        ready.len(),
        VISITORS,
        "every visitor gave a name and an e-mail address: {}",
        visitor_leads[0]
    );
    for id in &ready {
        assert!(counts.contains_key(id), "lead {id}: no webhook");
    }
    assert!(counts.keys().all(|id| ready.contains(id)), "a webhook for a lead that is not ready");
    // Each lead is sent by one instance (its ready-making update stamps it). Only a delivery
    // the killed instance had POSTed but not yet recorded is sent again by the recovery:
    // across a crash delivery is at least once (receivers dedupe by `lead.lead_id`).
    let twice = counts.values().filter(|&&n| n > 1).count();
    assert!(counts.values().all(|&n| n <= 2) && twice <= 2, "duplicates beyond the kill's: {counts:?}");
    println!(
        "webhooks: every ready lead delivered; {twice} sent twice (POSTed by the killed instance, not recorded)"
    );

    drop(nodes);
    admin.pool().close().await;
    let admin = PostgresStore::connect(&pg).await.unwrap();
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {db} WITH (FORCE)")))
        .execute(admin.pool())
        .await;
}
