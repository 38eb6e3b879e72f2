//! Query weighting by each company's own corpus statistics, through `Chatbot` on the real
//! SQLite store, local index and offline embedder: a rare term outranks a common one, the
//! statistics follow index and forget, and one company's corpus never changes another's ranking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_core::ingest::index::NewChunk;
use chatbot_core::rag::CorpusStats;
use chatbot_core::rag::{Embedder as _, OfflineEmbedder};
use chatbot_core::{Chatbot, Config, NewCompany};

async fn bot(dir: &std::path::Path) -> Chatbot {
    Chatbot::from_config(Config::offline(dir.to_path_buf())).await.unwrap()
}

async fn company(bot: &Chatbot, id: &str) {
    bot.create_company(NewCompany {
        company_id: id.into(),
        company_name: format!("Company {id}"),
        email: format!("{id}@example.com"),
        ..NewCompany::default()
    })
    .await
    .unwrap();
}

fn chunk(source: &str, text: String) -> NewChunk {
    NewChunk { source: source.into(), title: None, position: 0, text, headings: Vec::new() }
}

/// Company B: many chunks about configuration, one about configuration manuals and one about
/// zork manuals. "configuration" is common there, "zork" rare.
fn corpus_b() -> Vec<NewChunk> {
    let mut v: Vec<NewChunk> = (0..30)
        .map(|i| {
            chunk("https://b.example/settings", format!("Configuration of the widget colour, variant {i}."))
        })
        .collect();
    v.push(chunk("https://b.example/config-manual", "The configuration manual of the shop.".into()));
    v.push(chunk("https://b.example/zork-manual", "The zork manual of the shop.".into()));
    v
}

/// Company A: zork everywhere.
fn corpus_a() -> Vec<NewChunk> {
    (0..200).map(|i| chunk("https://a.example/zork", format!("Zork zork tips, part {i}."))).collect()
}

const QUERY: &str = "configuration zork manual";

async fn ranking(bot: &Chatbot, company_id: &str) -> Vec<(String, f32)> {
    let ctx = bot.operator_context(company_id).await.unwrap();
    bot.search(&ctx, QUERY, 3).await.unwrap().into_iter().map(|h| (h.source, h.score)).collect()
}

#[tokio::test]
async fn a_rare_term_outranks_a_common_one_only_with_the_companys_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path()).await;
    company(&b, "b").await;
    b.index_chunks(&b.operator_context("b").await.unwrap(), &corpus_b()).await.unwrap();
    let row = b.store_unchecked().get_corpus_stats("b").await.unwrap().expect("stats stored by index_chunks");
    assert_eq!(row.doc_count, 32);
    assert_eq!(row.model, OfflineEmbedder::new().model());
    let with_stats = ranking(&b, "b").await;
    assert_eq!(with_stats[0].0, "https://b.example/zork-manual", "{with_stats:?}");
    drop(b);

    // Statistics of another model are ignored: the static weights prefer the long word.
    let b = bot(dir.path()).await;
    b.store_unchecked().put_corpus_stats("b", "some-other-model", row.doc_count, &row.stats).await.unwrap();
    let without = ranking(&b, "b").await;
    assert_eq!(without[0].0, "https://b.example/config-manual", "{without:?}");
}

