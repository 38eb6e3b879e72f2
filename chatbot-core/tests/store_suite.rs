//! One suite of storage tests, run against SQLite (a temporary file, always) and PostgreSQL (when
//! `CHATBOT_TEST_POSTGRES_URL` is set; each test gets a fresh schema, so reruns work): the
//! behaviour checks of `chatbot_core::store::conformance` (what any `Store` must do), the schema
//! checks of the two SQL stores (`store_suite/tests.rs`), and the SQLite-specific tests below.
//!
//! `cargo test -p chatbot-core --test store_suite`
//! `CHATBOT_TEST_POSTGRES_URL=postgres://postgres:postgres@127.0.0.1/chatbot_test cargo test -p chatbot-core --test store_suite`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod store_suite {
    pub mod harness;
    pub mod tests;
}

/// Number of embedded migrations (0001_init, 0002_corpus_stats, 0003_visitor_identity,
/// 0004_widget_settings_more, 0005_feedback, 0006_client_type, 0007_turns, 0008_curated_answers,
/// 0009_knowledge_sources, 0010_rate_limits, 0011_tenant_notify, 0012_webhook_recovery,
/// 0013_curated_notify).
const MIGRATIONS: i64 = 13;

use store_suite::harness::{Ctx, PG_ENV, pg_ctx, pg_fresh_schema, sqlite_ctx};

/// One test per check and backend: `schema` checks take the harness (raw database access),
/// `conformance` checks only the store.
macro_rules! suite {
    (schema: $($schema:ident),* ; conformance: $($check:ident),* $(,)?) => {
        suite!(@backend sqlite, sqlite_ctx().await; $($schema),*; $($check),*);
        suite!(@backend postgres, {
            let Some(ctx) = pg_ctx().await else {
                println!("skipped: CHATBOT_TEST_POSTGRES_URL not set");
                return;
            };
            ctx
        }; $($schema),*; $($check),*);
    };
    (@backend $backend:ident, $ctx:expr; $($schema:ident),*; $($check:ident),*) => {
        mod $backend {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $schema() {
                    let ctx: Ctx = $ctx;
                    store_suite::tests::$schema(&ctx).await;
                    ctx.cleanup().await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let ctx: Ctx = $ctx;
                    chatbot_core::store::conformance::$check(&ctx.store).await;
                    ctx.cleanup().await;
                }
            )*
        }
    };
}

suite!(
    schema:
    migrations_create_every_seed_column,
    migrations_are_idempotent,
    schema_defaults_equal_the_seed,
    corpus_stats_columns;
    conformance:
    companies_create_get_list_deactivate,
    company_patch_and_client_type,
    duplicate_company_is_a_conflict,
    widget_settings_patch,
    concurrent_patches_of_different_fields_all_land,
    api_keys_insert_find_revoke,
    sessions_insert_get_update,
    expired_sessions_are_purged,
    conversations_ensure_append_list_delete,
    concurrent_appends_are_never_lost,
    append_to_conversation_creates_then_appends,
    modify_lead_is_atomic_and_tenant_scoped,
    append_with_lead_inserts_the_lead_once,
    leads_crud_filters_and_messages,
    chunks_upsert_is_idempotent,
    sources_upsert_get_list_delete,
    embedder_identity,
    token_usage_upsert,
    webhook_secret_and_deliveries,
    tenant_isolation,
    corpus_stats_put_get_replace,
    visitor_tokens_insert_find_touch_purge,
    identity_secrets_capped_listed_revoked,
    feedback_put_replace_list_and_isolation,
    deleting_a_conversation_deletes_its_feedback,
    messages_keep_ids_and_sources,
    owner_tokens_and_codes,
    rate_limit_steps_follow_gcra,
    concurrent_rate_limit_steps_are_atomic,
    rate_limit_steps_stop_at_the_first_refusal,
    unsent_notifications_are_found_and_claimed_once,
    knowledge_sources_register_run_due_and_isolation,
    source_leases_are_exclusive_and_expire,
    curated_answers_crud_hits_and_isolation,
    turns_record_list_and_isolation,
    turns_purge_by_company_and_age,
    deleting_a_conversation_deletes_its_turns,
    a_reply_and_its_turn_record_are_one_write,
);

#[tokio::test]
async fn sqlite_connect_creates_directory_file_and_wal() {
    use chatbot_core::store::{SqliteStore, StoreAdmin};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("deeper").join("chat.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    store.migrate().await.unwrap();
    assert!(path.exists(), "database file created");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(store.pool()).await.unwrap();
    assert_eq!(fk, 1);
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(store.pool()).await.unwrap();
    assert_eq!(sync, 2, "synchronous=FULL by default: stored means durable, also on power loss");
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(store.pool()).await.unwrap();
    assert!(busy >= 1000, "busy_timeout set, got {busy}");
    // Foreign key from widget_settings to user_companies is enforced.
    let orphan = sqlx::query(
        "INSERT INTO widget_settings (company_id, company_name, welcome_message) VALUES ('nope', 'x', 'y')",
    )
    .execute(store.pool())
    .await;
    assert!(orphan.is_err(), "orphan widget_settings row must be rejected");
    store.ping().await.unwrap();
}

#[tokio::test]
async fn sqlite_synchronous_normal_is_an_explicit_choice() {
    use chatbot_core::store::SqliteStore;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("n.db").display());
    let store =
        SqliteStore::connect_with(&url, chatbot_core::store::SqliteSynchronous::Normal).await.unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(store.pool()).await.unwrap();
    assert_eq!(sync, 1);
}

