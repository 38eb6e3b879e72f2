//! PostgreSQL stopped in the middle of a run: requests that need the database are answered 503
//! with a clear JSON error (`storage_unavailable`, `Retry-After`) within the pool's acquire
//! timeout instead of hanging, and once the database is back the server serves again by itself,
//! with what was stored before still there.
//!
//! The test runs its own throwaway PostgreSQL instance (initdb into a temporary folder, a free
//! port, stopped and started by the test), never a shared cluster. It needs the PostgreSQL server
//! binaries (Debian's `postgresql` package, or `CHATBOT_TEST_PG_BINDIR`); without them it says so
//! and passes without running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use chatbot_core::{Chatbot, Config};
use chatbot_tests::{ADMIN_TOKEN, TestServer, error_code, status_json};
use serde_json::{Value, json};

/// A private PostgreSQL instance in a temporary folder (stopped when dropped).
struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Running as root: PostgreSQL refuses that, so its commands run as the `postgres` user.
    as_postgres: bool,
}

impl PrivatePostgres {
    /// The newest installed server's binaries: `CHATBOT_TEST_PG_BINDIR`, else Debian's layout.
    fn binaries() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("CHATBOT_TEST_PG_BINDIR") {
            return Some(PathBuf::from(d)).filter(|d| d.join("initdb").exists());
        }
        let root = Path::new("/usr/lib/postgresql");
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
            .ok()?
            .filter_map(|e| {
                let e = e.ok()?;
                let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((v, e.path().join("bin")))
            })
            .filter(|(_, bin)| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    }

