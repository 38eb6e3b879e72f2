//! Retrieval quality of the offline embedder + LocalIndex on the benchmark written by
//! `bench/retrieval/prepare.py` (same chunks, queries and metrics as `bench/retrieval/bm25.py`).
//!
//! `cargo run --release -p chatbot-core --example retrieval_eval -- [DIR]`
//! (DIR defaults to `bench/out/rag-bench` in the workspace, where `prepare.py` writes.)
//!
//! Queries are embedded as the engine embeds them: weighted by corpus statistics (document
//! frequencies over all chunks, pruned as stored) unless `IDF=0`. `CHECK_EXACT=1` also compares
//! LocalIndex's top 5 with an exact f32 scan.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::BufRead;
use std::time::Instant;

use chatbot_core::rag::offline::{DocWeighting, OfflineOptions, QueryWeighting};
use chatbot_core::rag::{Embedder, LocalIndex, Metadata, OfflineEmbedder, VectorRecord, corpus_stats};

fn lines(path: &str) -> Vec<serde_json::Value> {
    let f = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (run bench/retrieval/prepare.py first)"));
    std::io::BufReader::new(f).lines().map(|l| serde_json::from_str(&l.unwrap()).unwrap()).collect()
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        workspace.join("bench/out/rag-bench").display().to_string()
    });
    let chunks = lines(&format!("{dir}/chunks.jsonl"));
    let queries = lines(&format!("{dir}/queries.jsonl"));
    // Optional experiment knobs: OFFLINE_DIM, OFFLINE_BIGRAM, OFFLINE_TRIGRAM (document side),
    // DOC_PRIOR, DOC_K1, DOC_B, DOC_AVG (document side), IDF=0 (no corpus statistics),
    // Q_WORD, Q_BIGRAM, Q_TRIGRAM, Q_PRIOR, Q_UNSEEN0, Q_BSCALE, Q_TSCALE (query side).
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f32>().ok());
    let flag = |k: &str, d: bool| env(k).map_or(d, |v| v != 0.0);
    let d = OfflineOptions::default();
    let e = OfflineEmbedder::with_options(OfflineOptions {
        dimension: env("OFFLINE_DIM").map_or(d.dimension, |v| v as usize),
        bigram_weight: env("OFFLINE_BIGRAM").unwrap_or(d.bigram_weight),
        trigram_weight: env("OFFLINE_TRIGRAM").unwrap_or(d.trigram_weight),
        doc: DocWeighting {
            prior: flag("DOC_PRIOR", d.doc.prior),
            k1: env("DOC_K1").unwrap_or(d.doc.k1),
            b: env("DOC_B").unwrap_or(d.doc.b),
            avg_len: env("DOC_AVG").unwrap_or(d.doc.avg_len),
        },
        query: QueryWeighting {
            idf_word: flag("Q_WORD", d.query.idf_word),
            idf_bigram: flag("Q_BIGRAM", d.query.idf_bigram),
            idf_trigram: flag("Q_TRIGRAM", d.query.idf_trigram),
            keep_prior: flag("Q_PRIOR", d.query.keep_prior),
            unseen_zero: flag("Q_UNSEEN0", d.query.unseen_zero),
            bigram_scale: env("Q_BSCALE").unwrap_or(d.query.bigram_scale),
            trigram_scale: env("Q_TSCALE").unwrap_or(d.query.trigram_scale),
            idf_power: env("Q_IDFPOW").unwrap_or(d.query.idf_power),
            trigram_word_idf: flag("Q_TWORD", d.query.trigram_word_idf),
        },
    });
    let use_stats = flag("IDF", true);
    let check_exact = flag("CHECK_EXACT", false);
    let idx = LocalIndex::in_memory();
    let t0 = Instant::now();
    let records: Vec<VectorRecord> = chunks
        .iter()
        .map(|c| VectorRecord {
            id: c["id"].as_str().unwrap().to_string(),
            values: e.embed_one(c["text"].as_str().unwrap()),
            terms: None,
            metadata: Metadata::new(),
        })
        .collect();
    let embed_secs = t0.elapsed().as_secs_f64();
    // The engine's path: statistics of the company's chunks, used on the query side only.
    let t_stats = Instant::now();
    let mut stats = corpus_stats(&e, chunks.iter().map(|c| c["text"].as_str().unwrap()));
    // As stored by the engine (PRUNE=1 keeps every key).
    stats.prune(env("PRUNE").map_or(chatbot_core::rag::stats::STORED_MIN_DF, |m| m as u32));
    let stats_secs = t_stats.elapsed().as_secs_f64();
    let stats = use_stats.then_some(&stats);
    let stats_bytes = stats.map_or(0, |s| s.to_bytes().len());
    for batch in records.chunks(1000) {
        idx.upsert_sync("bench", batch).unwrap();
    }
    let t1 = Instant::now();
    // Per half of the queries (even / odd position), to tune on one half and check on the other.
    let mut half_rec = [0f64; 2];
    let mut exact_same = 0usize;
    let (mut hit, mut rec, mut mrr) = (0f64, 0f64, 0f64);
    for (qi, q) in queries.iter().enumerate() {
        let rel: HashSet<&str> =
            q["relevant"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let qv = e.embed_query_with(q["query"].as_str().unwrap(), stats);
        let hits = idx.query_sync("bench", &qv, 10, None).unwrap();
        if check_exact {
            let exact = idx.exact_top_k_for_bench("bench", &qv, 5).unwrap();
            let fast: Vec<&str> = hits.iter().take(5).map(|h| h.id.as_str()).collect();
            exact_same += usize::from(exact.iter().map(String::as_str).eq(fast.iter().copied()));
        }
        let found5 = hits.iter().take(5).filter(|h| rel.contains(h.id.as_str())).count();
        hit += f64::from(u8::from(found5 > 0));
        let r = found5 as f64 / rel.len().min(5) as f64;
        rec += r;
        half_rec[qi % 2] += r;
        if let Some(r) = hits.iter().position(|h| rel.contains(h.id.as_str())) {
            mrr += 1.0 / (r + 1) as f64;
        }
    }
    let n = queries.len() as f64;
    println!(
        "{}{} ({}d): queries={} chunks={} hit@5={:.4} recall@5={:.4} mrr@10={:.4} (embed {:.0} chunks/s, {:.2} ms/query; stats {} keys, {} bytes, {:.2}s)",
        e.model(),
        if stats.is_some() { " +idf" } else { "" },
        e.dimension(),
        queries.len(),
        chunks.len(),
        hit / n,
        rec / n,
        mrr / n,
        chunks.len() as f64 / embed_secs,
        t1.elapsed().as_secs_f64() * 1000.0 / n,
        stats.map_or(0, |s| s.len()),
        stats_bytes,
        stats_secs
    );
    let halves = [queries.len().div_ceil(2) as f64, (queries.len() / 2) as f64];
    println!("recall@5 by half: even={:.4} odd={:.4}", half_rec[0] / halves[0], half_rec[1] / halves[1]);
    if check_exact {
        println!(
            "LocalIndex top-5 equal to the exact f32 scan for {exact_same} of {} queries",
            queries.len()
        );
    }
}
