//! The local vector index: ordering, filters, deletes, namespace isolation, persistence,
//! crash tolerance and concurrent readers during writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chatbot_core::Error;
use chatbot_core::rag::{LocalIndex, Metadata, MetadataFilter, VectorRecord, VectorStore};
use serde_json::json;

fn meta(pairs: &[(&str, serde_json::Value)]) -> Metadata {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn rec(id: &str, values: Vec<f32>, m: Metadata) -> VectorRecord {
    VectorRecord { id: id.into(), values, terms: None, metadata: m }
}

/// A bag-of-words vector of a text (its lower-cased words hashed into 64 buckets).
fn bow(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; 64];
    for w in text.to_lowercase().split_whitespace() {
        v[chatbot_core::rag::bm25::term_id(w) as usize % 64] += 1.0;
    }
    v
}

/// Deterministic pseudo-random unit-ish vectors.
fn vecs(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            (0..dim)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn query_orders_by_cosine_and_scores_are_exact() {
    let idx = LocalIndex::in_memory();
    let recs = vec![
        rec("x", vec![1.0, 0.0, 0.0], Metadata::new()),
        rec("y", vec![0.0, 2.0, 0.0], Metadata::new()),
        rec("xy", vec![1.0, 1.0, 0.0], Metadata::new()),
        rec("neg", vec![-1.0, 0.0, 0.0], Metadata::new()),
    ];
    assert_eq!(idx.upsert("a", &recs).await.unwrap(), 4);
    let hits = idx.query("a", &[3.0, 0.1, 0.0], 3, None).await.unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["x", "xy", "y"]);
    assert!(hits[0].score > hits[1].score && hits[1].score > hits[2].score);
    let q = [3.0f32, 0.1, 0.0];
    let want = chatbot_core::rag::cosine(&q, &[1.0, 1.0, 0.0]);
    assert!((hits[1].score - want).abs() < 1e-5);
    // top_k larger than the namespace returns all of it
    assert_eq!(idx.query("a", &q, 50, None).await.unwrap().len(), 4);
    assert!(idx.query("a", &q, 0, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn large_namespace_matches_brute_force() {
    // Above the exact-scan threshold, the int8 pass + exact re-rank must still give the true top-k.
    let dim = 64;
    let data = vecs(6000, dim, 7);
    let idx = LocalIndex::in_memory();
    let recs: Vec<VectorRecord> =
        data.iter().enumerate().map(|(i, v)| rec(&format!("v{i}"), v.clone(), Metadata::new())).collect();
    idx.upsert("big", &recs).await.unwrap();
    for q in vecs(20, dim, 99) {
        let mut truth: Vec<(f32, usize)> =
            data.iter().enumerate().map(|(i, v)| (chatbot_core::rag::cosine(&q, v), i)).collect();
        truth.sort_by(|a, b| b.0.total_cmp(&a.0));
        let hits = idx.query("big", &q, 5, None).await.unwrap();
        let got: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
        let want: Vec<String> = truth[..5].iter().map(|(_, i)| format!("v{i}")).collect();
        assert_eq!(got, want);
    }
}

#[tokio::test]
async fn upsert_replaces_by_id_and_filter_applies() {
    let idx = LocalIndex::in_memory();
    idx.upsert(
        "c",
        &[
            rec("1", vec![1.0, 0.0], meta(&[("source", json!("faq")), ("page", json!(1))])),
            rec("2", vec![0.9, 0.1], meta(&[("source", json!("blog"))])),
            rec("3", vec![0.0, 1.0], meta(&[("source", json!("faq")), ("page", json!(2))])),
        ],
    )
    .await
    .unwrap();
    let f = MetadataFilter::eq("source", "faq");
    let hits = idx.query("c", &[1.0, 0.0], 5, Some(&f)).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["1", "3"]);
    assert_eq!(hits[0].metadata.get("page"), Some(&json!(1)));
    let f2 = MetadataFilter { equals: vec![("source".into(), json!("faq")), ("page".into(), json!(2))] };
    assert_eq!(idx.query("c", &[1.0, 0.0], 5, Some(&f2)).await.unwrap()[0].id, "3");
    // Replace "1": new vector and metadata, same count.
    idx.upsert("c", &[rec("1", vec![0.0, -1.0], meta(&[("source", json!("blog"))]))]).await.unwrap();
    assert_eq!(idx.stats("c").await.unwrap().vector_count, 3);
    let hits = idx.query("c", &[1.0, 0.0], 5, Some(&f)).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["3"]);
    let fetched = idx.fetch("c", &["1".into(), "missing".into()]).await.unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].values, vec![0.0, -1.0]);
}

