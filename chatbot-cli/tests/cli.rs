//! Black-box tests of the `chatbot` binary on a temporary SQLite database and local index.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("data").join("chatbot.db")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
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
            .env_remove("CHATBOT_ALLOW_PRIVATE_WEBHOOKS")
            .env_remove("CHATBOT_ALLOW_HTTP_WEBHOOKS")
            .envs(vars.iter().copied())
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

fn table_columns(db: &Path, table: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Row as _;
        let url = format!("sqlite://{}", db.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info({table})")))
            .fetch_all(&pool)
            .await
            .unwrap();
        rows.iter().map(|r| r.get::<String, _>("name")).collect()
    })
}

#[test]
fn migrate_creates_the_seed_tables_with_every_column() {
    let env = Env::new();
    env.ok(&["db", "migrate"]);
    let want: &[(&str, &str)] = &[
        (
            "user_companies",
            "id,company_id,company_name,email,phone,website,logo_url,settings,ai_config,is_active,created_at,updated_at",
        ),
        (
            "widget_settings",
            "id,company_id,primary_color,secondary_color,text_color,background_color,border_radius,company_name,company_logo,welcome_message,placeholder_text,position,auto_open,show_typing_indicator,ai_personality,ai_temperature,max_tokens,suggested_questions,language,show_sources,launcher_label,created_at,updated_at",
        ),
        (
            "chat_conversations",
            "id,company_id,user_id,session_id,messages,metadata,last_activity_at,created_at,updated_at",
        ),
        ("pinecone_vectors", "id,company_id,vector_id,content,metadata,source,created_at,updated_at"),
    ];
    for (table, cols) in want {
        let have = table_columns(&env.db(), table);
        for c in cols.split(',') {
            assert!(have.iter().any(|h| h == c), "{table} lacks {c}: {have:?}");
        }
    }
    for table in ["sessions", "leads", "api_keys", "owner_tokens"] {
        assert!(!table_columns(&env.db(), table).is_empty(), "{table} missing");
    }
    // Running it again is harmless.
    env.ok(&["db", "migrate"]);
}

#[test]
fn demo_seed_then_settings_show_the_seed_defaults() {
    let env = Env::new();
    let first = env.ok(&["demo", "seed"]);
    assert!(first.contains("pk_") && first.contains("sk_"), "{first}");
    let second = env.ok(&["demo", "seed"]);
    assert!(!second.contains("sk_"), "keys are shown once: {second}");
    let s = env.json(&["settings", "get", "123"]);
    for (k, v) in [
        ("primary_color", "#007bff"),
        ("secondary_color", "#6c757d"),
        ("text_color", "#ffffff"),
        ("background_color", "#ffffff"),
        ("placeholder_text", "Type your message..."),
        ("position", "bottom-right"),
        ("ai_personality", "friendly and helpful assistant"),
    ] {
        assert_eq!(s[k], v, "{k}");
    }
    assert_eq!(s["border_radius"], 12);
    assert_eq!(s["max_tokens"], 500);
    assert_eq!(s["auto_open"], false);
    assert_eq!(s["show_typing_indicator"], true);
    assert_eq!(s["ai_temperature"], 0.7);
}

