//! The local index's lexical side: exact BM25 against a direct computation of the textbook
//! formula, ranking and ties, per-namespace statistics (tenant isolation), persistence
//! (including logs written before terms existed), deletes and replacements, lexical-only
//! (dimension 0) records and hostile terms.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_core::Error;
use chatbot_core::rag::bm25::term_id;
use chatbot_core::rag::{
    LexicalQuery, LocalIndex, Metadata, MetadataFilter, QueryMatch, Terms, VectorRecord, VectorStore,
};
use serde_json::json;

fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

fn terms(text: &str) -> Terms {
    Terms::from_tokens(words(text))
}

fn doc(id: &str, values: Vec<f32>, text: &str, m: Metadata) -> VectorRecord {
    VectorRecord { id: id.into(), values, terms: Some(terms(text)), metadata: m }
}

fn lex(id: &str, text: &str) -> VectorRecord {
    doc(id, Vec::new(), text, Metadata::new())
}

/// A query with deliberately wrong weights: the local index must ignore them.
fn query(text: &str) -> LexicalQuery {
    let t = terms(text);
    LexicalQuery { weights: vec![1234.5; t.ids.len()], ids: t.ids }
}

fn meta(k: &str, v: serde_json::Value) -> Metadata {
    [(k.to_string(), v)].into_iter().collect()
}

/// The textbook BM25 (Robertson/Sparck Jones IDF with Lucene's `+1`, k1 = 1.2, b = 0.75),
/// computed here from the raw token lists, independently of the library, divided by the
/// query's IDF mass (the sum of its terms' IDF; a term no document holds counts as df 1), as
/// `query_lexical` reports it.
fn textbook(corpus: &[(&str, &str)], q: &str) -> Vec<(String, f64)> {
    let (k1, b) = (1.2f64, 0.75f64);
    let docs: Vec<(String, Vec<&str>)> = corpus.iter().map(|(id, t)| (id.to_string(), words(t))).collect();
    let n = docs.len() as f64;
    let avgdl = docs.iter().map(|(_, w)| w.len() as f64).sum::<f64>() / n;
    let mut qterms = words(q);
    qterms.sort_unstable();
    qterms.dedup();
    let mass: f64 = qterms
        .iter()
        .map(|t| {
            let df = (docs.iter().filter(|(_, d)| d.contains(t)).count() as f64).max(1.0);
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        })
        .sum();
    let mut out = Vec::new();
    for (id, w) in &docs {
        let mut score = 0.0;
        for t in &qterms {
            let df = docs.iter().filter(|(_, d)| d.contains(t)).count() as f64;
            let tf = w.iter().filter(|x| *x == t).count() as f64;
            if tf == 0.0 {
                continue;
            }
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            score += idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * w.len() as f64 / avgdl));
        }
        if score > 0.0 {
            out.push((id.clone(), score / mass));
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

fn assert_matches_textbook(hits: &[QueryMatch], want: &[(String, f64)]) {
    let got: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    let exp: Vec<&str> = want.iter().map(|w| w.0.as_str()).collect();
    assert_eq!(got, exp);
    for (h, (_, s)) in hits.iter().zip(want) {
        assert!((f64::from(h.score) - s).abs() <= 1e-5 * s.max(1.0), "{}: {} vs textbook {s}", h.id, h.score);
    }
}

const CORPUS: &[(&str, &str)] = &[
    ("d1", "shipping europe five days shipping costs"),
    ("d2", "returns thirty days refund"),
    ("d3", "shipping worldwide ten days express shipping shipping available"),
    ("d4", "opening hours monday friday"),
    ("d5", "gift cards never expire gift"),
    ("d6", "express delivery amsterdam same day"),
];

#[tokio::test]
async fn scores_equal_the_textbook_formula_and_rank_best_first() {
    let idx = LocalIndex::in_memory();
    let recs: Vec<VectorRecord> = CORPUS.iter().map(|(id, t)| lex(id, t)).collect();
    idx.upsert("shop", &recs).await.unwrap();
    assert!(idx.lexical());
    for q in ["shipping days", "express shipping", "gift", "days", "refund opening amsterdam", "unknown"] {
        let want = textbook(CORPUS, q);
        let hits = idx.query_lexical("shop", &query(q), 10, None).await.unwrap();
        assert_matches_textbook(&hits, &want);
    }
    // Top-k cuts the same ranking.
    let hits = idx.query_lexical("shop", &query("shipping days"), 2, None).await.unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].id, textbook(CORPUS, "shipping days")[0].0);
    // Metadata comes back with the hit.
    assert!(hits[0].metadata.is_empty());
}