#[tokio::test]
async fn delete_and_delete_namespace() {
    let idx = LocalIndex::in_memory();
    let data = vecs(10, 8, 1);
    let recs: Vec<VectorRecord> =
        data.iter().enumerate().map(|(i, v)| rec(&format!("r{i}"), v.clone(), Metadata::new())).collect();
    idx.upsert("d", &recs).await.unwrap();
    idx.delete("d", &["r0".into(), "r5".into(), "nope".into()]).await.unwrap();
    let st = idx.stats("d").await.unwrap();
    assert_eq!(st.vector_count, 8);
    assert_eq!(st.dimension, Some(8));
    let hits = idx.query("d", &data[0], 10, None).await.unwrap();
    assert_eq!(hits.len(), 8);
    assert!(hits.iter().all(|h| h.id != "r0" && h.id != "r5"));
    // The row moved into a hole is still found under its own id with its own vector.
    let r9 = idx.fetch("d", &["r9".into()]).await.unwrap();
    assert!((chatbot_core::rag::cosine(&r9[0].values, &data[9]) - 1.0).abs() < 1e-5);
    idx.delete_namespace("d").await.unwrap();
    assert_eq!(idx.stats("d").await.unwrap().vector_count, 0);
    assert!(idx.query("d", &data[0], 3, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn namespaces_are_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let idx = LocalIndex::open(dir.path()).unwrap();
    idx.upsert("company-a", &[rec("secret-a", vec![1.0, 0.0], meta(&[("t", json!("A"))]))]).await.unwrap();
    idx.upsert("company-b", &[rec("secret-b", vec![1.0, 0.0], meta(&[("t", json!("B"))]))]).await.unwrap();
    let a = idx.query("company-a", &[1.0, 0.0], 10, None).await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].id, "secret-a");
    assert!(idx.fetch("company-a", &["secret-b".into()]).await.unwrap().is_empty());
    idx.delete("company-a", &["secret-b".into()]).await.unwrap();
    assert_eq!(idx.stats("company-b").await.unwrap().vector_count, 1);
    idx.delete_namespace("company-a").await.unwrap();
    assert_eq!(idx.query("company-b", &[1.0, 0.0], 10, None).await.unwrap()[0].id, "secret-b");
    // Namespaces with path-hostile names stay distinct files.
    idx.upsert("../etc/passwd", &[rec("x", vec![0.0, 1.0], Metadata::new())]).await.unwrap();
    assert!(
        dir.path().read_dir().unwrap().all(|e| e.unwrap().file_name().to_string_lossy().starts_with("ns-"))
    );
    assert_eq!(idx.stats("company-b").await.unwrap().vector_count, 1);
}