#[tokio::test]
async fn sqlite_two_stores_migrate_the_same_new_file_concurrently() {
    use chatbot_core::store::{SqliteStore, StoreAdmin};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("race.db").display());
    let a = SqliteStore::connect(&url).await.unwrap();
    let b = SqliteStore::connect(&url).await.unwrap();
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    ra.unwrap();
    rb.unwrap();
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(a.pool()).await.unwrap();
    assert_eq!(n, MIGRATIONS, "every embedded migration applied once");
}

#[tokio::test]
async fn open_rejects_unknown_scheme() {
    let err = chatbot_core::store::open("mysql://localhost/x").await.err().unwrap();
    assert_eq!(err.code(), "config_error");
}

#[tokio::test]
async fn sqlite_in_memory_url_works() {
    let store = chatbot_core::store::open("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    let company = chatbot_core::NewCompany {
        company_id: "mem".into(),
        company_name: "Mem".into(),
        email: "a@mem.example".into(),
        ..Default::default()
    };
    store.create_company(&company).await.unwrap();
    assert_eq!(store.get_widget_settings("mem").await.unwrap().unwrap().company_name, "Mem");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_several_processes_migrate_a_fresh_schema_at_once() {
    use chatbot_core::store::{PostgresStore, StoreAdmin};
    let Some((url, admin, schema)) = pg_fresh_schema().await else {
        println!("skipped: {PG_ENV} not set");
        return;
    };
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(PostgresStore::connect(&url).await.unwrap());
    }
    let results = futures::future::join_all(stores.iter().map(|s| s.migrate())).await;
    for r in results {
        r.unwrap();
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(stores[0].pool())
        .await
        .unwrap();
    assert_eq!(n, MIGRATIONS, "every embedded migration applied once");
    stores[0].ping().await.unwrap();
    for s in stores {
        s.pool().close().await;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}

/// The hot reads (`GET /api/widget-settings`) are single index lookups, never table scans.
#[tokio::test]
async fn sqlite_hot_reads_use_indexes() {
    let ctx = sqlite_ctx().await;
    let store_suite::harness::Raw::Sqlite(pool) = &ctx.raw else { unreachable!() };
    for (sql, index) in [
        ("EXPLAIN QUERY PLAN SELECT * FROM widget_settings WHERE company_id = 'x'", "unique_widget_company"),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM user_companies WHERE company_id = 'x'",
            "sqlite_autoindex_user_companies",
        ),
        ("EXPLAIN QUERY PLAN SELECT * FROM api_keys WHERE key_hash = 'x'", "sqlite_autoindex_api_keys"),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM chat_conversations WHERE company_id = 'x' AND session_id = 'y'",
            "(company_id=? AND session_id=?)",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM sessions WHERE session_id = 'x' AND company_id = 'y'",
            "(session_id=?)",
        ),
    ] {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.unwrap();
        let plan = rows.iter().map(|r| r.3.as_str()).collect::<Vec<_>>().join(" | ");
        assert!(plan.starts_with("SEARCH"), "{sql}: {plan}");
        assert!(!plan.contains("SCAN"), "{sql}: {plan}");
        assert!(plan.contains(index), "{sql}: {plan}");
    }
    ctx.cleanup().await;
}