#[tokio::test]
async fn ties_break_by_id_and_the_filter_applies() {
    let idx = LocalIndex::in_memory();
    let recs = vec![
        doc("c", vec![], "same words here", meta("page", json!("p1"))),
        doc("a", vec![], "same words here", meta("page", json!("p2"))),
        doc("b", vec![], "same words here", meta("page", json!("p1"))),
        doc("z", vec![], "other text entirely", meta("page", json!("p1"))),
    ];
    idx.upsert("t", &recs).await.unwrap();
    let ids = |hits: Vec<QueryMatch>| hits.into_iter().map(|h| h.id).collect::<Vec<_>>();
    assert_eq!(ids(idx.query_lexical("t", &query("words"), 10, None).await.unwrap()), ["a", "b", "c"]);
    assert_eq!(ids(idx.query_lexical("t", &query("words"), 2, None).await.unwrap()), ["a", "b"]);
    // Only "p1" pages; "text" is rarer than "words", so z ranks first.
    let f = MetadataFilter::eq("page", "p1");
    assert_eq!(
        ids(idx.query_lexical("t", &query("words text"), 10, Some(&f)).await.unwrap()),
        ["z", "b", "c"]
    );
    let f = MetadataFilter::eq("page", "p9");
    assert!(idx.query_lexical("t", &query("words"), 10, Some(&f)).await.unwrap().is_empty());
}

#[tokio::test]
async fn one_namespace_never_changes_another_namespaces_scores() {
    let idx = LocalIndex::in_memory();
    let recs: Vec<VectorRecord> = CORPUS.iter().map(|(id, t)| lex(id, t)).collect();
    idx.upsert("company-b", &recs).await.unwrap();
    let q = query("shipping express gift");
    let before = idx.query_lexical("company-b", &q, 10, None).await.unwrap();
    // Company A: thousands of documents full of the query's terms (their IDF in A collapses).
    let flood: Vec<VectorRecord> = (0..3000)
        .map(|i| lex(&format!("a{i}"), &format!("shipping shipping express gift gift filler{}", i % 7)))
        .collect();
    idx.upsert("company-a", &flood).await.unwrap();
    let after = idx.query_lexical("company-b", &q, 10, None).await.unwrap();
    assert_eq!(before, after, "B's scores must not depend on A's documents");
    assert!(after.iter().all(|h| h.id.starts_with('d')), "never another namespace's records");
    // The same documents in a namespace of their own score identically too.
    idx.upsert("company-c", &recs).await.unwrap();
    assert_eq!(idx.query_lexical("company-c", &q, 10, None).await.unwrap(), before);
    let (n, df) = idx.lexical_stats("company-b", &[term_id("shipping")]).unwrap();
    assert_eq!((n, df), (6, vec![2]));
    // A's own statistics are A's: its ranking follows its own IDF.
    let (n, df) = idx.lexical_stats("company-a", &[term_id("shipping"), term_id("filler3")]).unwrap();
    let filler3 = (0..3000).filter(|i| i % 7 == 3).count() as u32;
    assert_eq!((n, df), (3000, vec![3000, filler3]));
    let top = idx.query_lexical("company-a", &query("filler3 shipping"), 1, None).await.unwrap();
    // Every "filler3" document ties: the smallest id wins.
    let first = (0..3000).filter(|i| i % 7 == 3).map(|i| format!("a{i}")).min().unwrap();
    assert_eq!(top[0].id, first);
    idx.delete_namespace("company-a").await.unwrap();
    assert_eq!(idx.query_lexical("company-b", &q, 10, None).await.unwrap(), before);
}