    /// initdb and start on a free port; `None` (with the reason printed) without the binaries.
    fn start() -> Option<Self> {
        let Some(bin) = Self::binaries() else {
            eprintln!(
                "SKIPPED: no PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin or \
                 CHATBOT_TEST_PG_BINDIR); install the postgresql package to run this test"
            );
            return None;
        };
        let as_postgres = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let dir = tempfile::tempdir().unwrap();
        if as_postgres {
            let out =
                Command::new("chown").arg("-R").arg("postgres:postgres").arg(dir.path()).output().unwrap();
            assert!(out.status.success(), "chown: {}", String::from_utf8_lossy(&out.stderr));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = Self { dir, bin, port, as_postgres };
        let data = pg.data();
        pg.run("initdb", &["-D", &data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
        pg.start_again();
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let out = cmd.args(args).current_dir(self.dir.path()).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Start (again) on the same port and folder.
    fn start_again(&self) {
        let (data, socket) = (self.data(), self.dir.path().display().to_string());
        let log = self.dir.path().join("server.log").display().to_string();
        let opts = format!("-p {} -k {socket} -c listen_addresses=127.0.0.1 -c fsync=off", self.port);
        self.run("pg_ctl", &["-D", &data, "-l", &log, "-o", &opts, "-w", "-t", "60", "start"]);
    }

    /// Stop the way an operator or a crash would: `fast` ends every connection at once.
    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "-t", "60", "stop"]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ =
            cmd.args(["-D", &data, "-m", "immediate", "-w", "stop"]).current_dir(self.dir.path()).output();
    }
}

/// Longer than the pool's acquire timeout, so that a request that hangs fails the test.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

async fn chat(s: &TestServer, pk: &str, sid: &str, message: &str) -> (u16, Option<String>, Value) {
    let r = s
        .http
        .post(s.url("/api/chatbot/chat"))
        .bearer_auth(pk)
        .timeout(CLIENT_TIMEOUT)
        .json(&json!({"session_id": sid, "message": message}))
        .send()
        .await
        .expect("the server answers while the database is down");
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let (st, v) = status_json(r).await;
    (st, retry, v)
}

/// A 503 with the one error shape, code `storage_unavailable` and a `Retry-After`.
fn assert_unavailable(what: &str, st: u16, retry: Option<&str>, v: &Value) {
    assert_eq!(st, 503, "{what}: {v}");
    assert_eq!(error_code(v), "storage_unavailable", "{what}: {v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("database"), "{what}: {v}");
    assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|n| n >= 1)), "{what}: Retry-After {retry:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_mid_run_is_503_and_the_server_recovers_by_itself() {
    let Some(pg) = PrivatePostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::offline(dir.path().to_path_buf());
    config.admin_token = Some(ADMIN_TOKEN.into());
    config.database_url = pg.url();
    let bot = Chatbot::from_config(config).await.unwrap();
    let s = TestServer::start_bot(bot, dir).await;
    let t = s.tenant("pgco", &[]).await;
    let sid = s.session(&t.pk).await;
    let (st, _, before) = chat(&s, &t.pk, &sid, "What are your opening hours? (before)").await;
    assert_eq!(st, 200, "{before}");

    pg.stop();
    // Several times: the first requests meet the pool's connections that the shutdown ended, the
    // later ones find no server to connect to (the acquire timeout bounds their wait).
    let mut during = Vec::new();
    for i in 0..3 {
        let msg = format!("Do you ship abroad? (during {i})");
        let (st, retry, v) = chat(&s, &t.pk, &sid, &msg).await;
        assert_unavailable(&format!("chat {i} while the database is down"), st, retry.as_deref(), &v);
        during.push(msg);
    }
    let r = s
        .http
        .post(s.url("/api/chatbot/session"))
        .bearer_auth(&t.pk)
        .timeout(CLIENT_TIMEOUT)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let (st, v) = status_json(r).await;
    assert_unavailable("a new session while the database is down", st, retry.as_deref(), &v);
    // Streamed: refused before the stream starts, or an `error` event carrying the same status.
    let r = s
        .http
        .post(s.url("/api/chatbot/chat"))
        .bearer_auth(&t.pk)
        .header("Accept", "text/event-stream")
        .timeout(CLIENT_TIMEOUT)
        .json(&json!({"session_id": sid, "message": "Streamed while down"}))
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let body = r.text().await.unwrap();
    if st == 200 {
        let data = body
            .split("\n\n")
            .find_map(|b| b.strip_prefix("event: error\ndata: "))
            .unwrap_or_else(|| panic!("a streamed answer without an error event: {body}"));
        let v: Value = serde_json::from_str(data).unwrap();
        assert_eq!((v["status"].as_u64(), error_code(&v)), (Some(503), "storage_unavailable".into()), "{v}");
        assert!(!body.contains("event: done"), "{body}");
    } else {
        assert_unavailable(
            "a streamed chat while the database is down",
            st,
            retry.as_deref(),
            &serde_json::from_str(&body).unwrap(),
        );
    }
    let (st, v) = status_json(s.get("/readyz", None).await).await;
    assert_eq!(st, 503, "{v}");

    pg.start_again();
    // The pool reconnects on its own: no restart of the server. A request may still meet a
    // connection the shutdown ended (answered 503 like the ones above); a few tries at most.
    let mut refused_after = Vec::new();
    let mut answered = None;
    for i in 0..20 {
        let msg = format!("Can I pay by invoice? (after {i})");
        let (st, retry, v) = chat(&s, &t.pk, &sid, &msg).await;
        if st == 200 {
            answered = Some((msg, v["message"].as_str().unwrap().to_string()));
            break;
        }
        assert_unavailable("chat after the restart", st, retry.as_deref(), &v);
        refused_after.push(msg);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (after, reply) = answered.expect("the server serves again once the database is back");
    assert!(refused_after.len() <= 3, "the pool took {} requests to recover", refused_after.len());
    let (st, v) = status_json(s.get("/readyz", None).await).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(s.session(&t.pk).await.len(), sid.len());

    // What was stored before the outage is there; nothing said during it was half-stored; the
    // answer after it is stored with its question.
    let (st, v) = status_json(s.get("/api/companies/pgco/conversations", Some(&t.sk)).await).await;
    assert_eq!(st, 200, "{v}");
    let conv =
        v["conversations"].as_array().unwrap().iter().find(|c| c["session_id"] == sid.as_str()).unwrap();
    let msgs: Vec<(&str, &str)> = conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    assert_eq!(
        msgs[..2],
        [
            ("user", "What are your opening hours? (before)"),
            ("assistant", before["message"].as_str().unwrap())
        ]
    );
    assert_eq!(msgs[msgs.len() - 2..], [("user", after.as_str()), ("assistant", reply.as_str())]);
    for (role, content) in &msgs[2..msgs.len() - 2] {
        // Only a visitor message of a request refused after the restart may sit in between (it
        // is stored before the answer is made); nothing from while the database was down.
        assert_eq!(*role, "user", "{msgs:?}");
        assert!(refused_after.iter().any(|m| m == content), "{content:?} in {msgs:?}");
    }
    assert!(msgs.iter().all(|(_, c)| !during.iter().any(|d| d == c) && !c.contains("Streamed while down")));
    s.shutdown().await;
    drop(pg);
}
