//! Ingest throughput, printed as numbers (compare with bench/ingest/*.py on the same files):
//! HTML to text, character chunking (1000/200), token chunking, PDF extraction.
//!
//! `cargo bench -p chatbot-core --bench ingest -- [HTML_DIR] [PDF_DIR]`
//! Defaults: /usr/share/doc/python3.11/html and /usr/share/doc/texlive-doc.
//!
//! Environment:
//! - `INGEST_BENCH_SKIP_PDF=1`: skip the PDF part.
//! - `INGEST_BENCH_PDF_OUTLINES=1`: also read each PDF's outline and count the entries found in
//!   its text as headings (timed apart).
//! - `INGEST_BENCH_CORPUS=PATH`: where to write the extracted text for the Python baseline
//!   (default `bench/out/ingest-corpus.txt` in the workspace).
//!
//! Cargo runs benches from `chatbot-core/`, so relative paths are taken from there.
//! - `INGEST_BENCH_CORPUS_IN=PATH`: read the chunking corpus from PATH (documents separated by
//!   `"\n\x1e\n"`, as this bench writes it) and skip the HTML part.
//! - `INGEST_BENCH_CHUNK=chars`: only the plain-text character paths (ours and text-splitter's).
//! - `INGEST_BENCH_CHUNK=sections`: only section-aware chunking of the HTML pages against the
//!   Markdown splitter over their whole text (chunks, share with a heading path, time).
//! - `INGEST_BENCH_RUNS=N` (default 5): timed passes of each fast chunking path (median and best
//!   printed); `INGEST_BENCH_SLOW_RUNS=N` (default 1) for text-splitter's paths.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use chatbot_core::ingest::extract::{
    TextFormat, html_to_text, outline_sections, pdf_outline, pdf_to_text_blocking,
};
use chatbot_core::ingest::{ChunkSettings, Chunker, Document, Sizing, chunk_document};
use text_splitter::{ChunkConfig, ChunkSizer, TextSplitter};

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

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default).max(1)
}

/// Characters, counted with an ASCII fast path (to see whether text-splitter's sizer is its cost).
struct FastChars;

impl ChunkSizer for FastChars {
    fn size(&self, chunk: &str) -> usize {
        if chunk.is_ascii() { chunk.len() } else { chunk.chars().count() }
    }
}