#[tokio::test]
async fn one_companys_corpus_never_changes_anothers_ranking() {
    let dir = tempfile::tempdir().unwrap();
    let bot1 = bot(dir.path()).await;
    company(&bot1, "a").await;
    company(&bot1, "b").await;
    bot1.index_chunks(&bot1.operator_context("b").await.unwrap(), &corpus_b()).await.unwrap();
    let before = ranking(&bot1, "b").await;
    let stats_before = bot1.store_unchecked().get_corpus_stats("b").await.unwrap().unwrap();
    assert_eq!(before[0].0, "https://b.example/zork-manual");

    // A's corpus makes "zork" common, in A only.
    bot1.index_chunks(&bot1.operator_context("a").await.unwrap(), &corpus_a()).await.unwrap();
    let a = bot1.store_unchecked().get_corpus_stats("a").await.unwrap().unwrap();
    assert_eq!(a.doc_count, 200);
    let stats_after = bot1.store_unchecked().get_corpus_stats("b").await.unwrap().unwrap();
    assert_eq!((stats_after.doc_count, &stats_after.stats), (stats_before.doc_count, &stats_before.stats));
    drop(bot1);

    // A fresh engine (no cache) ranks B's knowledge exactly as before.
    let bot2 = bot(dir.path()).await;
    assert_eq!(ranking(&bot2, "b").await, before);

    // Had B been weighted by A's and B's corpora together, the common-in-A word would lose:
    // the test above would catch a leak.
    let mut mixed = CorpusStats::new();
    for c in corpus_a().iter().chain(corpus_b().iter()) {
        mixed.add_document(&OfflineEmbedder::new().stats_keys(&c.text));
    }
    let model = OfflineEmbedder::new().model().to_string();
    bot2.store_unchecked().put_corpus_stats("b", &model, mixed.doc_count(), &mixed.to_bytes()).await.unwrap();
    drop(bot2);
    let bot3 = bot(dir.path()).await;
    let leaked = ranking(&bot3, "b").await;
    assert_eq!(leaked[0].0, "https://b.example/config-manual", "{leaked:?}");
}

#[tokio::test]
async fn statistics_follow_forget() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path()).await;
    company(&b, "b").await;
    b.index_chunks(&b.operator_context("b").await.unwrap(), &corpus_b()).await.unwrap();
    let ctx = b.operator_context("b").await.unwrap();
    b.knowledge(&ctx).forget(Some("https://b.example/settings")).await.unwrap();
    assert_eq!(b.store_unchecked().get_corpus_stats("b").await.unwrap().unwrap().doc_count, 2);
    b.knowledge(&ctx).forget(None).await.unwrap();
    assert_eq!(b.store_unchecked().get_corpus_stats("b").await.unwrap().unwrap().doc_count, 0);
}

#[tokio::test]
async fn an_ingest_run_refreshes_the_statistics_when_knowledge_changed() {
    use chatbot_core::ingest::IngestOptions;
    use tokio_util::sync::CancellationToken;
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("a.md"), "# Zork\n\nThe zork manual explains zork tips.\n").unwrap();
    std::fs::write(docs.join("b.md"), "# Colours\n\nConfiguration of the widget colour.\n").unwrap();
    let b = bot(&dir.path().join("data")).await;
    company(&b, "b").await;
    let ctx = b.operator_context("b").await.unwrap();
    let run = || async {
        b.knowledge(&ctx)
            .ingest_files(
                std::slice::from_ref(&docs),
                &IngestOptions::default(),
                std::sync::Arc::new(|_| {}),
                &CancellationToken::new(),
            )
            .await
            .unwrap()
    };
    let first = run().await;
    assert!(first.embedded > 0);
    let chunks = b.store_unchecked().count_chunks("b").await.unwrap();
    let row = b.store_unchecked().get_corpus_stats("b").await.unwrap().expect("stats after ingest");
    assert_eq!(row.doc_count, u64::try_from(chunks).unwrap());
    let stats = CorpusStats::from_bytes(&row.stats).unwrap();
    assert_eq!(stats.doc_count(), row.doc_count);

    // A vanished file is swept and the statistics shrink with it.
    std::fs::remove_file(docs.join("a.md")).unwrap();
    let second = run().await;
    assert!(second.deleted > 0);
    let left = b.store_unchecked().count_chunks("b").await.unwrap();
    assert!(left < chunks);
    assert_eq!(
        b.store_unchecked().get_corpus_stats("b").await.unwrap().unwrap().doc_count,
        u64::try_from(left).unwrap()
    );
}
