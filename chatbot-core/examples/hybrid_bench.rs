//! Search latency with hybrid on at 100,000 chunks: what one `Chatbot::search` spends before
//! joining the chunk texts: the lexical ranking of the local index concurrently with embedding
//! the query with the local MiniLM and the dense ranking, then reciprocal-rank fusion (the
//! order `Chatbot::search` runs them in). Prints p50/p99 per step and for the whole.
//!
//! ```sh
//! cargo run --release -p chatbot-core --example hybrid_bench -- MODEL_DIR [CHUNKS] [QUERIES]
//! ```
//! Chunks are synthetic: ~110 terms each from a Zipf vocabulary of 50,000 terms, and a random
//! unit 384-d vector (the search cost does not depend on what the vectors mean).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chatbot_core::rag::{Embedder, LexicalQuery, LocalEmbedder, LocalIndex, Metadata, Terms, VectorRecord};
use chatbot_core::rag::{VectorStore, fusion};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// A Zipf-distributed term rank in 0..n (inverse CDF of a continuous approximation).
    fn zipf(&mut self, n: u64) -> u64 {
        let u = self.unit();
        ((n as f64).powf(u) - 1.0) as u64 % n
    }
}

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: hybrid_bench MODEL_DIR [CHUNKS] [QUERIES]");
        std::process::exit(2);
    };
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let q: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(300);
    let embedder = Arc::new(LocalEmbedder::load(&PathBuf::from(dir)).unwrap());
    let idx = Arc::new(LocalIndex::in_memory());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let t0 = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n {
        let len = 80 + (rng.next() % 60) as usize;
        let words: Vec<String> = (0..len).map(|_| format!("t{}", 50 + rng.zipf(50_000))).collect();
        let mut v: Vec<f32> = (0..384).map(|_| rng.unit() as f32 - 0.5).collect();
        chatbot_core::rag::normalize(&mut v);
        batch.push(VectorRecord {
            id: format!("c{i:06}"),
            values: v,
            terms: Some(Terms::from_tokens(words.iter().map(String::as_str))),
            metadata: Metadata::new(),
        });
        if batch.len() == 1000 {
            idx.upsert_sync("bench", &batch).unwrap();
            batch.clear();
        }
    }
    idx.upsert_sync("bench", &batch).unwrap();
    println!("{n} chunks (384-d + ~110 terms each) loaded in {:.1} s", t0.elapsed().as_secs_f64());

    let questions = [
        "How do I configure the database connection?",
        "Which countries do you ship to?",
        "What are your opening hours on Saturday?",
        "Can I return an item after thirty days?",
        "How do I reset my password?",
    ];
    let (mut emb, mut lex, mut dense, mut total) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..q {
        let text = questions[i % questions.len()].to_string();
        let words: Vec<String> = (0..(2 + i % 7)).map(|_| format!("t{}", 50 + rng.zipf(50_000))).collect();
        let lq = LexicalQuery::new(&Terms::from_tokens(words.iter().map(String::as_str)), None);
        // As `Chatbot::search` runs them: the lexical ranking beside the query's embedding
        // and the dense ranking that needs it.
        let start = Instant::now();
        let (l, (e, d)) = tokio::join!(
            async {
                let s = Instant::now();
                let r = idx.query_lexical("bench", &lq, 20, None).await.unwrap();
                (r, s.elapsed())
            },
            async {
                let v = embedder.embed(std::slice::from_ref(&text)).await.unwrap().remove(0);
                let e = start.elapsed();
                let s = Instant::now();
                let r = idx.query("bench", &v, 20, None).await.unwrap();
                (e, (r, s.elapsed()))
            }
        );
        let fused = fusion::fuse(&l.0, &d.0, 5);
        assert!(!fused.is_empty());
        let all = start.elapsed();
        emb.push(e.as_secs_f64() * 1e3);
        lex.push(l.1.as_secs_f64() * 1e3);
        dense.push(d.1.as_secs_f64() * 1e3);
        total.push(all.as_secs_f64() * 1e3);
    }
    for (name, v) in
        [("embed query", emb), ("lexical top-20", lex), ("dense top-20", dense), ("search total", total)]
    {
        println!("{name:>15}: p50 {:6.2} ms  p99 {:6.2} ms", pct(v.clone(), 0.5), pct(v, 0.99));
    }
}
