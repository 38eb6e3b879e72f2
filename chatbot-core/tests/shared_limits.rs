//! Rate limits of several instances on one database: on PostgreSQL (when
//! `CHATBOT_TEST_POSTGRES_URL` is set) two `Chatbot`s enforce one per-IP limit between them; on
//! SQLite each process keeps its own limits in memory.

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
    let Some((url, admin, schema)) = harness::pg_fresh_schema().await else {
        println!("skipped: {} not set", harness::PG_ENV);
        return;
    };
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = bot(da.path(), &url).await;
    let b = bot(db.path(), &url).await;
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