#[tokio::test]
async fn replacing_and_deleting_update_postings_and_statistics() {
    let idx = LocalIndex::in_memory();
    let recs: Vec<VectorRecord> = CORPUS.iter().map(|(id, t)| lex(id, t)).collect();
    idx.upsert("s", &recs).await.unwrap();
    // Replace d1 with a text without "shipping"; delete d5.
    idx.upsert("s", &[lex("d1", "warehouse closed on sundays")]).await.unwrap();
    idx.delete("s", &["d5".into(), "never-there".into()]).await.unwrap();
    let live: Vec<(&str, &str)> =
        vec![("d1", "warehouse closed on sundays"), CORPUS[1], CORPUS[2], CORPUS[3], CORPUS[5]];
    for q in ["shipping days", "gift", "sundays express"] {
        let hits = idx.query_lexical("s", &query(q), 10, None).await.unwrap();
        assert_matches_textbook(&hits, &textbook(&live, q));
    }
    assert_eq!(idx.lexical_stats("s", &[term_id("gift")]).unwrap(), (5, vec![0]));
    let fetched = idx.fetch("s", &["d1".into()]).await.unwrap();
    assert_eq!(fetched[0].terms, Some(terms("warehouse closed on sundays")));
    // Replacing with no terms takes the record out of the lexical statistics.
    idx.upsert(
        "s",
        &[VectorRecord { id: "d1".into(), values: vec![], terms: None, metadata: Metadata::new() }],
    )
    .await
    .unwrap();
    assert_eq!(idx.lexical_stats("s", &[term_id("sundays")]).unwrap(), (4, vec![0]));
    idx.delete_namespace("s").await.unwrap();
    assert!(idx.query_lexical("s", &query("shipping"), 10, None).await.unwrap().is_empty());
    assert_eq!(idx.lexical_stats("s", &[term_id("shipping")]).unwrap(), (0, vec![0]));
}

#[tokio::test]
async fn many_deletes_rebuild_the_index_without_changing_results() {
    let idx = LocalIndex::in_memory();
    let text = |i: usize| format!("topic{} word{} common tail{}", i % 13, i % 101, i % 3);
    let recs: Vec<VectorRecord> = (0..12_000).map(|i| lex(&format!("r{i:05}"), &text(i))).collect();
    idx.upsert("big", &recs).await.unwrap();
    // Delete 10,000 rows in bursts (well past the rebuild threshold), and rewrite some others.
    for chunk in (0..10_000).collect::<Vec<_>>().chunks(700) {
        let ids: Vec<String> = chunk.iter().map(|i| format!("r{i:05}")).collect();
        idx.delete("big", &ids).await.unwrap();
    }
    let rewritten: Vec<VectorRecord> =
        (10_000..10_500).map(|i| lex(&format!("r{i:05}"), &text(i + 1))).collect();
    idx.upsert("big", &rewritten).await.unwrap();
    // A fresh namespace holding exactly the live records answers identically.
    let mut live: Vec<VectorRecord> = rewritten.clone();
    live.extend((10_500..12_000).map(|i| lex(&format!("r{i:05}"), &text(i))));
    idx.upsert("fresh", &live).await.unwrap();
    for q in ["topic3 word7", "common tail1", "word100 topic12 tail2", "word5"] {
        let a = idx.query_lexical("big", &query(q), 20, None).await.unwrap();
        let b = idx.query_lexical("fresh", &query(q), 20, None).await.unwrap();
        assert!(!a.is_empty());
        assert_eq!(a, b, "query {q}");
    }
    assert_eq!(idx.stats("big").await.unwrap().vector_count, 2000);
}

