//! The upgrade path: a company indexed by an older version (another embedder or text analysis)
//! is told clearly to reindex, never searched with mismatched vectors, and `reindex` rebuilds its
//! indexes from the stored chunks (no fetching) so search works again with the same chunk ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chatbot_core::rag::{LocalIndex, Metadata, OfflineEmbedder, VectorRecord, VectorStore};
use chatbot_core::store::EmbedderIdentity;
use chatbot_core::{Chatbot, Config, DEMO_COMPANY_ID, Error};

async fn bot(dir: &std::path::Path) -> Chatbot {
    let db = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
    Chatbot::builder()
        .config(Config { data_dir: dir.to_path_buf(), ..Config::default() })
        .store(chatbot_core::store::open(&db).await.unwrap())
        .embedder(Arc::new(OfflineEmbedder::new()))
        .vectors(Arc::new(LocalIndex::open(&dir.join("index")).unwrap()))
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_index_of_an_older_version_is_refused_until_reindexed_from_stored_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path()).await;
    let seeded = b.seed_demo().await.unwrap();
    assert!(seeded.chunks > 0);
    let ctx = b.operator_context(DEMO_COMPANY_ID).await.unwrap();
    let fresh = b.search(&ctx, "When are you open on Saturday?", 3).await.unwrap();
    assert!(!fresh.is_empty());
    let chunks = b.store_unchecked().list_chunks(DEMO_COMPANY_ID, 1000, 0).await.unwrap();
    drop(b);

    // What version 0.2 left behind: 1,536-d hashed vectors without lexical terms, recorded as
    // the old offline embedder.
    {
        let old = LocalIndex::open(&dir.path().join("index")).unwrap();
        old.delete_namespace(DEMO_COMPANY_ID).await.unwrap();
        let records: Vec<VectorRecord> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| VectorRecord {
                id: c.vector_id.clone(),
                values: (0..1536).map(|j| if j == i % 1536 { 1.0 } else { 0.0 }).collect(),
                terms: None,
                metadata: Metadata::new(),
            })
            .collect();
        old.upsert(DEMO_COMPANY_ID, &records).await.unwrap();
    }
    let b = bot(dir.path()).await;
    let old = EmbedderIdentity { model: "offline-hash-v2".into(), dimension: 1536 };
    b.store_unchecked().set_embedder_identity(DEMO_COMPANY_ID, Some(&old)).await.unwrap();
    let ctx = b.operator_context(DEMO_COMPANY_ID).await.unwrap();
    let err = b.search(&ctx, "When are you open on Saturday?", 3).await.unwrap_err();
    assert!(matches!(err, Error::EmbedderMismatch(_)), "{err:?}");
    assert!(err.to_string().contains("chatbot ingest reindex 123"), "{err}");
    assert!(err.to_string().contains("offline-hash-v2"), "{err}");

    let batches = std::sync::Mutex::new(Vec::new());
    let n = b.knowledge(&ctx).reindex(&|k| batches.lock().unwrap().push(k)).await.unwrap();
    assert_eq!(n, chunks.len());
    assert_eq!(batches.lock().unwrap().iter().sum::<usize>(), chunks.len());
    let after = b.search(&ctx, "When are you open on Saturday?", 3).await.unwrap();
    assert_eq!(after, fresh, "the same ranking as a fresh index");
    let st = b.store_unchecked().list_chunks(DEMO_COMPANY_ID, 1000, 0).await.unwrap();
    assert_eq!(st.len(), chunks.len(), "stored chunks untouched");
    let ids: Vec<&str> = st.iter().map(|c| c.vector_id.as_str()).collect();
    assert!(chunks.iter().all(|c| ids.contains(&c.vector_id.as_str())));
    let stats = b.knowledge(&ctx).status().await.unwrap();
    assert_eq!(stats.chunks, i64::try_from(chunks.len()).unwrap());

    // Reindexing again is harmless.
    assert_eq!(b.knowledge(&ctx).reindex(&|_| {}).await.unwrap(), chunks.len());
    assert_eq!(b.search(&ctx, "When are you open on Saturday?", 3).await.unwrap(), after);
}

#[tokio::test]
async fn reindex_needs_the_companys_secret_key_or_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let b = bot(dir.path()).await;
    b.seed_demo().await.unwrap();
    let public = b.public_context(DEMO_COMPANY_ID).await.unwrap();
    let err = b.knowledge(&public).reindex(&|_| {}).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_) | Error::Forbidden(_)), "{err:?}");
}

#[tokio::test]
async fn a_namespace_left_by_another_database_does_not_block_the_first_ingest() {
    let dir = tempfile::tempdir().unwrap();
    {
        // What an earlier version left in the index folder: 1,536-d records for company 123.
        let old = LocalIndex::open(&dir.path().join("index")).unwrap();
        let rec = VectorRecord {
            id: "old".into(),
            values: vec![0.5; 1536],
            terms: None,
            metadata: Metadata::new(),
        };
        old.upsert(DEMO_COMPANY_ID, &[rec]).await.unwrap();
    }
    // A fresh database with the same index folder: seeding works and search finds the new chunks.
    let b = bot(dir.path()).await;
    assert!(b.seed_demo().await.unwrap().chunks > 0);
    let ctx = b.operator_context(DEMO_COMPANY_ID).await.unwrap();
    assert!(!b.search(&ctx, "When are you open on Saturday?", 3).await.unwrap().is_empty());
}
