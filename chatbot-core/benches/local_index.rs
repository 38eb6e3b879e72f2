//! LocalIndex top-5 query over 100,000 random normalised 1,536-d vectors.
//! `CARGO_TARGET_DIR=/work/target-release cargo bench -p chatbot-core --bench local_index`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_core::rag::{LocalIndex, Metadata, VectorRecord};
use criterion::{Criterion, criterion_group, criterion_main};

const N: usize = 100_000;
const DIM: usize = 1536;

fn rng(seed: u64) -> impl FnMut() -> f32 {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        // Sum of uniforms ~ roughly Gaussian, so directions are uniform enough.
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

fn bench(c: &mut Criterion) {
    let idx = LocalIndex::in_memory();
    let mut next = rng(42);
    let mut batch = Vec::with_capacity(1000);
    for i in 0..N {
        let mut v: Vec<f32> = (0..DIM).map(|_| next()).collect();
        chatbot_core::rag::normalize(&mut v);
        let mut m = Metadata::new();
        m.insert("source".into(), serde_json::json!(format!("doc-{}", i % 100)));
        batch.push(VectorRecord { id: format!("vec-{i:06}"), values: v, metadata: m });
        if batch.len() == 1000 {
            idx.upsert_sync("bench", &batch).unwrap();
            batch.clear();
        }
    }
    let queries: Vec<Vec<f32>> = (0..64).map(|_| (0..DIM).map(|_| next()).collect()).collect();
    // Recall of the int8 pass + exact re-rank against exact brute force, on a few queries.
    let mut found = 0;
    for q in queries.iter().take(16) {
        let exact = idx.exact_top_k_for_bench("bench", q, 5).unwrap();
        let got = idx.query_sync("bench", q, 5, None).unwrap();
        found += got.iter().filter(|h| exact.contains(&h.id)).count();
    }
    println!(
        "local_index: {N} x {DIM}: recall@5 vs exact = {:.3}; memory per vector = {} bytes (+ id + metadata)",
        found as f64 / 80.0,
        LocalIndex::bytes_per_vector(DIM)
    );
    let mut qi = 0;
    c.bench_function("local_index_top5_100k_x_1536", |b| {
        b.iter(|| {
            qi = (qi + 1) % queries.len();
            idx.query_sync("bench", &queries[qi], 5, None).unwrap()
        })
    });
    let filter = chatbot_core::rag::MetadataFilter::eq("source", "doc-7");
    c.bench_function("local_index_top5_100k_x_1536_filtered_1pct", |b| {
        b.iter(|| {
            qi = (qi + 1) % queries.len();
            idx.query_sync("bench", &queries[qi], 5, Some(&filter)).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
