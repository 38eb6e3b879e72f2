//! Ingest throughput, printed as numbers (compare with bench/ingest/*.py on the same files):
//! HTML to text, character chunking (1000/200), token chunking, PDF extraction.
//!
//! `CARGO_TARGET_DIR=/work/target-release cargo bench -p chatbot-core --bench ingest -- [HTML_DIR] [PDF_DIR]`
//! Defaults: /usr/share/doc/python3.11/html and /usr/share/doc/texlive-doc.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use chatbot_core::ingest::extract::{TextFormat, html_to_text, pdf_to_text_blocking};
use chatbot_core::ingest::{ChunkSettings, Chunker, Sizing};

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let html_dir = PathBuf::from(args.first().map_or("/usr/share/doc/python3.11/html", String::as_str));
    let pdf_dir = PathBuf::from(args.get(1).map_or("/usr/share/doc/texlive-doc", String::as_str));

    let mut html_files = Vec::new();
    files(&html_dir, "html", &mut html_files);
    html_files.sort();
    if html_files.is_empty() {
        println!("skipped HTML: no .html under {}", html_dir.display());
    } else {
        let pages: Vec<String> = html_files
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
            .collect();
        let bytes: usize = pages.iter().map(String::len).sum();
        // Warm up, then time the best of 3 passes.
        let mut texts = Vec::new();
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            texts = pages.iter().map(|p| html_to_text(p, None).text).collect::<Vec<_>>();
            best = best.min(t.elapsed().as_secs_f64());
        }
        let text_bytes: usize = texts.iter().map(String::len).sum();
        println!(
            "html_to_text: {} pages, {:.1} MB HTML -> {:.1} MB text in {:.3} s: {:.1} pages/s, {:.1} MB/s",
            pages.len(),
            mb(bytes),
            mb(text_bytes),
            best,
            pages.len() as f64 / best,
            mb(bytes) / best
        );

        // Chunking the same extracted text (the Python baseline reads bench/ingest/corpus.txt).
        let corpus = texts.join("\n\u{1e}\n");
        let out =
            std::env::var("INGEST_BENCH_CORPUS").unwrap_or_else(|_| "/tmp/ingest-bench-corpus.txt".into());
        std::fs::write(&out, &corpus).unwrap();
        for (name, settings, format) in [
            (
                "chars 1000/200 plain",
                ChunkSettings::new(Sizing::Characters, 1000, 200).unwrap(),
                TextFormat::Plain,
            ),
            (
                "chars 1000/200 markdown",
                ChunkSettings::new(Sizing::Characters, 1000, 200).unwrap(),
                TextFormat::Markdown,
            ),
            ("tokens 500/50 plain", ChunkSettings::new(Sizing::Tokens, 500, 50).unwrap(), TextFormat::Plain),
        ] {
            let c = Chunker::new(settings).unwrap();
            let t = Instant::now();
            // Per document, as the pipeline does.
            let n: usize = texts.iter().map(|x| c.split(x, format).len()).sum();
            let s = t.elapsed().as_secs_f64();
            println!(
                "chunk {name}: {n} chunks from {:.1} MB in {:.3} s: {:.1} MB/s",
                mb(text_bytes),
                s,
                mb(text_bytes) / s
            );
        }
        println!("(corpus written to {out} for bench/ingest/chunk_baseline.py)");
    }

    let mut pdfs = Vec::new();
    files(&pdf_dir, "pdf", &mut pdfs);
    pdfs.sort();
    if pdfs.is_empty() || std::env::var("INGEST_BENCH_SKIP_PDF").is_ok() {
        println!("skipped PDFs: none under {} (or INGEST_BENCH_SKIP_PDF set)", pdf_dir.display());
        return;
    }
    let (mut ok, mut failed, mut bytes, mut chars) = (0usize, Vec::new(), 0usize, 0usize);
    let t = Instant::now();
    for p in &pdfs {
        let data = std::fs::read(p).unwrap();
        bytes += data.len();
        match pdf_to_text_blocking(&data) {
            Ok(text) => {
                ok += 1;
                chars += text.len();
            }
            Err(e) => failed.push((p.display().to_string(), e.to_string())),
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "pdf: {} files, {:.1} MB: {ok} extracted ({:.1} MB text), {} failed, in {:.1} s: {:.2} MB/s (single thread)",
        pdfs.len(),
        mb(bytes),
        mb(chars),
        failed.len(),
        s,
        mb(bytes) / s
    );
    let mut reasons: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (_, r) in &failed {
        let key: String = r.chars().take(70).collect();
        *reasons.entry(key).or_default() += 1;
    }
    for (r, n) in reasons {
        println!("  {n:>3} x {r}");
    }
}
