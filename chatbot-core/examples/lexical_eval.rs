//! Exact BM25 over the benchmark written by `bench/retrieval/prepare.py`, with the crate's text
//! analysis (`rag::bm25::document_terms` / `query_terms`): the check used to choose the analysis
//! (stemmer, stopwords, language handling). Same metrics as `bench/retrieval/bm25.py`, on all
//! queries and on the even (tuning) / odd (held-out) positions.
//!
//! `cargo run --release -p chatbot-core --example lexical_eval -- [DIR]`
//! (DIR defaults to `bench/out/rag-bench`). `SECTION=1` indexes each chunk with its section
//! title in front, as the engine indexes a chunk with its title and heading.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::BufRead;
use std::time::Instant;

use chatbot_core::rag::bm25::{document_terms, idf, query_terms, tf_weight};

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
    let with_section = std::env::var("SECTION").is_ok_and(|v| v == "1");
    let chunks = lines(&format!("{dir}/chunks.jsonl"));
    let queries = lines(&format!("{dir}/queries.jsonl"));

    let t = Instant::now();
    let ids: Vec<String> = chunks.iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    let docs: Vec<_> = chunks
        .iter()
        .map(|c| {
            let text = c["text"].as_str().unwrap();
            if with_section {
                document_terms(&format!("{}. {text}", c["section"].as_str().unwrap_or("")))
            } else {
                document_terms(text)
            }
        })
        .collect();
    let analyse_ms = t.elapsed().as_secs_f64() * 1e3;
    // Inverted index: term -> [(doc, tf)].
    let mut postings: HashMap<u32, Vec<(usize, u32)>> = HashMap::new();
    for (d, terms) in docs.iter().enumerate() {
        for (&id, &c) in terms.ids.iter().zip(&terms.counts) {
            postings.entry(id).or_default().push((d, c));
        }
    }
    let n = docs.len() as u64;
    let lens: Vec<u32> = docs.iter().map(|d| d.len()).collect();
    let avgdl = lens.iter().map(|&l| f64::from(l)).sum::<f64>() as f32 / n.max(1) as f32;

    let (mut hit, mut recall, mut mrr) = (vec![0.0f64; 2], vec![0.0f64; 2], vec![0.0f64; 2]);
    let mut count = [0usize; 2];
    for (qi, q) in queries.iter().enumerate() {
        let relevant: Vec<&str> =
            q["relevant"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let qt = query_terms(q["query"].as_str().unwrap());
        let mut scores: HashMap<usize, f32> = HashMap::new();
        for &id in &qt.ids {
            let Some(p) = postings.get(&id) else { continue };
            let w = idf(n, p.len() as u64);
            for &(d, tf) in p {
                *scores.entry(d).or_default() += w * tf_weight(tf, lens[d], avgdl);
            }
        }
        let mut ranked: Vec<(usize, f32)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let top: Vec<&str> = ranked.iter().take(10).map(|&(d, _)| ids[d].as_str()).collect();
        let half = qi % 2;
        count[half] += 1;
        let in5 = top.iter().take(5).filter(|id| relevant.contains(id)).count();
        hit[half] += f64::from(u8::from(in5 > 0));
        recall[half] += in5 as f64 / relevant.len().clamp(1, 5) as f64;
        if let Some(r) = top.iter().position(|id| relevant.contains(id)) {
            mrr[half] += 1.0 / (r + 1) as f64;
        }
    }
    let all = |v: &[f64]| (v[0] + v[1]) / (count[0] + count[1]) as f64;
    println!(
        "{} queries, {} chunks (analysed in {analyse_ms:.0} ms), section in chunk: {with_section}",
        queries.len(),
        docs.len()
    );
    println!("| hit@5 | recall@5 | MRR@10 | recall@5 even / odd |");
    println!(
        "| {:.4} | {:.4} | {:.4} | {:.4} / {:.4} |",
        all(&hit),
        all(&recall),
        all(&mrr),
        recall[0] / count[0] as f64,
        recall[1] / count[1] as f64
    );
}