#[test]
fn invalid_setting_fails_naming_the_field_and_changes_nothing() {
    let env = Env::new();
    env.ok(&["demo", "seed"]);
    let out = env.run(&["settings", "set", "123", "primary_color=red", "welcome_message=Changed"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("primary_color"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line message: {err}");
    let s = env.json(&["settings", "get", "123"]);
    assert_eq!(s["primary_color"], "#007bff");
    assert_ne!(s["welcome_message"], "Changed");

    let out = env.run(&["settings", "set", "123", "colour=#ffffff"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));

    env.ok(&["settings", "set", "123", "primary_color=#ff0000", "welcome_message=Hello!", "max_tokens=300"]);
    let s = env.json(&["settings", "get", "123"]);
    assert_eq!(
        (s["primary_color"].as_str(), s["welcome_message"].as_str(), s["max_tokens"].as_i64()),
        (Some("#ff0000"), Some("Hello!"), Some(300))
    );
}

#[test]
fn companies_and_keys() {
    let env = Env::new();
    env.ok(&[
        "company",
        "create",
        "acme",
        "--name",
        "Acme",
        "--email",
        "ops@acme.test",
        "--allowed-origin",
        "https://acme.test",
    ]);
    let out = env.run(&["company", "create", "acme", "--name", "Acme", "--email", "ops@acme.test"]);
    assert!(!out.status.success(), "duplicate id must fail");
    let out = env.run(&["company", "create", "bad id", "--name", "X", "--email", "x@y.test"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("company_id"));
    let out = env.run(&["company", "create", "b", "--name", "X", "--email", "not-an-email"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("email"));

    let list = env.json(&["company", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["client_type"], "business_owner", "the default client type");

    // Client types: set at creation, shown, changed; anything else is refused by clap.
    let c = env.json(&[
        "company",
        "create",
        "homes",
        "--name",
        "Homes",
        "--email",
        "ops@homes.test",
        "--client-type",
        "realtor",
    ]);
    assert_eq!(c["client_type"], "realtor");
    assert!(env.ok(&["company", "show", "homes"]).contains("client type:  realtor"));
    let c =
        env.json(&["company", "update", "homes", "--client-type", "business_owner", "--name", "Homes BV"]);
    assert_eq!(
        (c["client_type"].as_str(), c["company_name"].as_str()),
        (Some("business_owner"), Some("Homes BV"))
    );
    assert_eq!(env.json(&["company", "show", "homes"])["company"]["client_type"], "business_owner");
    let out = env.run(&["company", "update", "homes", "--client-type", "landlord"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("client_type"), "names the option's rule");
    let out = env.run(&["company", "update", "homes"]);
    assert!(!out.status.success(), "an update that changes nothing is refused");
    assert_eq!(env.run(&["company", "update", "nope", "--name", "X"]).status.code(), Some(3));
    let s = env.json(&["settings", "get", "acme"]);
    assert_eq!(s["allowed_origins"][0], "https://acme.test");

    let key = env.ok(&["keys", "create", "acme", "--kind", "secret"]);
    let key = key.trim();
    assert!(key.starts_with("sk_") && key.len() > 40, "{key}");
    let keys = env.json(&["keys", "list", "acme"]);
    let listed = serde_json::to_string(&keys).unwrap();
    assert!(!listed.contains(&key[3..]), "the key itself is never stored or listed");
    let key_id = keys[0]["key_id"].as_str().unwrap().to_string();
    env.ok(&["keys", "revoke", &key_id]);
    let keys = env.json(&["keys", "list", "acme"]);
    assert!(!keys[0]["revoked_at"].is_null());
    assert_eq!(env.run(&["keys", "revoke", "key_nope"]).status.code(), Some(3));
    assert_eq!(env.run(&["keys", "create", "nope", "--kind", "secret"]).status.code(), Some(3));

    // Identity secrets: printed once, at most two active (rotation), listed and revoked like keys.
    let first = env.ok(&["keys", "create", "acme", "--kind", "identity"]);
    let first = first.trim();
    assert!(first.starts_with("idsec_") && first.len() > 40, "{first}");
    env.ok(&["keys", "create", "acme", "--kind", "identity"]);
    let third = env.run(&["keys", "create", "acme", "--kind", "identity"]);
    assert!(!third.status.success(), "a third active identity secret is refused");
    assert!(String::from_utf8_lossy(&third.stderr).contains("revoke"), "{third:?}");
    let keys = env.json(&["keys", "list", "acme"]);
    let ids: Vec<&Value> = keys.as_array().unwrap().iter().filter(|k| k["kind"] == "identity").collect();
    assert_eq!(ids.len(), 2, "{keys}");
    assert!(!serde_json::to_string(&keys).unwrap().contains(&first[6..]), "secrets are never listed");
    env.ok(&["keys", "revoke", ids[0]["key_id"].as_str().unwrap()]);
    env.ok(&["keys", "create", "acme", "--kind", "identity"]);

    env.ok(&["company", "deactivate", "acme"]);
    let shown = env.json(&["company", "show", "acme"]);
    assert_eq!(shown["company"]["is_active"], false);
}

#[test]
fn new_conversation_cap_is_configured_from_the_cli() {
    let env = Env::new();
    env.ok(&["demo", "seed"]);
    let c = env.json(&["company", "ai-config", "123", "--max-new-conversations-per-minute", "1"]);
    assert_eq!(c["max_new_conversations_per_minute"], 1, "{c}");
    let out = env.run(&["company", "ai-config", "123", "--max-new-conversations-per-minute", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_new_conversations_per_minute"));
    // (The terminal chat's exemption is tested in chatbot-core's visitor_identity tests: each
    // CLI run is a new process with its own limiter.)
    let r = env.json(&["chat", "123", "--message", "What are your opening hours?"]);
    assert!(r["message"].as_str().is_some_and(|m| !m.is_empty()), "{r}");
}

#[test]
fn search_and_chat_answer_from_the_demo_knowledge_offline() {
    let env = Env::new();
    env.ok(&["demo", "seed"]);
    let r = env.json(&["search", "123", "return an item", "--top-k", "3"]);
    let results = r["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(results[0]["source"].as_str().unwrap().ends_with("/returns"), "{r}");
    assert!(results[0]["score"].as_f64().unwrap() > 0.0);

    let c = env.json(&["chat", "123", "--message", "How many days do I have to return something?"]);
    assert!(c["message"].as_str().unwrap().contains("30 days"), "{c}");
    assert_eq!(c["answered_by"], "fallback");
    assert!(
        c["sources"].as_array().unwrap().iter().any(|s| s["source"].as_str().unwrap().ends_with("/returns"))
    );
    // The extractive answer is grounded by construction: its sentences all count as supported.
    assert!(c["grounding"]["supported"].as_u64().unwrap() >= 1, "{c}");
    assert_eq!(c["grounding"]["unsupported"], 0, "{c}");
    // With the check off the field is null.
    env.ok(&["company", "ai-config", "123", "--grounding", "off"]);
    let c = env.json(&["chat", "123", "--message", "How many days do I have to return something?"]);
    assert!(c["grounding"].is_null(), "{c}");
}

#[test]
fn leads_from_terminal_chat() {
    let env = Env::new();
    env.ok(&["demo", "seed"]);
    env.json(&["chat", "123", "--message", "Do you sell teapots?"]);
    let leads = env.json(&["leads", "list", "123"]);
    let lead = &leads.as_array().unwrap()[0];
    assert_eq!(lead["status"], "new");
    assert_eq!(lead["source"], "chatbot");
    let id = lead["lead_id"].as_str().unwrap();
    env.ok(&["leads", "set-status", id, "contacted"]);
    let out = env.run(&["leads", "set-status", id, "converted"]);
    assert!(!out.status.success(), "contacted -> converted skips a step");
    let csv = env.ok(&["leads", "list", "123", "--csv"]);
    assert!(csv.starts_with("lead_id,status"));
    assert!(csv.contains(",contacted,"));
}

#[test]
fn realtor_profile_in_leads_csv_and_show() {
    let env = Env::new();
    env.ok(&[
        "company",
        "create",
        "homes",
        "--name",
        "Homes",
        "--email",
        "ops@homes.test",
        "--client-type",
        "realtor",
    ]);
    let first = env.json(&[
        "chat",
        "homes",
        "--message",
        "We want to buy a 3-bedroom apartment in Utrecht, max €400k",
    ]);
    let sid = first["session_id"].as_str().unwrap().to_string();
    env.json(&[
        "chat",
        "homes",
        "--session",
        &sid,
        "--message",
        "I'm Jane Doe, jane@example.com; call me =1+1",
    ]);
    let csv = env.ok(&["leads", "list", "homes", "--csv"]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for col in [
        "profile_complete",
        "intent",
        "property_type",
        "location",
        "budget_min",
        "budget_max",
        "currency",
        "bedrooms",
        "size_m2",
        "timeline",
        "financing",
    ] {
        assert!(header.contains(&col), "{col} in {header:?}");
    }
    let row = lines.next().unwrap();
    let cell = |col: &str| {
        let i = header.iter().position(|h| *h == col).unwrap();
        // No cell of this row holds a comma or a quote but the summary: split the header's way
        // from both ends around it.
        let fields: Vec<&str> = row.split(',').collect();
        let from_end = header.len() - i;
        fields[fields.len() - from_end].to_string()
    };
    assert_eq!(cell("intent"), "buy", "{row}");
    assert_eq!(cell("location"), "Utrecht", "{row}");
    assert_eq!(cell("budget_max"), "400000", "{row}");
    assert_eq!(cell("bedrooms"), "3", "{row}");
    assert_eq!(cell("profile_complete"), "true", "{row}");
    let list = env.json(&["leads", "list", "homes"]);
    let show = env.json(&["leads", "show", list[0]["lead_id"].as_str().unwrap()]);
    assert_eq!(show["profile"]["currency"], "EUR");
    assert!(show["ai_summary"].as_str().unwrap().contains("Profile (realtor)"), "{show}");
}

#[test]
fn settings_set_flags_for_the_widget_settings_of_issue_14() {
    let env = Env::new();
    env.ok(&["demo", "seed"]);
    let s = env.json(&["settings", "show", "123"]);
    assert_eq!(
        s["suggested_questions"],
        serde_json::json!(["What are your opening hours?", "Do you ship abroad?", "How do returns work?"])
    );
    assert_eq!((s["language"].as_str(), s["show_sources"].as_bool()), (Some("auto"), Some(true)));
    env.ok(&[
        "settings",
        "set",
        "123",
        "--suggested-question",
        "Wie lange dauert der Versand?",
        "--suggested-question",
        "Kann ich, bitte, zurückgeben?",
        "--language",
        "de",
        "--show-sources",
        "false",
        "--launcher-label",
        "Fragen?",
        "primary_color=#112233",
    ]);
    let s = env.json(&["settings", "show", "123"]);
    assert_eq!(
        s["suggested_questions"],
        serde_json::json!(["Wie lange dauert der Versand?", "Kann ich, bitte, zurückgeben?"])
    );
    assert_eq!(
        (s["language"].as_str(), s["show_sources"].as_bool(), s["launcher_label"].as_str()),
        (Some("de"), Some(false), Some("Fragen?"))
    );
    assert_eq!(s["primary_color"], "#112233", "pairs and flags together");
    // the text output shows every setting, one per line
    let text = env.ok(&["settings", "show", "123"]);
    for line in
        ["language               de", "show_sources           false", "launcher_label         Fragen?"]
    {
        assert!(text.lines().any(|l| l == line), "{line:?} in {text}");
    }
    assert!(text.contains(r#"suggested_questions    ["Wie lange dauert der Versand?","#), "{text}");
    // the pair form, and clearing
    env.ok(&["settings", "set", "123", "suggested_questions=A? | B?", "language=auto"]);
    let s = env.json(&["settings", "get", "123"]);
    assert_eq!(s["suggested_questions"], serde_json::json!(["A?", "B?"]));
    env.ok(&["settings", "set", "123", "--clear-suggested-questions"]);
    assert_eq!(env.json(&["settings", "get", "123"])["suggested_questions"], serde_json::json!([]));
    // invalid values fail naming the field and change nothing
    let long = "x".repeat(41);
    let five = [
        "--suggested-question",
        "1",
        "--suggested-question",
        "2",
        "--suggested-question",
        "3",
        "--suggested-question",
        "4",
        "--suggested-question",
        "5",
    ];
    for (args, field) in [
        (&["--language", "xx"][..], "language"),
        (&["--launcher-label", long.as_str()][..], "launcher_label"),
        (&["--suggested-question", "bell\u{7}"][..], "suggested_questions"),
        (&five[..], "suggested_questions"),
    ] {
        let mut all = vec!["settings", "set", "123"];
        all.extend_from_slice(args);
        let out = env.run(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(field), "{field} in {err}");
    }
    let out = env.run(&["settings", "set", "123"]);
    assert_eq!(out.status.code(), Some(2), "nothing to change");
    assert_eq!(env.json(&["settings", "get", "123"])["language"], "auto");
}

#[test]
fn owner_link_prints_a_one_time_code_stored_hashed() {
    use chatbot_core::store::{IdentityStore, SqliteStore};
    let env = Env::new();
    env.ok(&["demo", "seed"]);
    let url = env.ok(&["settings", "owner-link", "123"]);
    let url = url.trim();
    let code = url.strip_prefix("http://127.0.0.1:8080/#chatbot-admin=").expect(url);
    assert!(code.starts_with("oc_") && code.len() == 46, "{code}");
    let other = env.ok(&["settings", "owner-link", "123", "--url", "https://partner.example/page?x=1"]);
    assert!(other.trim().starts_with("https://partner.example/page?x=1#chatbot-admin=oc_"), "{other}");
    assert!(!other.contains(code), "a new code each time");
    env.ok(&[
        "company",
        "create",
        "acme",
        "--name",
        "Acme",
        "--email",
        "ops@acme.test",
        "--allowed-origin",
        "https://acme.test",
    ]);
    let j = env.json(&["settings", "owner-link", "acme"]);
    assert!(j["url"].as_str().unwrap().starts_with("https://acme.test/#chatbot-admin=oc_"), "{j}");
    assert!(j["expires_at"].is_string());
    let out = env.run(&["settings", "owner-link", "123", "--url", "javascript:alert(1)"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("url"));
    assert_eq!(env.run(&["settings", "owner-link", "nope"]).status.code(), Some(3));

    // the database holds the code's hash, not the code; it is spent once, for its company only
    let needle = code.as_bytes();
    for file in [env.db(), env.db().with_extension("db-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle), "the plain code is in {file:?}");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = SqliteStore::connect(&format!("sqlite://{}", env.db().display())).await.unwrap();
        let hash = chatbot_core::auth::hash_key(code);
        let now = chrono::Utc::now();
        assert!(!store.spend_owner_code("acme", &hash, now).await.unwrap(), "only for its company");
        assert!(store.spend_owner_code("123", &hash, now).await.unwrap());
        assert!(!store.spend_owner_code("123", &hash, now).await.unwrap(), "once");
    });
}

/// A settings change made by the `chatbot` binary (another process) is seen at once by a store
/// that has the settings cached (the server's store, in production).
#[test]
fn settings_set_by_the_cli_is_seen_at_once_by_a_running_store() {
    use chatbot_core::store::{SqliteStore, TenantStore};
    let env = Env::new();
    env.ok(&["demo", "seed"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = SqliteStore::connect(&format!("sqlite://{}", env.db().display())).await.unwrap();
        assert!(store.caches_tenant_reads(), "a WAL database file has a commit stamp");
        for _ in 0..3 {
            let (_, s) = store.get_public_widget_settings("123").await.unwrap().unwrap();
            assert_eq!(s.primary_color, "#007bff");
        }
        for colour in ["#123456", "#abcdef"] {
            env.ok(&["settings", "set", "123", &format!("primary_color={colour}")]);
            let (_, s) = store.get_public_widget_settings("123").await.unwrap().unwrap();
            assert_eq!(s.primary_color, colour, "the CLI's write is seen by the next read");
        }
        env.ok(&["company", "deactivate", "123"]);
        let (active, _) = store.get_public_widget_settings("123").await.unwrap().unwrap();
        assert!(!active, "the CLI's deactivation is seen by the next read");
    });
}

#[test]
fn ingest_files_with_the_core_chunk_rules() {
    let env = Env::new();
    env.ok(&["company", "create", "acme", "--name", "Acme", "--email", "ops@acme.test"]);
    let docs = env.dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let text = "Returns are accepted within 30 days of delivery. ".repeat(60);
    std::fs::write(docs.join("returns.md"), format!("# Returns\n\n{text}\n")).unwrap();
    let docs = docs.to_str().unwrap();

    for (flags, field) in [
        (&["--chunk-size", "0"][..], "chunk_size"),
        (&["--chunk-size", "100", "--chunk-overlap", "100"][..], "chunk_overlap"),
        (&["--sizing", "words"][..], "sizing"),
    ] {
        let mut args = vec!["ingest", "files", docs, "--company", "acme"];
        args.extend_from_slice(flags);
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(field), "{flags:?}: {err}");
    }

    // Out-of-range concurrency and timeout are bounded, not refused.
    let s =
        env.json(&["ingest", "files", docs, "--company", "acme", "--concurrency", "0", "--pdf-timeout", "0"]);
    assert_eq!(s["documents"], 1, "{s}");
    let chunks = s["chunks"].as_u64().unwrap();
    assert!(chunks >= 3, "about 3,000 characters in chunks of 1,000: {s}");
    let st = env.json(&["ingest", "status", "acme"]);
    assert_eq!(st["chunks"].as_u64(), Some(chunks));
    let f = env.json(&["ingest", "forget", "acme"]);
    assert_eq!(f["chunks"].as_u64(), Some(chunks));
}

#[test]
fn ingest_sync_and_status_of_registered_folders() {
    let env = Env::new();
    env.ok(&["company", "create", "acme", "--name", "Acme", "--email", "ops@acme.test"]);
    let docs = env.dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("hours.md"), "# Hours\n\nWe open at nine.\n").unwrap();
    std::fs::write(docs.join("returns.md"), "# Returns\n\nWithin thirty days.\n").unwrap();
    let docs = docs.to_str().unwrap();

    // A bad interval is refused; --no-sync leaves nothing registered.
    let out = env.run(&["ingest", "files", docs, "--company", "acme", "--interval", "soon"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interval"));
    env.json(&["ingest", "files", docs, "--company", "acme", "--no-sync"]);
    assert_eq!(env.json(&["ingest", "status", "acme"])["registered"], serde_json::json!([]));

    // Registered every 6 hours: not due now, so a plain sync runs nothing.
    env.json(&["ingest", "files", docs, "--company", "acme", "--interval", "6h"]);
    let st = env.json(&["ingest", "status", "acme"]);
    let reg = &st["registered"][0];
    assert_eq!(reg["kind"], "files");
    assert_eq!(reg["interval_secs"], 6 * 3600);
    assert_eq!(reg["last_run"]["pages"], 2, "{reg}");
    assert!(reg["next_due_at"].is_string());
    assert_eq!(env.json(&["ingest", "sync", "acme"]), serde_json::json!([]));

    // Forced: the unchanged files are not read again; a deleted one is removed.
    std::fs::remove_file(env.dir.path().join("docs").join("returns.md")).unwrap();
    let reports = env.json(&["ingest", "sync", "--force"]);
    assert_eq!(reports.as_array().unwrap().len(), 1, "{reports}");
    let r = &reports[0];
    assert_eq!(r["outcome"], "synced", "{r}");
    assert_eq!(
        (r["unchanged"].as_u64(), r["removed"].as_u64(), r["embedded"].as_u64()),
        (Some(1), Some(1), Some(0))
    );
    let st = env.json(&["ingest", "status", "acme"]);
    assert_eq!(st["sources"].as_array().unwrap().len(), 1, "{st}");
    assert_eq!(st["registered"][0]["last_run"]["removed"], 1);
    let text = env.ok(&["ingest", "status", "acme"]);
    assert!(text.contains("registered sources (1)") && text.contains("every 6h"), "{text}");
    let text = env.ok(&["ingest", "sync", "acme", "--force"]);
    assert!(text.starts_with("synced files"), "{text}");

    // Unregistered: nothing left to sync.
    let id = st["registered"][0]["source_id"].as_str().unwrap().to_string();
    env.ok(&["ingest", "unregister", "acme", &id]);
    assert_eq!(env.json(&["ingest", "sync", "--force"]), serde_json::json!([]));
    let out = env.run(&["ingest", "unregister", "acme", &id]);
    assert!(!out.status.success());
}

#[test]
fn ai_config_clearing_rules_and_inactive_chat() {
    let env = Env::new();
    env.ok(&["company", "create", "acme", "--name", "Acme", "--email", "ops@acme.test"]);
    let c = env.json(&[
        "company",
        "ai-config",
        "acme",
        "--daily-token-budget",
        "5000",
        "--webhook-url",
        "https://hooks.example.com/lead",
        "--allowed-topic",
        "shipping",
    ]);
    assert_eq!(c["daily_token_budget"], 5000);
    assert_eq!(c["lead_webhook_url"], "https://hooks.example.com/lead");
    let c = env.json(&["company", "ai-config", "acme", "--daily-token-budget", "0", "--webhook-url", ""]);
    assert!(c["daily_token_budget"].is_null(), "0 removes the budget: {c}");
    assert!(c["lead_webhook_url"].is_null(), "\"\" removes the webhook: {c}");
    assert_eq!(c["allowed_topics"][0], "shipping", "a list not given is kept: {c}");
    let shown = env.json(&["company", "show", "acme"]);
    assert!(shown["company"]["ai_config"]["daily_token_budget"].is_null());

    // Internal webhook URLs are refused when saved, naming the field; the opt-in allows them.
    for url in
        ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/hook", "https://localhost/hook"]
    {
        let out = env.run(&["company", "ai-config", "acme", "--webhook-url", url]);
        assert!(!out.status.success(), "{url} must be refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("lead_webhook_url"), "{url}: {err}");
    }
    let out = env.run_with(
        &["company", "ai-config", "acme", "--webhook-url", "http://127.0.0.1:9/hook"],
        &[("CHATBOT_ALLOW_PRIVATE_WEBHOOKS", "1")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let purged = env.json(&["db", "purge-sessions"]);
    assert_eq!(purged["purged_sessions"], 0, "{purged}");

    env.ok(&["company", "deactivate", "acme"]);
    let out = env.run(&["chat", "acme", "--message", "hello"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inactive"));
}

#[test]
fn feedback_list_shows_the_ratings_of_replies() {
    use chatbot_core::store::{FeedbackStore, SqliteStore};
    use chatbot_core::{Feedback, Rating};
    let env = Env::new();
    env.ok(&["demo", "seed"]);
    let c = env.json(&["chat", "123", "--message", "How many days do I have to return something?"]);
    let message_id = c["message_id"].as_str().unwrap().to_string();
    assert!(message_id.starts_with("msg_"), "{c}");
    let session_id = c["session_id"].as_str().unwrap().to_string();
    assert_eq!(env.json(&["feedback", "list", "123"]), serde_json::json!([]));
    assert_eq!(env.ok(&["feedback", "list", "123"]), "");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = SqliteStore::connect(&format!("sqlite://{}", env.db().display())).await.unwrap();
        let now = chrono::Utc::now();
        store
            .put_feedback(&Feedback {
                company_id: "123".into(),
                session_id: session_id.clone(),
                message_id: message_id.clone(),
                rating: Rating::Down,
                comment: Some("wrong\nprice\tforged column".into()),
                message: c["message"].as_str().unwrap().into(),
                question: "How many days do I have to return something?".into(),
                created_at: now,
                updated_at: now,
            })
            .await
            .unwrap();
    });
    let list = env.json(&["feedback", "list", "123"]);
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["message_id"].as_str(), Some(message_id.as_str()));
    assert_eq!(
        (rows[0]["rating"].as_str(), rows[0]["session_id"].as_str()),
        (Some("down"), Some(session_id.as_str()))
    );
    assert_eq!(rows[0]["comment"], "wrong\nprice\tforged column");
    let text = env.ok(&["feedback", "list", "123"]);
    assert_eq!(text.lines().count(), 1, "one line per rating: {text:?}");
    let cols: Vec<&str> = text.trim_end().split('\t').collect();
    assert_eq!(cols.len(), 6, "{text:?}");
    assert_eq!(
        (cols[1], cols[2], cols[3], cols[4]),
        ("down", session_id.as_str(), message_id.as_str(), "wrong price forged column")
    );
    assert!(cols[5].contains("30 days"), "{text:?}");
    assert_eq!(env.json(&["feedback", "list", "123", "--offset", "1"]), serde_json::json!([]));

    let out = env.run(&["feedback", "list", "nope"]);
    assert_eq!(out.status.code(), Some(3), "unknown company: {}", String::from_utf8_lossy(&out.stderr));
    let out = env.run(&["feedback", "list", "123", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(2), "limit 0: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("limit"));
}

#[test]
fn gaps_groups_what_the_terminal_chat_could_not_answer() {
    let env = Env::new();
    env.ok(&["demo", "seed"]);
    for q in [
        "Do you have a student discount?",
        "What are your opening hours?",
        "Are there discounts for students?",
        "Do you offer a loyalty programme?",
    ] {
        env.json(&["chat", "123", "--message", q]);
    }
    let r = env.json(&["gaps", "123"]);
    assert_eq!(
        (r["grouping"].as_str(), r["turns"].as_u64(), r["gaps"].as_u64()),
        (Some("lexical"), Some(4), Some(3)),
        "{r}"
    );
    let counts: Vec<u64> =
        r["groups"].as_array().unwrap().iter().map(|g| g["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, [2, 1], "{r}");
    assert_eq!(
        r["groups"][0]["questions"],
        serde_json::json!(["Are there discounts for students?", "Do you have a student discount?"])
    );

    let text = env.ok(&["gaps", "123", "--since", "24h"]);
    assert!(text.starts_with("Gaps of company 123 since "), "{text}");
    assert!(text.contains("4 turns, 3 gaps, 2 groups"), "{text}");
    let row = text.lines().find(|l| l.trim_start().starts_with("1 ")).unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("no_knowledge"), "{text}");
    assert!(text.contains("- Do you have a student discount?"), "{text}");
    let one = env.ok(&["gaps", "123", "--since", "30m", "--limit", "1"]);
    assert!(one.contains("3 gaps, 1 groups") && !one.contains("loyalty"), "{one}");

    for bad in ["999999999999d", "7w", "🙂", "2026-02-30"] {
        let out = env.run(&["gaps", "123", "--since", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("since"), "{bad}");
    }
    let out = env.run(&["gaps", "nope"]);
    assert_eq!(out.status.code(), Some(3), "unknown company: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        env.json(&["db", "purge-turns"]),
        serde_json::json!({"purged_turns": 0}),
        "nothing is 90 days old"
    );
}

/// The knowledge loop from the terminal: unanswerable questions show up grouped in the gap
/// report, the group gets a curated answer, and a paraphrase nobody asked before gets it
/// (`answered_by: "curated"`); a group the report does not have is a clear error.
#[test]
fn a_gap_group_answered_is_answered_from_then_on() {
    let env = Env::new();
    env.ok(&["demo", "seed"]);
    for q in [
        "Do you have a student discount?",
        "Are there discounts for students?",
        "Do you offer a loyalty programme?",
    ] {
        let r = env.json(&["chat", "123", "--message", q]);
        assert_ne!(r["answered_by"], "curated", "{r}");
    }
    let report = env.json(&["gaps", "123"]);
    let group = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["count"] == 2)
        .unwrap_or_else(|| panic!("{report}"));
    let id = group["id"].as_u64().unwrap().to_string();
    let added = env.json(&[
        "gaps",
        "123",
        "--answer-group",
        &id,
        "--answer",
        "Students get 10% off with a valid student card.",
    ]);
    assert_eq!(added["questions"], group["questions"], "{added}");
    let r = env.json(&["chat", "123", "--message", "Is there a student discount?"]);
    assert_eq!(r["answered_by"], "curated", "{r}");
    assert!(r["message"].as_str().unwrap().starts_with("Students get 10% off"), "{r}");
    let out = env.run(&["gaps", "123", "--answer-group", "99", "--answer", "x"]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gap group 99"));
}