#[tokio::test]
async fn dimension_mismatch_is_a_clear_error() {
    let idx = LocalIndex::in_memory();
    idx.upsert("m", &[rec("a", vec![1.0, 0.0, 0.0], Metadata::new())]).await.unwrap();
    let err = idx.query("m", &[1.0, 0.0], 3, None).await.unwrap_err();
    assert!(matches!(err, Error::EmbedderMismatch(_)), "{err:?}");
    assert!(err.to_string().contains("3-dimensional") && err.to_string().contains("2-dimensional"), "{err}");
    let err = idx.upsert("m", &[rec("b", vec![1.0; 4], Metadata::new())]).await.unwrap_err();
    assert!(matches!(err, Error::EmbedderMismatch(_)));
    let err = idx.upsert("m", &[rec("c", vec![f32::NAN, 0.0, 0.0], Metadata::new())]).await.unwrap_err();
    assert_eq!(err.field(), Some("values"));
    let err = idx.upsert("m", &[rec("", vec![1.0, 0.0, 0.0], Metadata::new())]).await.unwrap_err();
    assert_eq!(err.field(), Some("id"));
    // Nothing half-written.
    assert_eq!(idx.stats("m").await.unwrap().vector_count, 1);
    // A fresh namespace answers an empty result for any dimension.
    assert!(idx.query("empty", &[1.0; 7], 3, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn persists_across_reopen_with_deletes_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let texts = ["shipping to europe takes five days", "returns within thirty days", "opening hours 9 to 5"];
    {
        let idx = LocalIndex::open(dir.path()).unwrap();
        let recs: Vec<VectorRecord> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| rec(&format!("t{i}"), bow(t), meta(&[("text", json!(t))])))
            .collect();
        idx.upsert("acme", &recs).await.unwrap();
        idx.delete("acme", &["t2".into()]).await.unwrap();
        // Many rewrites of one id make the log mostly dead: compaction kicks in on reopen.
        for round in 0..1100 {
            let v = bow(&format!("filler round {round}"));
            idx.upsert("acme", &[rec("churn", v, Metadata::new())]).await.unwrap();
        }
        idx.upsert("other", &[rec("o", bow("other company"), Metadata::new())]).await.unwrap();
    }
    let log_before: u64 = dir.path().read_dir().unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    let idx = LocalIndex::open(dir.path()).unwrap();
    assert_eq!(idx.namespaces().unwrap(), ["acme", "other"]);
    let st = idx.stats("acme").await.unwrap();
    assert_eq!(st.vector_count, 3);
    assert_eq!(st.dimension, Some(bow("x").len()));
    let hits = idx.query("acme", &bow("how long is shipping to Europe"), 1, None).await.unwrap();
    assert_eq!(hits[0].id, "t0");
    assert_eq!(hits[0].metadata.get("text"), Some(&json!(texts[0])));
    assert!(idx.fetch("acme", &["t2".into()]).await.unwrap().is_empty());
    let log_after: u64 = dir.path().read_dir().unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(log_after < log_before / 10, "compaction: {log_before} -> {log_after}");
    // Still writable after compaction, and that survives too.
    idx.upsert("acme", &[rec("t3", bow("gift cards"), Metadata::new())]).await.unwrap();
    drop(idx);
    let idx = LocalIndex::open(dir.path()).unwrap();
    assert_eq!(idx.stats("acme").await.unwrap().vector_count, 4);
}

#[tokio::test]
async fn torn_tail_is_cut_and_earlier_writes_survive() {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = LocalIndex::open(dir.path()).unwrap();
        idx.upsert("t", &[rec("a", vec![1.0, 0.0], Metadata::new())]).await.unwrap();
        idx.upsert("t", &[rec("b", vec![0.0, 1.0], Metadata::new())]).await.unwrap();
    }
    let log = dir.path().read_dir().unwrap().next().unwrap().unwrap().path();
    // Simulate a crash mid-write: chop the last entry in half, then append garbage.
    let len = std::fs::metadata(&log).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    f.set_len(len - 10).unwrap();
    drop(f);
    let idx = LocalIndex::open(dir.path()).unwrap();
    let ids: Vec<String> =
        idx.query("t", &[1.0, 1.0], 5, None).await.unwrap().into_iter().map(|h| h.id).collect();
    assert_eq!(ids, ["a"]);
    idx.upsert("t", &[rec("c", vec![1.0, 1.0], Metadata::new())]).await.unwrap();
    drop(idx);
    let idx = LocalIndex::open(dir.path()).unwrap();
    assert_eq!(idx.stats("t").await.unwrap().vector_count, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_readers_during_writes() {
    let dir = tempfile::tempdir().unwrap();
    let idx = Arc::new(LocalIndex::open(dir.path()).unwrap());
    let dim = 32;
    let base = vecs(200, dim, 3);
    let recs: Vec<VectorRecord> =
        base.iter().enumerate().map(|(i, v)| rec(&format!("b{i}"), v.clone(), Metadata::new())).collect();
    idx.upsert("ns", &recs).await.unwrap();
    let writer = {
        let idx = idx.clone();
        tokio::spawn(async move {
            for (i, v) in vecs(300, dim, 4).into_iter().enumerate() {
                idx.upsert("ns", &[rec(&format!("w{i}"), v, Metadata::new())]).await.unwrap();
                if i % 3 == 0 {
                    idx.delete("ns", &[format!("w{i}")]).await.unwrap();
                }
            }
        })
    };
    let mut readers = Vec::new();
    for r in 0..4 {
        let idx = idx.clone();
        let q = base[r * 7].clone();
        readers.push(tokio::spawn(async move {
            for _ in 0..200 {
                let hits = idx.query("ns", &q, 5, None).await.unwrap();
                // The base record itself is always the best match, whatever the writer does.
                assert_eq!(hits[0].id, format!("b{}", r * 7));
                assert!((hits[0].score - 1.0).abs() < 1e-4);
                assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
                tokio::task::yield_now().await;
            }
        }));
    }
    writer.await.unwrap();
    for r in readers {
        r.await.unwrap();
    }
    assert_eq!(idx.stats("ns").await.unwrap().vector_count, 400);
    drop(idx);
    let idx = LocalIndex::open(dir.path()).unwrap();
    assert_eq!(idx.stats("ns").await.unwrap().vector_count, 400);
}

#[tokio::test]
async fn sign_code_fast_path_matches_brute_force_on_clustered_vectors() {
    // Real-ish dense embeddings: topics (cluster centres) plus per-document noise, wide enough
    // (256-d) and many enough (6,000 rows > the 1-bit pass's 4,096 kept rows) that the query
    // goes through the sign-code pass, the int8 re-rank and the exact f32 pass.
    let dim = 256;
    let centres = vecs(40, dim, 3);
    let noise = vecs(6000, dim, 11);
    let data: Vec<Vec<f32>> = noise
        .iter()
        .enumerate()
        .map(|(i, n)| centres[i % 40].iter().zip(n).map(|(c, e)| c + 0.8 * e).collect())
        .collect();
    let idx = LocalIndex::in_memory();
    let recs: Vec<VectorRecord> =
        data.iter().enumerate().map(|(i, v)| rec(&format!("v{i}"), v.clone(), Metadata::new())).collect();
    idx.upsert("clustered", &recs).await.unwrap();
    let qnoise = vecs(30, dim, 77);
    for (qi, n) in qnoise.iter().enumerate() {
        let q: Vec<f32> = centres[(qi * 7) % 40].iter().zip(n).map(|(c, e)| c + 0.8 * e).collect();
        let mut truth: Vec<(f32, usize)> =
            data.iter().enumerate().map(|(i, v)| (chatbot_core::rag::cosine(&q, v), i)).collect();
        truth.sort_by(|a, b| b.0.total_cmp(&a.0));
        for k in [1, 5, 10] {
            let hits = idx.query("clustered", &q, k, None).await.unwrap();
            let got: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
            let want: Vec<String> = truth[..k].iter().map(|(_, i)| format!("v{i}")).collect();
            assert_eq!(got, want, "query {qi}, k {k}");
            for (h, (s, _)) in hits.iter().zip(&truth) {
                assert!((h.score - s).abs() < 1e-5, "score {} vs exact {s}", h.score);
            }
        }
    }
    assert_eq!(idx.exact_top_k_for_bench("clustered", &data[17], 3).unwrap()[0], "v17");
}
