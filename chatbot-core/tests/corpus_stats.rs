//! Lexical ranking by each company's own corpus, through `Chatbot` on the real SQLite store and
//! local index: a rare term outranks a common one (BM25's IDF over the company's chunks), one
//! company's corpus never changes another's scores, and the corpus statistics a remote store
//! needs (Pinecone's sparse query weights) follow index, ingest and forget.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use async_trait::async_trait;
use chatbot_core::ingest::index::NewChunk;
use chatbot_core::rag::{
    CorpusStats, LexicalQuery, LocalIndex, MetadataFilter, NamespaceStats, OfflineEmbedder, QueryMatch,
    VectorRecord, VectorStore,
};
use chatbot_core::{Chatbot, Config, NewCompany, Result};

async fn bot(dir: &std::path::Path) -> Chatbot {
    Chatbot::from_config(Config::offline(dir.to_path_buf())).await.unwrap()
}

/// The local index declaring what a remote store declares: it needs the company's statistics
/// for its lexical query weights (so the engine keeps them, as it does for Pinecone).
struct NeedsStats(LocalIndex);

#[async_trait]
impl VectorStore for NeedsStats {
    fn name(&self) -> &'static str {
        "needs-stats"
    }
    fn max_upsert_batch(&self) -> usize {
        self.0.max_upsert_batch()
    }
    fn lexical(&self) -> bool {
        self.0.lexical()
    }
    fn needs_corpus_stats(&self) -> bool {
        true
    }
    async fn upsert(&self, ns: &str, records: &[VectorRecord]) -> Result<usize> {
        self.0.upsert(ns, records).await
    }
    async fn query(
        &self,
        ns: &str,
        v: &[f32],
        k: usize,
        f: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
        self.0.query(ns, v, k, f).await
    }
    async fn query_lexical(
        &self,
        ns: &str,
        q: &LexicalQuery,
        k: usize,
        f: Option<&MetadataFilter>,
    ) -> Result<Vec<QueryMatch>> {
        self.0.query_lexical(ns, q, k, f).await
    }
    async fn fetch(&self, ns: &str, ids: &[String]) -> Result<Vec<VectorRecord>> {
        self.0.fetch(ns, ids).await
    }
    async fn delete(&self, ns: &str, ids: &[String]) -> Result<()> {
        self.0.delete(ns, ids).await
    }
    async fn delete_namespace(&self, ns: &str) -> Result<()> {
        self.0.delete_namespace(ns).await
    }
    async fn stats(&self, ns: &str) -> Result<NamespaceStats> {
        self.0.stats(ns).await
    }
}

async fn stats_bot(dir: &std::path::Path) -> Chatbot {
    let db = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
    Chatbot::builder()
        .config(Config { data_dir: dir.to_path_buf(), ..Config::default() })
        .store(chatbot_core::store::open(&db).await.unwrap())
        .embedder(Arc::new(OfflineEmbedder::new()))
        .vectors(Arc::new(NeedsStats(LocalIndex::open(&dir.join("index")).unwrap())))
        .build()
        .await
        .unwrap()
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
async fn a_rare_term_outranks_a_common_one_by_the_companys_own_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path()).await;
    company(&b, "b").await;
    b.index_chunks(&b.operator_context("b").await.unwrap(), &corpus_b()).await.unwrap();
    let ranked = ranking(&b, "b").await;
    assert_eq!(ranked[0].0, "https://b.example/zork-manual", "{ranked:?}");
    assert_eq!(ranked[1].0, "https://b.example/config-manual", "{ranked:?}");
    assert!(ranked[0].1 > ranked[1].1 && ranked[1].1 > 0.0, "{ranked:?}");
}

#[tokio::test]
async fn one_companys_corpus_never_changes_anothers_ranking() {
    let dir = tempfile::tempdir().unwrap();
    let bot1 = bot(dir.path()).await;
    company(&bot1, "a").await;
    company(&bot1, "b").await;
    bot1.index_chunks(&bot1.operator_context("b").await.unwrap(), &corpus_b()).await.unwrap();
    let before = ranking(&bot1, "b").await;
    assert_eq!(before[0].0, "https://b.example/zork-manual");

    // A's corpus makes "zork" common, in A only: B's scores stay exactly the same.
    bot1.index_chunks(&bot1.operator_context("a").await.unwrap(), &corpus_a()).await.unwrap();
    assert_eq!(ranking(&bot1, "b").await, before);
    assert_eq!(ranking(&bot1, "a").await[0].0, "https://a.example/zork");
    drop(bot1);

    // A fresh engine (index reloaded from disk) ranks B's knowledge exactly as before.
    let bot2 = bot(dir.path()).await;
    assert_eq!(ranking(&bot2, "b").await, before);

    // Had B's statistics counted A's chunks too, "zork" would weigh less than "configuration":
    // the equality above would catch a leak.
    let mut mixed = CorpusStats::new();
    for c in corpus_a().iter().chain(corpus_b().iter()) {
        mixed.add_document(&chatbot_core::rag::bm25::document_terms(&c.text).ids);
    }
    let zork = chatbot_core::rag::bm25::term_id("zork");
    let conf = chatbot_core::rag::bm25::query_terms("configuration").ids[0];
    assert!(mixed.df(zork) > mixed.df(conf));
}

#[tokio::test]
async fn statistics_a_remote_store_needs_are_kept_per_company() {
    let dir = tempfile::tempdir().unwrap();
    let bot = stats_bot(dir.path()).await;
    company(&bot, "a").await;
    company(&bot, "b").await;
    bot.index_chunks(&bot.operator_context("b").await.unwrap(), &corpus_b()).await.unwrap();
    let row =
        bot.store_unchecked().get_corpus_stats("b").await.unwrap().expect("stats stored by index_chunks");
    assert_eq!(row.doc_count, 32);
    assert_eq!(row.model, chatbot_core::rag::bm25::ANALYZER);
    bot.index_chunks(&bot.operator_context("a").await.unwrap(), &corpus_a()).await.unwrap();
    assert_eq!(bot.store_unchecked().get_corpus_stats("a").await.unwrap().unwrap().doc_count, 200);
    let after = bot.store_unchecked().get_corpus_stats("b").await.unwrap().unwrap();
    assert_eq!((after.doc_count, &after.stats), (row.doc_count, &row.stats));
    // The local index counts its own: no statistics are kept for it.
    let plain = bot_dir_plain(dir.path()).await;
    company(&plain, "c").await;
    plain.index_chunks(&plain.operator_context("c").await.unwrap(), &corpus_b()).await.unwrap();
    assert_eq!(plain.store_unchecked().get_corpus_stats("c").await.unwrap(), None);
}

async fn bot_dir_plain(dir: &std::path::Path) -> Chatbot {
    bot(&dir.join("plain")).await
}

#[tokio::test]
async fn statistics_follow_forget() {
    let dir = tempfile::tempdir().unwrap();
    let b = stats_bot(dir.path()).await;
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
    let b = stats_bot(&dir.path().join("data")).await;
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
