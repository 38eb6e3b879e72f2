//! Retrieval quality of the offline embedder + LocalIndex on the benchmark written by
//! `bench/retrieval/prepare.py` (same chunks, queries and metrics as `bench/retrieval/bm25.py`).
//!
//! `cargo run --release -p chatbot-core --example retrieval_eval -- /tmp/rag-bench`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::BufRead;
use std::time::Instant;

use chatbot_core::rag::offline::OfflineOptions;
use chatbot_core::rag::{Embedder, LocalIndex, Metadata, OfflineEmbedder, VectorRecord};

fn lines(path: &str) -> Vec<serde_json::Value> {
    let f = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (run bench/retrieval/prepare.py first)"));
    std::io::BufReader::new(f).lines().map(|l| serde_json::from_str(&l.unwrap()).unwrap()).collect()
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "/tmp/rag-bench".into());
    let chunks = lines(&format!("{dir}/chunks.jsonl"));
    let queries = lines(&format!("{dir}/queries.jsonl"));
    // Optional experiment knobs: OFFLINE_DIM, OFFLINE_BIGRAM, OFFLINE_TRIGRAM.
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f32>().ok());
    let d = OfflineOptions::default();
    let e = OfflineEmbedder::with_options(OfflineOptions {
        dimension: env("OFFLINE_DIM").map_or(d.dimension, |v| v as usize),
        bigram_weight: env("OFFLINE_BIGRAM").unwrap_or(d.bigram_weight),
        trigram_weight: env("OFFLINE_TRIGRAM").unwrap_or(d.trigram_weight),
    });
    let idx = LocalIndex::in_memory();
    let t0 = Instant::now();
    let records: Vec<VectorRecord> = chunks
        .iter()
        .map(|c| VectorRecord {
            id: c["id"].as_str().unwrap().to_string(),
            values: e.embed_one(c["text"].as_str().unwrap()),
            metadata: Metadata::new(),
        })
        .collect();
    let embed_secs = t0.elapsed().as_secs_f64();
    for batch in records.chunks(1000) {
        idx.upsert_sync("bench", batch).unwrap();
    }
    let t1 = Instant::now();
    let (mut hit, mut rec, mut mrr) = (0f64, 0f64, 0f64);
    for q in &queries {
        let rel: HashSet<&str> =
            q["relevant"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let hits = idx.query_sync("bench", &e.embed_one(q["query"].as_str().unwrap()), 10, None).unwrap();
        let found5 = hits.iter().take(5).filter(|h| rel.contains(h.id.as_str())).count();
        hit += f64::from(u8::from(found5 > 0));
        rec += found5 as f64 / rel.len().min(5) as f64;
        if let Some(r) = hits.iter().position(|h| rel.contains(h.id.as_str())) {
            mrr += 1.0 / (r + 1) as f64;
        }
    }
    let n = queries.len() as f64;
    println!(
        "{} ({}d): queries={} chunks={} hit@5={:.4} recall@5={:.4} mrr@10={:.4} (embed {:.0} chunks/s, {:.2} ms/query)",
        e.model(),
        e.dimension(),
        queries.len(),
        chunks.len(),
        hit / n,
        rec / n,
        mrr / n,
        chunks.len() as f64 / embed_secs,
        t1.elapsed().as_secs_f64() * 1000.0 / n
    );
}