#[tokio::test]
async fn lexical_only_records_have_dimension_zero() {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = LocalIndex::open(dir.path()).unwrap();
        let recs: Vec<VectorRecord> = CORPUS.iter().map(|(id, t)| lex(id, t)).collect();
        idx.upsert("lex", &recs).await.unwrap();
        let st = idx.stats("lex").await.unwrap();
        assert_eq!((st.vector_count, st.dimension), (6, Some(0)));
        // The dense query finds nothing (whatever its length), never an error.
        assert!(idx.query("lex", &[1.0, 0.0, 0.0], 5, None).await.unwrap().is_empty());
        assert!(idx.query("lex", &[], 5, None).await.unwrap().is_empty());
        // Mixing dense vectors into a lexical-only namespace is the dimension mismatch.
        let err =
            idx.upsert("lex", &[doc("v", vec![1.0, 2.0, 3.0], "x", Metadata::new())]).await.unwrap_err();
        assert!(matches!(err, Error::EmbedderMismatch(_)), "{err:?}");
        // And the other way round.
        idx.upsert("dense", &[doc("v", vec![1.0, 2.0], "x", Metadata::new())]).await.unwrap();
        let err = idx.upsert("dense", &[lex("w", "y")]).await.unwrap_err();
        assert!(matches!(err, Error::EmbedderMismatch(_)), "{err:?}");
        // Within one batch too.
        let err = idx.upsert("mixed", &[lex("a", "x"), doc("b", vec![1.0], "y", Metadata::new())]).await;
        assert!(err.is_err());
        assert_eq!(idx.stats("mixed").await.unwrap().vector_count, 0);
    }
    let idx = LocalIndex::open(dir.path()).unwrap();
    assert_eq!(idx.stats("lex").await.unwrap().dimension, Some(0));
    let hits = idx.query_lexical("lex", &query("shipping days"), 10, None).await.unwrap();
    assert_matches_textbook(&hits, &textbook(CORPUS, "shipping days"));
    // Dense and lexical together in one namespace (a hybrid company).
    let dense = idx.query("dense", &[1.0, 2.0], 1, None).await.unwrap();
    assert_eq!(dense[0].id, "v");
    assert_eq!(idx.query_lexical("dense", &query("x"), 1, None).await.unwrap()[0].id, "v");
}

/// The log format written before terms existed: `CBVLOG1\n`, then entries
/// `[u32 len][u32 crc32][payload]`, the upsert payload `[1][u32 dim][u32 n]` and per record
/// `[u32 len][id][dim x f32][u32 len][metadata JSON]`.
fn old_format_log(namespace: &str, records: &[(&str, Vec<f32>, &str)]) -> (String, Vec<u8>) {
    let put = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u32).to_le_bytes());
    let mut payload = vec![1u8];
    put(&mut payload, records[0].1.len());
    put(&mut payload, records.len());
    for (id, values, meta) in records {
        put(&mut payload, id.len());
        payload.extend_from_slice(id.as_bytes());
        for x in values {
            payload.extend_from_slice(&x.to_le_bytes());
        }
        put(&mut payload, meta.len());
        payload.extend_from_slice(meta.as_bytes());
    }
    let mut file = b"CBVLOG1\n".to_vec();
    put(&mut file, payload.len());
    file.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    file.extend_from_slice(&payload);
    let hex: String = namespace.bytes().map(|b| format!("{b:02x}")).collect();
    (format!("ns-{hex}.log"), file)
}