/// Time `runs` passes of `f` over the corpus; print chunks, median and best MB/s.
fn time_chunking(name: &str, runs: usize, bytes: usize, mut f: impl FnMut() -> usize) {
    let mut secs = Vec::with_capacity(runs);
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = std::hint::black_box(f());
        secs.push(t.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    println!(
        "chunk {name}: {n} chunks from {:.1} MB, median of {runs} {median:.4} s: {:.1} MB/s (best {:.1} MB/s)",
        mb(bytes),
        mb(bytes) / median,
        mb(bytes) / secs[0],
    );
}

fn chunking(texts: &[String]) {
    let bytes: usize = texts.iter().map(String::len).sum();
    let runs = env_usize("INGEST_BENCH_RUNS", 5);
    let slow = env_usize("INGEST_BENCH_SLOW_RUNS", 1);
    let only_chars = std::env::var("INGEST_BENCH_CHUNK").is_ok_and(|v| v == "chars");

    // Per document, as the pipeline does.
    let ours = Chunker::new(ChunkSettings::new(Sizing::Characters, 1000, 200).unwrap()).unwrap();
    time_chunking("chars 1000/200 plain (ours, one pass)", runs, bytes, || {
        texts.iter().map(|x| ours.split(x, TextFormat::Plain).len()).sum()
    });
    let lens: Vec<usize> =
        texts.iter().flat_map(|x| ours.split(x, TextFormat::Plain)).map(|c| c.chars().count()).collect();
    println!(
        "  (ours: chunk length mean {:.0} chars, max {} chars)",
        lens.iter().sum::<usize>() as f64 / lens.len().max(1) as f64,
        lens.iter().max().unwrap_or(&0)
    );
    let ts = TextSplitter::new(ChunkConfig::new(1000).with_overlap(200).unwrap());
    time_chunking("chars 1000/200 plain (text-splitter TextSplitter<Characters>)", slow, bytes, || {
        texts.iter().map(|x| ts.chunks(x).map(str::to_string).count()).sum()
    });
    let ts_fast = TextSplitter::new(ChunkConfig::new(1000).with_sizer(FastChars).with_overlap(200).unwrap());
    time_chunking("chars 1000/200 plain (text-splitter, ASCII-fast ChunkSizer)", slow, bytes, || {
        texts.iter().map(|x| ts_fast.chunks(x).map(str::to_string).count()).sum()
    });
    let ts_range = TextSplitter::new(
        ChunkConfig::new(800..1000).with_sizer(FastChars).with_overlap(200).unwrap().with_trim(false),
    );
    time_chunking(
        "chars 800..1000/200 plain (text-splitter, ASCII-fast, range, no trim)",
        slow,
        bytes,
        || texts.iter().map(|x| ts_range.chunks(x).map(str::to_string).count()).sum(),
    );
    if only_chars {
        return;
    }
    let md = Chunker::new(ChunkSettings::new(Sizing::Characters, 1000, 200).unwrap()).unwrap();
    time_chunking("chars 1000/200 markdown (text-splitter MarkdownSplitter)", slow, bytes, || {
        texts.iter().map(|x| md.split(x, TextFormat::Markdown).len()).sum()
    });
    let tok = Chunker::new(ChunkSettings::new(Sizing::Tokens, 500, 50).unwrap()).unwrap();
    time_chunking("tokens 500/50 plain (text-splitter, cl100k)", slow, bytes, || {
        texts.iter().map(|x| tok.split(x, TextFormat::Plain).len()).sum()
    });
    time_chunking("tokens 500/50 markdown (text-splitter, cl100k)", slow, bytes, || {
        texts.iter().map(|x| tok.split(x, TextFormat::Markdown).len()).sum()
    });
}

/// Section-aware chunking (the pipeline's) against the Markdown splitter over each whole page.
fn sections(pages: &[String]) {
    let docs: Vec<Document> = pages
        .iter()
        .map(|p| {
            let page = html_to_text(p, None);
            Document {
                source: String::new(),
                title: page.title,
                text: page.text,
                format: TextFormat::Markdown,
                sections: page.sections,
                etag: None,
                last_modified: None,
            }
        })
        .collect();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let md = Chunker::new(ChunkSettings::new(Sizing::Characters, 1000, 200).unwrap()).unwrap();
    let slow = env_usize("INGEST_BENCH_SLOW_RUNS", 1);
    time_chunking("chars 1000/200 markdown, whole page (MarkdownSplitter)", slow, bytes, || {
        docs.iter().map(|d| md.split(&d.text, TextFormat::Markdown).len()).sum()
    });
    time_chunking("chars 1000/200 markdown, by section (chunk_document)", slow, bytes, || {
        docs.iter().map(|d| chunk_document(&md, d).len()).sum()
    });
    let chunks: Vec<_> = docs.iter().flat_map(|d| chunk_document(&md, d)).collect();
    let with_path = chunks.iter().filter(|c| !c.headings.is_empty()).count();
    let mean =
        chunks.iter().map(|c| c.text.chars().count()).sum::<usize>() as f64 / chunks.len().max(1) as f64;
    println!(
        "  (by section: {} of {} chunks carry a heading path below the title, {:.0}%; mean {mean:.0} chars)",
        with_path,
        chunks.len(),
        100.0 * with_path as f64 / chunks.len().max(1) as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let html_dir = PathBuf::from(args.first().map_or("/usr/share/doc/python3.11/html", String::as_str));
    let pdf_dir = PathBuf::from(args.get(1).map_or("/usr/share/doc/texlive-doc", String::as_str));

    if let Ok(path) = std::env::var("INGEST_BENCH_CORPUS_IN") {
        let corpus = std::fs::read_to_string(&path).unwrap();
        let texts: Vec<String> = corpus.split("\n\u{1e}\n").map(str::to_string).collect();
        println!("corpus {path}: {} documents, {:.1} MB", texts.len(), mb(corpus.len()));
        chunking(&texts);
    } else {
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

            // Chunking the same extracted text (the Python baseline reads the corpus file).
            let corpus = texts.join("\n\u{1e}\n");
            let out = std::env::var("INGEST_BENCH_CORPUS").map(PathBuf::from).unwrap_or_else(|_| {
                // the workspace's bench/out/, where bench/ingest/*.py and chunk_compare.sh look
                let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
                workspace.join("bench/out/ingest-corpus.txt")
            });
            if let Some(dir) = out.parent() {
                std::fs::create_dir_all(dir).unwrap();
            }
            std::fs::write(&out, &corpus).unwrap();
            let which = std::env::var("INGEST_BENCH_CHUNK").unwrap_or_default();
            if which != "chars" {
                sections(&pages);
            }
            if which != "sections" {
                chunking(&texts);
            }
            println!("(corpus written to {} for bench/ingest/chunk_baseline.py)", out.display());
        }
    }

    let mut pdfs = Vec::new();
    files(&pdf_dir, "pdf", &mut pdfs);
    pdfs.sort();
    if pdfs.is_empty() || std::env::var("INGEST_BENCH_SKIP_PDF").is_ok() {
        println!("skipped PDFs: none under {} (or INGEST_BENCH_SKIP_PDF set)", pdf_dir.display());
        return;
    }
    let (mut ok, mut failed, mut bytes, mut chars) = (0usize, Vec::new(), 0usize, 0usize);
    let outlines = std::env::var("INGEST_BENCH_PDF_OUTLINES").is_ok();
    // (PDFs with an outline, outline entries, entries found in the text), outside the timing.
    let (mut with_outline, mut entries, mut found, mut outline_secs) = (0usize, 0usize, 0usize, 0f64);
    let t = Instant::now();
    for p in &pdfs {
        let data = std::fs::read(p).unwrap();
        bytes += data.len();
        match pdf_to_text_blocking(&data) {
            Ok(text) => {
                ok += 1;
                chars += text.len();
                if outlines {
                    let o = Instant::now();
                    let outline = pdf_outline(&data);
                    let sections = outline_sections(&text, &outline);
                    outline_secs += o.elapsed().as_secs_f64();
                    with_outline += usize::from(!outline.is_empty());
                    entries += outline.len();
                    found += sections.iter().filter(|s| !s.headings.is_empty()).count();
                }
            }
            Err(e) => failed.push((p.display().to_string(), e.to_string())),
        }
    }
    let s = t.elapsed().as_secs_f64() - outline_secs;
    if outlines {
        println!(
            "pdf outlines: {with_outline} of {ok} extracted PDFs have one; {entries} entries, {found} found in the text as headings ({:.0}%); {outline_secs:.1} s",
            100.0 * found as f64 / entries.max(1) as f64
        );
    }
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