/// The stamped tenant cache never serves a stale read: writes through another store (its own
/// connections, as another process has) and through a bare connection are seen by the very
/// next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_cached_tenant_reads_see_every_write_at_once() {
    use chatbot_core::store::{SqliteStore, StoreAdmin, TenantStore};
    use chatbot_core::{NewCompany, WidgetSettingsPatch};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("stamp.db").display());
    let a = SqliteStore::connect(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = SqliteStore::connect(&url).await.unwrap();
    assert!(a.caches_tenant_reads(), "a WAL database file has a commit stamp");
    let mem = SqliteStore::connect("sqlite::memory:").await.unwrap();
    assert!(!mem.caches_tenant_reads(), "an in-memory database reads every time");

    let new = NewCompany {
        company_id: "st".into(),
        company_name: "Stamp".into(),
        email: "a@st.example".into(),
        ..Default::default()
    };
    a.create_company(&new).await.unwrap();
    let (active, s) = a.get_public_widget_settings("st").await.unwrap().unwrap();
    assert!(active);
    assert_eq!(s.company_name, "Stamp");

    // Another store (other connections): every write is seen by A's next read.
    for i in 0..200 {
        let colour = format!("#{:06X}", i * 7919 % 0xFF_FFFF);
        let patch =
            WidgetSettingsPatch::from_json(format!(r#"{{"primary_color":"{colour}"}}"#).as_bytes()).unwrap();
        b.update_widget_settings("st", &patch).await.unwrap();
        let seen = a.get_widget_settings("st").await.unwrap().unwrap();
        assert_eq!(seen.primary_color, colour, "round {i}: stale settings served");
        let (_, public) = a.get_public_widget_settings("st").await.unwrap().unwrap();
        assert_eq!(public.primary_color, colour, "round {i}: stale public settings served");
    }
    b.set_company_active("st", false).await.unwrap();
    assert!(!a.get_public_widget_settings("st").await.unwrap().unwrap().0, "deactivation seen");
    let (company, _) = a.get_company_with_settings("st").await.unwrap().unwrap();
    assert!(!company.is_active);

    // A bare connection that knows nothing of the cache.
    let mut raw = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query("UPDATE widget_settings SET welcome_message = 'raw write' WHERE company_id = 'st'")
        .execute(&mut raw)
        .await
        .unwrap();
    assert_eq!(a.get_widget_settings("st").await.unwrap().unwrap().welcome_message, "raw write");

    // A write from another process: chatbot-cli/tests/cli.rs runs the `chatbot` binary
    // against a store that has cached the settings.
}

/// Concurrent hot writes share commits, each caller still gets its own write's result, one
/// failing write never takes its batch down, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_group_commit_batches_isolates_failures_and_loses_nothing() {
    use chatbot_core::NewCompany;
    use chatbot_core::lead::Lead;
    use chatbot_core::store::{ConversationStore, LeadStore, SqliteStore, StoreAdmin, TenantStore};
    use chatbot_core::{Message, Role};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("group.db").display());
    let store = Arc::new(SqliteStore::connect(&url).await.unwrap());
    store.migrate().await.unwrap();
    let new = NewCompany {
        company_id: "g".into(),
        company_name: "Group".into(),
        email: "a@g.example".into(),
        ..Default::default()
    };
    store.create_company(&new).await.unwrap();
    // A lead id already taken: the lead insert of the visitor that reuses it must fail.
    let taken = Lead::new("lead-taken".into(), "g", "s-first", "u-first");
    store
        .append_to_conversation_with_lead(
            "g",
            "s-first",
            "u-first",
            &[Message::new(Role::User, "hi")],
            &taken,
        )
        .await
        .unwrap();

    let n = 200;
    let mut tasks = Vec::new();
    for i in 0..n {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let sid = format!("s-{i}");
            let lead_id = if i == 77 { "lead-taken".to_string() } else { format!("lead-{i}") };
            let lead = Lead::new(lead_id, "g", &sid, &format!("u-{i}"));
            let first = Message::new(Role::User, format!("question {i}"));
            let r =
                store.append_to_conversation_with_lead("g", &sid, &format!("u-{i}"), &[first], &lead).await;
            if r.is_ok() {
                let reply = Message::new(Role::Assistant, format!("answer {i}"));
                store.append_messages("g", &sid, &[reply]).await.unwrap();
            }
            (i, r.map(|(conv, inserted)| (conv.messages.len(), inserted)))
        }));
    }
    let mut failed = Vec::new();
    for t in tasks {
        let (i, r) = t.await.unwrap();
        match r {
            Ok((len, inserted)) => assert_eq!((len, inserted), (1, true), "visitor {i}"),
            Err(e) => failed.push((i, e.to_string())),
        }
    }
    assert_eq!(failed.len(), 1, "only the duplicate lead id fails: {failed:?}");
    assert_eq!(failed[0].0, 77);
    for i in (0..n).filter(|i| *i != 77) {
        let conv = store.get_conversation("g", &format!("s-{i}")).await.unwrap().unwrap();
        let texts: Vec<&str> = conv.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, [format!("question {i}"), format!("answer {i}")], "visitor {i}");
        assert!(store.get_lead_by_session("g", &format!("s-{i}")).await.unwrap().is_some(), "lead {i}");
    }
    let (batches, writes) = store.group_commit_stats();
    assert!(writes >= 2 * (n as u64 - 1), "every write went through the queue: {writes}");
    assert!(batches < writes, "concurrent writes shared commits: {batches} batches for {writes} writes");

    // A caller that goes away after queueing its write: the write still lands.
    let left = [Message::new(Role::User, "left before the answer")];
    let gone = store.append_messages("g", "s-1", &left);
    let _ = tokio::time::timeout(std::time::Duration::ZERO, gone).await;
    store.append_messages("g", "s-2", &[Message::new(Role::User, "later")]).await.unwrap();
    let conv = store.get_conversation("g", "s-1").await.unwrap().unwrap();
    assert_eq!(conv.messages.last().unwrap().content, "left before the answer");
}