#[tokio::test]
async fn old_logs_load_and_new_logs_round_trip_terms() {
    let dir = tempfile::tempdir().unwrap();
    let (name, bytes) = old_format_log(
        "legacy",
        &[("o1", vec![1.0, 0.0], r#"{"text":"old one"}"#), ("o2", vec![0.0, 1.0], r#"{"text":"old two"}"#)],
    );
    std::fs::write(dir.path().join(name), bytes).unwrap();
    {
        let idx = LocalIndex::open(dir.path()).unwrap();
        let got = idx.fetch("legacy", &["o1".into(), "o2".into()]).await.unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|r| r.terms.is_none()));
        assert_eq!(got[1].metadata.get("text"), Some(&json!("old two")));
        assert_eq!(idx.query("legacy", &[0.1, 1.0], 1, None).await.unwrap()[0].id, "o2");
        // Old records have no terms: nothing lexical, and they do not count in N.
        assert!(idx.query_lexical("legacy", &query("old"), 5, None).await.unwrap().is_empty());
        // New records with terms append to the old log.
        idx.upsert("legacy", &[doc("n1", vec![1.0, 1.0], "fresh shipping text", Metadata::new())])
            .await
            .unwrap();
        assert_eq!(idx.lexical_stats("legacy", &[term_id("shipping")]).unwrap(), (1, vec![1]));
        // The first entry with terms moved the log to the new magic (earlier versions refuse it
        // rather than cutting the unknown entry off); a dense-only log keeps the old one.
        let magic = |ns: &str| {
            let hex: String = ns.bytes().map(|b| format!("{b:02x}")).collect();
            std::fs::read(dir.path().join(format!("ns-{hex}.log"))).unwrap()[..8].to_vec()
        };
        assert_eq!(magic("legacy"), b"CBVLOG2\n");
        idx.upsert(
            "dense-only",
            &[VectorRecord { id: "v".into(), values: vec![1.0], terms: None, metadata: Metadata::new() }],
        )
        .await
        .unwrap();
        assert_eq!(magic("dense-only"), b"CBVLOG1\n");
        let recs: Vec<VectorRecord> = CORPUS.iter().map(|(id, t)| lex(id, t)).collect();
        idx.upsert("lex", &recs).await.unwrap();
        idx.delete("lex", &["d6".into()]).await.unwrap();
        idx.upsert("lex", &[lex("d2", "returns within thirty days no refund needed")]).await.unwrap();
    }
    let idx = LocalIndex::open(dir.path()).unwrap();
    let got = idx.fetch("legacy", &["o1".into(), "n1".into()]).await.unwrap();
    assert_eq!(got[0].terms, None);
    assert_eq!(got[1].terms, Some(terms("fresh shipping text")));
    assert_eq!(idx.query_lexical("legacy", &query("shipping"), 5, None).await.unwrap()[0].id, "n1");
    let live: Vec<(&str, &str)> = vec![
        CORPUS[0],
        ("d2", "returns within thirty days no refund needed"),
        CORPUS[2],
        CORPUS[3],
        CORPUS[4],
    ];
    for q in ["days refund", "express shipping"] {
        let hits = idx.query_lexical("lex", &query(q), 10, None).await.unwrap();
        assert_matches_textbook(&hits, &textbook(&live, q));
    }
}

#[tokio::test]
async fn terms_survive_compaction_and_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = LocalIndex::open(dir.path()).unwrap();
        let recs: Vec<VectorRecord> = CORPUS.iter().map(|(id, t)| lex(id, t)).collect();
        idx.upsert("c", &recs).await.unwrap();
        // Many rewrites of one record: the log is mostly dead, compacted on reopen.
        for round in 0..1100 {
            idx.upsert("c", &[lex("churn", &format!("round{round} churn"))]).await.unwrap();
        }
    }
    let len_before =
        dir.path().read_dir().unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum::<u64>();
    {
        let idx = LocalIndex::open(dir.path()).unwrap();
        assert_eq!(idx.stats("c").await.unwrap().vector_count, 7);
        let len_after =
            dir.path().read_dir().unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum::<u64>();
        assert!(len_after < len_before / 10, "compaction: {len_before} -> {len_after}");
        assert_eq!(idx.fetch("c", &["churn".into()]).await.unwrap()[0].terms, Some(terms("round1099 churn")));
        assert!(idx.query_lexical("c", &query("round5"), 5, None).await.unwrap().is_empty());
        let mut live: Vec<(&str, &str)> = CORPUS.to_vec();
        live.push(("churn", "round1099 churn"));
        let hits = idx.query_lexical("c", &query("shipping churn"), 10, None).await.unwrap();
        assert_matches_textbook(&hits, &textbook(&live, "shipping churn"));
        idx.upsert("c", &[lex("late", "written last then torn")]).await.unwrap();
    }
    // Tear the last entry: the record before it survives, the torn one is gone.
    let log = dir.path().read_dir().unwrap().next().unwrap().unwrap().path();
    let len = std::fs::metadata(&log).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(len - 5).unwrap();
    let idx = LocalIndex::open(dir.path()).unwrap();
    assert_eq!(idx.stats("c").await.unwrap().vector_count, 7);
    assert!(idx.query_lexical("c", &query("torn"), 5, None).await.unwrap().is_empty());
    assert_eq!(idx.query_lexical("c", &query("round1099"), 5, None).await.unwrap()[0].id, "churn");
}

