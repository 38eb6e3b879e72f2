//! Topic enforcement on the demo company, end to end and offline: the demo shop seeded into a
//! temporary SQLite database and local index with the offline embedder and the extractive
//! answerer; every message of `tests/data/topic_set.tsv` goes through `Chatbot::partner_chat`.
//! On-topic messages must be answered (>= 95%), off-topic ones refused (>= 90%).
//!
//! `TOPIC_EVAL_VERBOSE=1 cargo test -p chatbot-core --test topic_eval -- --nocapture` prints every
//! message with its top retrieval score and decision (used to calibrate the thresholds).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chatbot_core::AnsweredBy;
use chatbot_core::guard::{TopicDecision, classify_topic};
use chatbot_core::llm::ExtractiveAnswerer;
use chatbot_core::rag::{LocalIndex, OfflineEmbedder};
use chatbot_core::{Chatbot, Config, PartnerChat};

const SET: &str = include_str!("data/topic_set.tsv");

fn load() -> Vec<(bool, String)> {
    SET.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (label, msg) = l.split_once('\t').unwrap_or_else(|| panic!("bad line {l:?}"));
            match label {
                "on" => (true, msg.trim().to_string()),
                "off" => (false, msg.trim().to_string()),
                other => panic!("bad label {other:?}"),
            }
        })
        .collect()
}

#[tokio::test]
async fn demo_company_topic_rates() {
    let set = load();
    let on_total = set.iter().filter(|(on, _)| *on).count();
    let off_total = set.len() - on_total;
    assert!(on_total >= 60 && off_total >= 60, "the set needs >= 60 of each ({on_total}/{off_total})");

    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("eval.db").display());
    let store = chatbot_core::store::open(&db).await.unwrap();
    let config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
    let bot = Chatbot::builder()
        .config(config)
        .store(store)
        .embedder(Arc::new(OfflineEmbedder::new()))
        .vectors(Arc::new(LocalIndex::open(&dir.path().join("index")).unwrap()))
        .model(Arc::new(ExtractiveAnswerer::new()))
        .build()
        .await
        .unwrap();
    bot.seed_demo().await.unwrap();
    let ctx = bot.public_context(chatbot_core::DEMO_COMPANY_ID).await.unwrap();
    let verbose = std::env::var_os("TOPIC_EVAL_VERBOSE").is_some();

    let (mut on_answered, mut off_refused) = (0usize, 0usize);
    let mut misses = Vec::new();
    for (i, (on, msg)) in set.iter().enumerate() {
        // A user id per message: each is a fresh visitor, and no rate limit interferes.
        let input = PartnerChat { user_id: Some(format!("eval_{i}")), ..PartnerChat::new(msg.clone()) };
        let reply = bot.partner_chat(&ctx, input).await.unwrap_or_else(|e| panic!("{msg:?}: {e}"));
        let refused = reply.answered_by == AnsweredBy::Refusal;
        if verbose {
            let best = bot.search(&ctx, msg, 1).await.unwrap().first().map(|h| h.score);
            let d = classify_topic(msg, best, &[]);
            let d = match d {
                TopicDecision::Refuse { reason } => format!("refuse ({reason})"),
                other => format!("{other:?}"),
            };
            println!("{}\t{:.3}\t{d}\t{msg}", if *on { "on" } else { "off" }, best.unwrap_or(0.0));
        }
        match (on, refused) {
            (true, false) => on_answered += 1,
            (false, true) => off_refused += 1,
            (true, true) => misses.push(format!("on-topic refused: {msg}")),
            (false, false) => misses.push(format!("off-topic answered: {msg}")),
        }
    }
    let on_rate = on_answered as f64 / on_total as f64;
    let off_rate = off_refused as f64 / off_total as f64;
    println!(
        "topic eval (demo company, offline): on-topic answered {on_answered}/{on_total} = {:.1}%, off-topic refused {off_refused}/{off_total} = {:.1}%",
        on_rate * 100.0,
        off_rate * 100.0
    );
    for m in &misses {
        println!("  miss: {m}");
    }
    assert!(on_rate >= 0.95, "on-topic answered {:.1}% < 95%", on_rate * 100.0);
    assert!(off_rate >= 0.90, "off-topic refused {:.1}% < 90%", off_rate * 100.0);
}
