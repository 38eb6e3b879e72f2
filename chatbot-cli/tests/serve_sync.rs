//! `chatbot serve --sync` (a real process on SQLite): a registered folder that is due is synced
//! by the server's schedule (a deleted file is removed), the run is recorded, and SIGTERM stops
//! the server and its schedule cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

fn chatbot(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chatbot"));
    c.current_dir(dir)
        .env("CHATBOT_DATA_DIR", dir.join("data"))
        .env_remove("DATABASE_URL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("PINECONE_API_KEY")
        .env_remove("CHATBOT_EMBEDDER")
        .env_remove("CHATBOT_VECTOR_STORE")
        .env_remove("CHATBOT_MODEL_PROVIDER")
        .env_remove("CHATBOT_SYNC");
    c
}

fn cli(dir: &Path, args: &[&str]) -> String {
    let out = chatbot(dir).args(args).output().unwrap();
    assert!(out.status.success(), "chatbot {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn serve_sync_runs_due_sources_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    cli(dir, &["company", "create", "acme", "--name", "Acme", "--email", "ops@acme.test"]);
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("hours.md"), "# Hours\n\nWe open at nine.\n").unwrap();
    std::fs::write(docs.join("returns.md"), "# Returns\n\nWithin thirty days.\n").unwrap();
    // Due one second after this run.
    cli(dir, &["ingest", "files", docs.to_str().unwrap(), "--company", "acme", "--interval", "1s", "--json"]);
    std::fs::remove_file(docs.join("returns.md")).unwrap();
    // Wait until it is due (the status says when).
    loop {
        let st: Value = serde_json::from_str(&cli(dir, &["ingest", "status", "acme", "--json"])).unwrap();
        let due = st["registered"][0]["next_due_at"].as_str().unwrap().to_string();
        let due = chrono::DateTime::parse_from_rfc3339(&due).unwrap();
        if chrono::Utc::now() > due {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    let mut child = chatbot(dir)
        .args(["serve", "--bind", "127.0.0.1:0", "--sync"])
        .env("CHATBOT_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let synced = loop {
        let line = lines.next().expect("the server exited before syncing").unwrap();
        let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
        if v["message"] == "knowledge sync" {
            break v;
        }
    };
    assert_eq!(synced["company"], "acme", "{synced}");
    assert_eq!(synced["outcome"], "Synced", "{synced}");
    assert_eq!(synced["removed"], 1, "the deleted file is removed: {synced}");

    // SIGTERM: the schedule and the server stop, and the process exits cleanly.
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit {exit:?}: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("server stopped")), "{rest:?}");

    // The run is recorded: one document left, the next run a second later.
    let st: Value = serde_json::from_str(&cli(dir, &["ingest", "status", "acme", "--json"])).unwrap();
    assert_eq!(st["sources"].as_array().unwrap().len(), 1, "{st}");
    let run = &st["registered"][0]["last_run"];
    assert_eq!((run["removed"].as_u64(), run["changed"].as_u64()), (Some(1), Some(0)), "{st}");
    assert!(st["registered"][0]["lease_owner"].is_null(), "the lease was released: {st}");
}