#[tokio::test]
async fn hostile_terms_are_handled() {
    let idx = LocalIndex::in_memory();
    // Empty terms: a document of length 0, stored and counted, never matched.
    idx.upsert("h", &[lex("empty", "")]).await.unwrap();
    assert_eq!(idx.lexical_stats("h", &[]).unwrap().0, 1);
    assert!(idx.query_lexical("h", &query("anything"), 5, None).await.unwrap().is_empty());
    // Huge counts saturate (BM25's tf part stays below k1 + 1), no overflow, finite scores.
    let huge = Terms { ids: vec![term_id("spam"), term_id("eggs")], counts: vec![u32::MAX, u32::MAX] };
    idx.upsert(
        "h",
        &[VectorRecord { id: "huge".into(), values: vec![], terms: Some(huge), metadata: Metadata::new() }],
    )
    .await
    .unwrap();
    idx.upsert("h", &[lex("normal", "spam once")]).await.unwrap();
    let hits = idx.query_lexical("h", &query("spam eggs"), 5, None).await.unwrap();
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h.score.is_finite() && h.score > 0.0));
    // Unsorted, repeated ids and zero counts are normalised; mismatched lengths refused.
    let messy =
        Terms { ids: vec![term_id("b"), term_id("a"), term_id("b"), term_id("z")], counts: vec![1, 2, 3, 0] };
    idx.upsert(
        "h",
        &[VectorRecord { id: "messy".into(), values: vec![], terms: Some(messy), metadata: Metadata::new() }],
    )
    .await
    .unwrap();
    let stored = idx.fetch("h", &["messy".into()]).await.unwrap().remove(0).terms.unwrap();
    assert_eq!(stored, Terms::from_tokens(["a", "a", "b", "b", "b", "b"]));
    let bad = Terms { ids: vec![1, 2, 3], counts: vec![1] };
    let err = idx
        .upsert(
            "h",
            &[VectorRecord { id: "bad".into(), values: vec![], terms: Some(bad), metadata: Metadata::new() }],
        )
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("terms"));
    assert!(idx.fetch("h", &["bad".into()]).await.unwrap().is_empty());
    // Degenerate queries.
    assert!(idx.query_lexical("h", &LexicalQuery::default(), 5, None).await.unwrap().is_empty());
    assert!(idx.query_lexical("h", &query("spam"), 0, None).await.unwrap().is_empty());
    assert_eq!(idx.query_lexical("h", &query("spam"), usize::MAX, None).await.unwrap().len(), 2);
    assert!(idx.query_lexical("never-written", &query("spam"), 5, None).await.unwrap().is_empty());
    let long_ns = "n".repeat(600);
    assert!(idx.query_lexical(&long_ns, &query("spam"), 5, None).await.is_err());
    // A query of every term id there is, repeated: no panic, the same hits.
    let wide = LexicalQuery { ids: (0..50_000u32).chain([term_id("spam")]).collect(), weights: vec![] };
    assert_eq!(idx.query_lexical("h", &wide, 5, None).await.unwrap().len(), 2);
}
