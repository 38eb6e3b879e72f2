//! Several instances on one database. On PostgreSQL (when `CHATBOT_TEST_POSTGRES_URL` is set):
//! two `Chatbot`s enforce one per-IP limit between them, and each caches companies and settings,
//! dropping an entry when any writer (another instance, direct SQL) changes it and trusting the
//! cache only while its notification connection works. On SQLite each process keeps its own
//! limits in memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "store_suite/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use chatbot_core::{AiConfig, Chatbot, ClientInfo, Config, Error, NewCompany, PartnerChat};

async fn bot(dir: &Path, database_url: &str) -> Chatbot {
    let mut config = Config::offline(dir.to_path_buf());
    config.database_url = database_url.to_string();
    Chatbot::builder().config(config).build().await.unwrap()
}

async fn company(bot: &Chatbot, id: &str, per_ip: u32) {
    bot.create_company(NewCompany {
        company_id: id.into(),
        company_name: "Limits Co".into(),
        email: "ops@limits.example".into(),
        ai_config: AiConfig { rate_limit_per_ip: Some(per_ip), ..AiConfig::default() },
        ..NewCompany::default()
    })
    .await
    .unwrap();
}

/// Two instances on a fresh PostgreSQL schema of the test database (`None`: none configured).
struct Pair {
    a: Chatbot,
    b: Chatbot,
    url: String,
    admin: sqlx::PgPool,
    schema: String,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn pg_pair() -> Option<Pair> {
    let (url, admin, schema) = harness::pg_fresh_schema().await?;
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = bot(dirs.0.path(), &url).await;
    let b = bot(dirs.1.path(), &url).await;
    Some(Pair { a, b, url, admin, schema, _dirs: dirs })
}

/// Partner-chat requests from one address, alternating between `bots`: (answered, refused), and
/// every refusal is a 429-kind error with a wait.
async fn spread(bots: &[&Chatbot], company_id: &str, n: usize) -> (usize, usize) {
    let ip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
    let (mut ok, mut refused) = (0, 0);
    for i in 0..n {
        let bot = bots[i % bots.len()];
        let ctx = bot.public_context(company_id).await.unwrap();
        let input = PartnerChat { client: ClientInfo { ip: Some(ip) }, ..PartnerChat::new("Hello there") };
        match bot.partner_chat(&ctx, input).await {
            Ok(_) => ok += 1,
            Err(Error::RateLimited { retry_after }) => {
                assert!(retry_after.as_secs() >= 1, "a wait of whole seconds");
                refused += 1;
            }
            Err(e) => panic!("request {i}: {e}"),
        }
    }
    (ok, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_share_one_per_ip_limit() {
    let Some(Pair { a, b, admin, schema, _dirs, .. }) = pg_pair().await else {
        println!("skipped: {} not set", harness::PG_ENV);
        return;
    };
    company(&a, "lim", 6).await;
    // 6 per minute: a burst of 6 for the pair, not 6 each.
    assert_eq!(spread(&[&a, &b], "lim", 14).await, (6, 8));
    drop((a, b));
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_limits_in_each_process() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("one.db").display());
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = bot(da.path(), &url).await;
    company(&a, "lim", 6).await;
    assert_eq!(spread(&[&a], "lim", 8).await, (6, 2), "one instance: its burst, then 429");
    // A second process on the same file has a limiter of its own.
    let b = bot(db.path(), &url).await;
    assert_eq!(spread(&[&b], "lim", 8).await, (6, 2));
}

/// A company's widget welcome message as `store` serves it.
async fn welcome(store: &dyn chatbot_core::store::Store, company_id: &str) -> String {
    store.get_public_widget_settings(company_id).await.unwrap().unwrap().1.welcome_message
}

/// Poll `store` until it serves `expected` (changes arrive by notification, a few milliseconds
/// after the commit); panics after 10 s.
async fn until_served(store: &dyn chatbot_core::store::Store, company_id: &str, expected: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while welcome(store, company_id).await != expected {
        assert!(std::time::Instant::now() < deadline, "never served {expected:?}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_cache_settings_and_follow_every_writer() {
    use chatbot_core::WidgetSettingsPatch;
    use chatbot_core::store::{PostgresStore, StoreAdmin, TenantStore};

    let Some((url, admin, schema)) = harness::pg_fresh_schema().await else {
        println!("skipped: {} not set", harness::PG_ENV);
        return;
    };
    let a = PostgresStore::connect(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = PostgresStore::connect(&url).await.unwrap();
    let company = NewCompany {
        company_id: "c1".into(),
        company_name: "Cache Co".into(),
        email: "c@cache.example".into(),
        ..NewCompany::default()
    };
    b.create_company(&company).await.unwrap();
    let first = welcome(&a, "c1").await;
    // The listener starts with the first read; the cache is used once its heartbeat is back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while a.settings_cache() != "notified" {
        assert!(std::time::Instant::now() < deadline, "listener never became live");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let _ = welcome(&a, "c1").await;
    }
    assert_eq!(welcome(&a, "c1").await, first);

    // A write through another instance is served by this one.
    let patch = WidgetSettingsPatch { welcome_message: Some("Hallo from B".into()), ..Default::default() };
    b.update_widget_settings("c1", &patch).await.unwrap();
    until_served(&a, "c1", "Hallo from B").await;

    // Direct SQL (the trigger notifies).
    sqlx::query("UPDATE widget_settings SET welcome_message = 'Hallo from SQL' WHERE company_id = 'c1'")
        .execute(a.pool())
        .await
        .unwrap();
    until_served(&a, "c1", "Hallo from SQL").await;

    // The cache is really used: with the trigger off, a direct change is not seen...
    sqlx::raw_sql("ALTER TABLE widget_settings DISABLE TRIGGER widget_settings_notify")
        .execute(a.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE widget_settings SET welcome_message = 'silent' WHERE company_id = 'c1'")
        .execute(a.pool())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(welcome(&a, "c1").await, "Hallo from SQL", "served from the cache");
    // ...until the notification connection drops: the cache is emptied (changes may have been
    // missed) and the database read again.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE pid <> pg_backend_pid() AND query LIKE 'LISTEN%'",
    )
    .execute(&admin)
    .await
    .unwrap();
    until_served(&a, "c1", "silent").await;
    sqlx::raw_sql("ALTER TABLE widget_settings ENABLE TRIGGER widget_settings_notify")
        .execute(a.pool())
        .await
        .unwrap();

    // Deactivating a company through another instance reaches this one's public reads.
    b.set_company_active("c1", false).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while a.get_public_widget_settings("c1").await.unwrap().unwrap().0 {
        assert!(std::time::Instant::now() < deadline, "deactivation never seen");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    drop((a, b));
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&admin).await;
}

/// Whether a new visitor's partner-chat turn on `bot` is answered with a curated answer.
async fn curated(bot: &Chatbot, company_id: &str, message: &str) -> bool {
    let ctx = bot.public_context(company_id).await.unwrap();
    let reply = bot.partner_chat(&ctx, PartnerChat::new(message)).await.unwrap();
    reply.answered_by == chatbot_core::AnsweredBy::Curated
}

/// Poll `bot` until `message` is (or is no longer) answered with a curated answer: a change
/// arrives by notification, milliseconds after its commit (without one, the curated cache
/// would serve the old answers for 30 s); panics after 5 s.
async fn until_curated(bot: &Chatbot, company_id: &str, message: &str, expected: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while curated(bot, company_id, message).await != expected {
        assert!(std::time::Instant::now() < deadline, "{message:?}: curated never {expected}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The `curated:` notifications `listener` receives within `wait`.
async fn curated_notifications(
    listener: &mut sqlx::postgres::PgListener,
    wait: std::time::Duration,
) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, listener.recv()).await {
        if n.payload().starts_with("curated:") {
            got.push(n.payload().to_string());
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_see_curated_answers_changed_by_any_writer() {
    use chatbot_core::CuratedInput;

    let Some(Pair { a, b, url, admin, schema, _dirs }) = pg_pair().await else {
        println!("skipped: {} not set", harness::PG_ENV);
        return;
    };
    company(&a, "cur", 1000).await;
    let question = "Can I pay with a gift card?";
    // B answers without a curated answer and keeps the (empty) set in memory, once its
    // notification connection is live (a heartbeat came back).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b.settings_cache() != "notified" {
        assert!(std::time::Instant::now() < deadline, "listener never became live");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let _ = b.public_context("cur").await.unwrap();
    }
    assert!(!curated(&b, "cur", question).await);

    // Added through A: B answers with it on its next turns.
    let op = a.operator_context("cur").await.unwrap();
    let added = a
        .answers(&op)
        .add(CuratedInput {
            questions: vec![question.into()],
            answer: "Yes, gift cards are accepted in the shop and online.".into(),
            source: None,
        })
        .await
        .unwrap();
    until_curated(&b, "cur", question, true).await;

    // The trigger: a counted hit notifies nobody, a changed answer does.
    let pg = sqlx::PgPool::connect(&url).await.unwrap();
    let mut listener = sqlx::postgres::PgListener::connect_with(&pg).await.unwrap();
    listener.listen("chatbot_tenant").await.unwrap();
    let wait = std::time::Duration::from_millis(300);
    sqlx::query("UPDATE curated_answers SET hits = hits + 1, last_hit_at = now() WHERE company_id = 'cur'")
        .execute(&pg)
        .await
        .unwrap();
    assert_eq!(curated_notifications(&mut listener, wait).await, Vec::<String>::new());
    sqlx::query("UPDATE curated_answers SET answer = 'Yes, and vouchers too.' WHERE company_id = 'cur'")
        .execute(&pg)
        .await
        .unwrap();
    assert_eq!(curated_notifications(&mut listener, wait).await, ["curated:cur"]);
    // B serves the new text (it rebuilt its copy on the notification).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let ctx = b.public_context("cur").await.unwrap();
        let reply = b.partner_chat(&ctx, PartnerChat::new(question)).await.unwrap();
        if reply.message == "Yes, and vouchers too." {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "B never served the changed answer");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // B's copy is really used: with the trigger off, a direct change is not seen.
    let trigger = |on: &str| format!("ALTER TABLE curated_answers {on} TRIGGER curated_answers_notify");
    sqlx::raw_sql(sqlx::AssertSqlSafe(trigger("DISABLE"))).execute(&pg).await.unwrap();
    sqlx::query(
        "UPDATE curated_answers SET questions = '[\"something else entirely\"]' WHERE company_id = 'cur'",
    )
    .execute(&pg)
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(curated(&b, "cur", question).await, "served from B's copy");
    sqlx::raw_sql(sqlx::AssertSqlSafe(trigger("ENABLE"))).execute(&pg).await.unwrap();

    // Removed through direct SQL (the trigger notifies): B stops using it at once.
    sqlx::query("DELETE FROM curated_answers WHERE company_id = 'cur' AND answer_id = $1")
        .bind(&added.id)
        .execute(&pg)
        .await
        .unwrap();
    until_curated(&b, "cur", question, false).await;
    drop(listener);
    pg.close().await;
    drop((a, b));
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&admin).await;
}
