//! Ingest speed of the local embedder (all-MiniLM-L6-v2 in-process) in chunks/s per batch size
//! and work split, and the latency of one short query (the search path embeds one per request).
//! The chunks come from `bench/embed/prepare.py` (one JSON string per line); see
//! `bench/embed/README.md`.
//!
//! ```sh
//! cargo run --release -p chatbot-core --example embed_bench -- MODEL_DIR CHUNKS.jsonl [LIMIT]
//! ```
//! `SPLITS="4x2,8x1"` (sub-batch x workers) and `BATCHES="1,8,32,64"` choose what is measured.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Instant;

use chatbot_core::rag::Embedder;
use chatbot_core::rag::LocalEmbedder;
use chatbot_core::rag::minilm::LocalEmbedderOptions;

fn list(var: &str, default: &str) -> Vec<String> {
    std::env::var(var).unwrap_or_else(|_| default.into()).split(',').map(|s| s.trim().to_string()).collect()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(chunks)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: embed_bench MODEL_DIR CHUNKS.jsonl [LIMIT]");
        std::process::exit(2);
    };
    let limit: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(256);
    let texts: Vec<String> = std::fs::read_to_string(chunks)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<String>(l).unwrap())
        .take(limit)
        .collect();
    let dir = PathBuf::from(dir);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!("local embedder (candle, release), {cores} cores, {} chunks", texts.len());

    let t = Instant::now();
    let default = LocalEmbedder::load(&dir).unwrap();
    println!(
        "load {:.0} ms; default split {:?}",
        t.elapsed().as_secs_f64() * 1000.0,
        LocalEmbedderOptions::default()
    );

    for split in list("SPLITS", "4x2,8x2,8x1") {
        let (sub, workers) = split.split_once('x').expect("SPLITS entries look like 4x2");
        let options =
            LocalEmbedderOptions { sub_batch: sub.parse().unwrap(), workers: workers.parse().unwrap() };
        let e = LocalEmbedder::load_with(&dir, options).unwrap();
        e.embed(&texts[..texts.len().min(8)]).await.unwrap(); // warm-up
        for b in list("BATCHES", "1,8,32,64") {
            let b: usize = b.parse().unwrap();
            let t = Instant::now();
            for batch in texts.chunks(b) {
                e.embed(batch).await.unwrap();
            }
            let rate = texts.len() as f64 / t.elapsed().as_secs_f64();
            println!("local      split {sub:>2}x{workers}  batch {b:3}  {rate:7.1} chunks/s");
        }
    }

    let q = vec!["How do I read a file line by line?".to_string()];
    let mut lat = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        default.embed(&q).await.unwrap();
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    println!("local      one short query: p50 {:.1} ms, min {:.1} ms", lat[lat.len() / 2], lat[0]);
}
