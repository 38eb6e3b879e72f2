//! Chunks, ingest sources, embedder identity and corpus statistics.

use super::*;

pub async fn chunks_upsert_is_idempotent(store: &Arc<dyn Store>) {
    let s = store;
    let a = chunk("kb", "doc1#0", "https://kb.example/a", "alpha");
    let b = chunk("kb", "doc1#1", "https://kb.example/a", "beta");
    let mut c = chunk("kb", "doc2#0", "https://kb.example/b", "gamma");
    c.metadata = serde_json::Value::Null;
    c.source = None;
    s.upsert_chunks(&[a.clone(), b.clone(), c.clone()]).await.unwrap();
    s.upsert_chunks(&[a.clone(), b.clone(), c.clone()]).await.unwrap();
    assert_eq!(s.count_chunks("kb").await.unwrap(), 3, "same vector ids twice = one row each");

    // Replace content; duplicates inside one batch: the last wins.
    let mut a2 = a.clone();
    a2.content = "alpha v2".into();
    let mut a3 = a.clone();
    a3.content = "alpha v3".into();
    s.upsert_chunks(&[a2, a3.clone()]).await.unwrap();
    assert_eq!(s.count_chunks("kb").await.unwrap(), 3);

    // Returned in the order asked; unknown ids skipped.
    let got = s
        .get_chunks("kb", &["doc2#0".into(), "missing".into(), "doc1#0".into(), "doc1#1".into()])
        .await
        .unwrap();
    assert_eq!(got, vec![c.clone(), a3.clone(), b.clone()]);
    assert!(s.get_chunks("kb", &[]).await.unwrap().is_empty());

    assert_eq!(s.chunk_ids_for_source("kb", "https://kb.example/a").await.unwrap(), vec!["doc1#0", "doc1#1"]);
    let all = s.list_chunks("kb", 10, 0).await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.vector_id.as_str()).collect::<Vec<_>>(),
        vec!["doc1#0", "doc1#1", "doc2#0"]
    );
    let page = s.list_chunks("kb", 1, 1).await.unwrap();
    assert_eq!(page, vec![b.clone()]);

    assert_eq!(
        s.delete_chunks("kb", &["doc1#0".into(), "doc1#1".into(), "missing".into()]).await.unwrap(),
        2
    );
    assert_eq!(s.delete_chunks("kb", &[]).await.unwrap(), 0);
    assert_eq!(s.count_chunks("kb").await.unwrap(), 1);
    assert!(s.chunk_ids_for_source("kb", "https://kb.example/a").await.unwrap().is_empty());

    // A large batch.
    let big: Vec<ChunkRecord> =
        (0..1500).map(|i| chunk("kb", &format!("big#{i:05}"), "big", &format!("text {i}"))).collect();
    s.upsert_chunks(&big).await.unwrap();
    assert_eq!(s.count_chunks("kb").await.unwrap(), 1501);
    assert_eq!(s.chunk_ids_for_source("kb", "big").await.unwrap().len(), 1500);
}

pub async fn sources_upsert_get_list_delete(store: &Arc<dyn Store>) {
    let s = store;
    let a = source_state("src", "https://src.example/a", "h1");
    let mut b = source_state("src", "https://src.example/b", "h2");
    b.title = None;
    b.etag = None;
    b.last_modified = None;
    s.upsert_source(&a).await.unwrap();
    s.upsert_source(&b).await.unwrap();
    assert_eq!(s.get_source("src", &a.source).await.unwrap().as_ref(), Some(&a));
    assert_eq!(s.get_source("src", &b.source).await.unwrap().as_ref(), Some(&b));

    let mut a2 = a.clone();
    a2.content_hash = "h1-v2".into();
    a2.chunk_count = 7;
    a2.ingested_at = now() + TimeDelta::seconds(1);
    s.upsert_source(&a2).await.unwrap();
    assert_eq!(s.list_sources("src").await.unwrap(), vec![a2.clone(), b.clone()]);

    s.delete_source("src", &a.source).await.unwrap();
    s.delete_source("src", "never-there").await.unwrap();
    assert!(s.get_source("src", &a.source).await.unwrap().is_none());
    assert_eq!(s.list_sources("src").await.unwrap(), vec![b]);
}

pub async fn embedder_identity(store: &Arc<dyn Store>) {
    let s = store;
    assert_eq!(s.get_embedder_identity("em").await.unwrap(), None);
    let small = EmbedderIdentity { model: "text-embedding-3-small".into(), dimension: 1536 };
    s.set_embedder_identity("em", Some(&small)).await.unwrap();
    assert_eq!(s.get_embedder_identity("em").await.unwrap(), Some(small));
    let local = EmbedderIdentity { model: "local-hash".into(), dimension: 576 };
    s.set_embedder_identity("em", Some(&local)).await.unwrap();
    assert_eq!(s.get_embedder_identity("em").await.unwrap(), Some(local));
    s.set_embedder_identity("em", None).await.unwrap();
    assert_eq!(s.get_embedder_identity("em").await.unwrap(), None);
    s.set_embedder_identity("em", None).await.unwrap();
}

pub async fn corpus_stats_put_get_replace(store: &Arc<dyn Store>) {
    let s = store;
    assert_eq!(s.get_corpus_stats("cs").await.unwrap(), None);
    let blob: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let before = now();
    s.put_corpus_stats("cs", "offline-hash-v2", 12, &blob).await.unwrap();
    let row = s.get_corpus_stats("cs").await.unwrap().unwrap();
    assert_eq!(
        (row.company_id.as_str(), row.model.as_str(), row.doc_count, &row.stats),
        ("cs", "offline-hash-v2", 12, &blob)
    );
    assert!(row.updated_at >= before - TimeDelta::seconds(1), "updated_at is set on write");
    // Replacing keeps one row per company; other companies are untouched.
    s.put_corpus_stats("other", "m", 1, b"x").await.unwrap();
    s.put_corpus_stats("cs", "offline-hash-v3", 0, &[]).await.unwrap();
    let row = s.get_corpus_stats("cs").await.unwrap().unwrap();
    assert_eq!((row.model.as_str(), row.doc_count, row.stats.len()), ("offline-hash-v3", 0, 0));
    assert_eq!(s.get_corpus_stats("other").await.unwrap().unwrap().stats, b"x".to_vec());
}
