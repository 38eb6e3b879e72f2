//! `chatbot answers ...` as an operator runs it, on a temporary SQLite database: add, list with
//! hits, the terminal chat answering a paraphrase with the curated text, test, update, import
//! (all or nothing, bad lines named), export, remove.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use serde_json::Value;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_chatbot"))
            .args(args)
            .current_dir(self.dir.path())
            .env("CHATBOT_DATA_DIR", self.dir.path().join("data"))
            .env_remove("DATABASE_URL")
            .env_remove("OPENAI_API_KEY")
            .env_remove("PINECONE_API_KEY")
            .env_remove("CHATBOT_EMBEDDER")
            .env_remove("CHATBOT_VECTOR_STORE")
            .env_remove("CHATBOT_MODEL_PROVIDER")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).unwrap()
    }
}

const CURATED: &str = "Orders to Belgium arrive in 2 working days.";

#[test]
fn curated_answers_from_the_command_line() {
    let env = Env { dir: tempfile::tempdir().unwrap() };
    env.ok(&["demo", "seed"]);
    let a = env.json(&[
        "answers",
        "add",
        "123",
        "--question",
        "How long does delivery to Belgium take?",
        "--question",
        "Do you ship to Belgium?",
        "--answer",
        CURATED,
        "--source",
        "https://demo.example/shipping",
    ]);
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(a["questions"].as_array().unwrap().len(), 2);

    // The terminal chat gets the curated text for a paraphrase.
    let c = env.json(&["chat", "123", "--message", "How long does delivery to Belgium usually take?"]);
    assert_eq!((c["answered_by"].as_str(), c["message"].as_str()), (Some("curated"), Some(CURATED)), "{c}");
    let list = env.json(&["answers", "list", "123"]);
    assert_eq!(list[0]["hits"], 1, "{list}");
    let text = env.ok(&["answers", "list", "123"]);
    assert!(text.contains(&id) && text.contains("1 hits") && text.contains("(+1)"), "{text}");

    let t = env.json(&["answers", "test", "123", "--question", "do you ship to belgium"]);
    assert_eq!(
        (t["best"]["matched"].as_bool(), t["best"]["answer"]["id"].as_str()),
        (Some(true), Some(id.as_str()))
    );
    assert!(
        env.ok(&["answers", "test", "123", "--question", "Do you repair bikes?"]).starts_with("no match")
    );

    // Update: another answer text, no source.
    let u = env.json(&["answers", "update", "123", &id, "--answer", "Two days.", "--no-source"]);
    assert_eq!((u["answer"].as_str(), &u["source"]), (Some("Two days."), &Value::Null));

    // Import: a bad line means nothing is imported, exit code 2, the lines named.
    let bad = env.dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"questions\": [\"Gift cards?\"], \"answer\": \"Yes.\"}\n\n{\"questions\": []}\nnot json\n",
    )
    .unwrap();
    let out = env.run(&["answers", "import", "123", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3:") && err.contains("line 4:") && !err.contains("line 1:"), "{err}");
    assert_eq!(env.json(&["answers", "list", "123"]).as_array().unwrap().len(), 1);

    // Export, then import the export and one more line.
    let file = env.dir.path().join("answers.jsonl");
    env.ok(&["answers", "export", "123", file.to_str().unwrap()]);
    let mut text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 1);
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["answer"], "Two days.");
    text.push_str("{\"questions\": [\"Do you sell gift cards?\"], \"answer\": \"Yes.\", \"source\": \"https://demo.example/gifts\"}\n");
    std::fs::write(&file, text).unwrap();
    let imported = env.json(&["answers", "import", "123", file.to_str().unwrap()]);
    assert_eq!(imported.as_array().unwrap().len(), 2);
    assert_eq!(env.json(&["answers", "list", "123"]).as_array().unwrap().len(), 3);

    // Remove; a second time is "not found" (exit code 3); another company has none.
    env.ok(&["answers", "remove", "123", &id]);
    assert_eq!(env.run(&["answers", "remove", "123", &id]).status.code(), Some(3));
    assert_eq!(env.json(&["answers", "list", "123"]).as_array().unwrap().len(), 2);
    assert_eq!(env.run(&["answers", "list", "no-such-company"]).status.code(), Some(3));
    // Bad input names the field.
    let out = env.run(&[
        "answers",
        "add",
        "123",
        "--question",
        "q",
        "--answer",
        "a",
        "--source",
        "ftp://x.example",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("source"));
}
