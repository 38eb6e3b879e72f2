//! The server killed with SIGKILL in the middle of a burst of chats (a real `chatbot serve`
//! process on SQLite): after a restart on the same data folder, every message the client got a
//! 200 for is in the database, the visitor's message followed by the reply the client was given,
//! in order, once; a request in flight at the kill left at most its own turn behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// At least 32 characters, as the server requires of the operator token.
const ADMIN_TOKEN: &str = "kill-test-operator-token-0123456789abcdef";
const WORKERS: usize = 24;
/// Acknowledged chats before the kill.
const ACKED_BEFORE_KILL: usize = 80;

fn chatbot(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chatbot"));
    c.current_dir(dir)
        .env("CHATBOT_DATA_DIR", dir.join("data"))
        .env("CHATBOT_ADMIN_TOKEN", ADMIN_TOKEN)
        .env_remove("DATABASE_URL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("PINECONE_API_KEY")
        .env_remove("CHATBOT_EMBEDDER")
        .env_remove("CHATBOT_VECTOR_STORE")
        .env_remove("CHATBOT_MODEL_PROVIDER");
    c
}

fn cli(dir: &Path, args: &[&str]) -> String {
    let out = chatbot(dir).args(args).output().unwrap();
    assert!(out.status.success(), "chatbot {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `chatbot serve` on a free port; the child and its base URL (read from its `listening` log line).
fn serve(dir: &Path) -> (Child, String) {
    let mut child = chatbot(dir)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("CHATBOT_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the server exited before listening").unwrap();
        let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
        if v["message"] == "listening" {
            break v["addr"].as_str().unwrap().to_string();
        }
    };
    // Keep reading the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, format!("http://{addr}"))
}

/// One acknowledged chat: session, message, reply.
type Ack = (String, String, String);

async fn worker(
    http: reqwest::Client,
    base: String,
    pk: String,
    w: usize,
    acks: Arc<Mutex<Vec<Ack>>>,
    stop: Arc<AtomicBool>,
) {
    let Ok(r) =
        http.post(format!("{base}/api/chatbot/session")).bearer_auth(&pk).json(&json!({})).send().await
    else {
        return;
    };
    assert_eq!(r.status(), 200);
    let sid = r.json::<Value>().await.unwrap()["session_id"].as_str().unwrap().to_string();
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let msg = format!("Do you ship abroad? (worker {w}, message {n})");
        let sent = http
            .post(format!("{base}/api/chatbot/chat"))
            .bearer_auth(&pk)
            .json(&json!({"session_id": sid, "message": msg}))
            .send()
            .await;
        // Killed mid-request: no answer, or a cut body. Only a complete 200 is acknowledged.
        let Ok(r) = sent else { return };
        if r.status() != 200 {
            panic!("worker {w}: HTTP {} before the kill", r.status());
        }
        let Ok(v) = r.json::<Value>().await else { return };
        let reply = v["message"].as_str().unwrap().to_string();
        acks.lock().unwrap().push((sid.clone(), msg, reply));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_message_survives_a_sigkill_during_a_burst() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    cli(dir, &["company", "create", "acme", "--name", "Acme", "--email", "owner@acme.example"]);
    // every client is 127.0.0.1
    cli(
        dir,
        &[
            "company",
            "ai-config",
            "acme",
            "--rate-limit-per-ip",
            "1000000",
            "--rate-limit-per-session",
            "100000",
        ],
    );
    let pk = cli(dir, &["keys", "create", "acme", "--kind", "publishable"]).trim().to_string();
    assert!(pk.starts_with("pk_"), "{pk}");

    let (mut child, base) = serve(dir);
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().unwrap();
    let acks: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| tokio::spawn(worker(http.clone(), base.clone(), pk.clone(), w, acks.clone(), stop.clone())))
        .collect();
    while acks.lock().unwrap().len() < ACKED_BEFORE_KILL {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    let acks = acks.lock().unwrap().clone();
    assert!(acks.len() >= ACKED_BEFORE_KILL);

    let (mut child, base) = serve(dir);
    let r = http
        .get(format!("{base}/api/companies/acme/conversations?limit=500"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let stored: HashMap<String, Vec<(String, String)>> = v["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let msgs = c["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (m["role"].as_str().unwrap().to_string(), m["content"].as_str().unwrap().to_string())
                })
                .collect();
            (c["session_id"].as_str().unwrap().to_string(), msgs)
        })
        .collect();
    let mut by_session: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for (sid, msg, reply) in &acks {
        by_session.entry(sid).or_default().push((msg, reply));
    }
    for (sid, turns) in &by_session {
        let msgs = stored.get(*sid).unwrap_or_else(|| panic!("session {sid}: its conversation is lost"));
        let expected: Vec<(String, String)> = turns
            .iter()
            .flat_map(|(m, r)| {
                [("user".to_string(), m.to_string()), ("assistant".to_string(), r.to_string())]
            })
            .collect();
        assert!(
            msgs.len() >= expected.len(),
            "session {sid}: {} stored, {} acknowledged",
            msgs.len(),
            expected.len()
        );
        assert_eq!(
            msgs[..expected.len()],
            expected[..],
            "session {sid}: the acknowledged turns, in order, once"
        );
        // Past the acknowledged turns: at most the turn in flight when the server died (its
        // message, maybe its reply, which never reached the client).
        let rest = &msgs[expected.len()..];
        assert!(rest.len() <= 2, "session {sid}: {rest:?} after the acknowledged turns");
        if let Some((role, content)) = rest.first() {
            assert_eq!(role, "user");
            let next = format!("message {})", turns.len());
            assert!(content.ends_with(&next), "session {sid}: {content:?} is not the message in flight");
        }
        if let Some((role, _)) = rest.get(1) {
            assert_eq!(role, "assistant");
        }
    }
    // The restarted server carries on in the same sessions.
    let (sid, _, _) = &acks[0];
    let r = http
        .post(format!("{base}/api/chatbot/chat"))
        .bearer_auth(&pk)
        .json(&json!({"session_id": sid, "message": "Are you still there?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
}
