//! The grounding check measured on labelled sets: answer sentences over real documents, half
//! faithful paraphrases and half plausible unsupported claims. `data/grounding.jsonl` (265 rows:
//! the demo shop's pages, passages of the Python 3.11 library reference, a German and a Dutch
//! passage) and `data/grounding_added.jsonl` (94 rows written later, before the check scored
//! them; split by a hash of the passage group, see `data/README.md`). Rules and thresholds were
//! chosen on the "tune" halves; the assertions are on the held-out "test" halves, of the
//! original set and of the enlarged set (both files).
//!
//! `cargo test -p chatbot-core --test grounding_eval -- --nocapture` prints precision and recall
//! of "unsupported" per set and half, and the median cost of one check. With
//! `CHATBOT_TEST_MINILM_DIR` set (see `local_embedder.rs`) the dense path (all-MiniLM-L6-v2
//! in-process) is measured too. `GROUNDING_DUMP=1` prints every tuning-half sentence's scores and
//! verdict (what tuning looked at; the held-out half is never dumped).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_core::guard::{GroundingCheck, GroundingReport, Verdict};
use serde_json::Value;

struct Row {
    passages: Vec<String>,
    sentence: String,
    supported: bool,
    test: bool,
    /// From `grounding_added.jsonl` (written after the rules of the first set).
    added: bool,
}

fn rows() -> Vec<Row> {
    let mut rows = read(include_str!("data/grounding.jsonl"), false);
    rows.extend(read(include_str!("data/grounding_added.jsonl"), true));
    rows
}

fn read(text: &str, added: bool) -> Vec<Row> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let split = v["split"].as_str().unwrap();
            assert!(split == "tune" || split == "test", "{l}");
            Row {
                passages: v["passages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap().to_string())
                    .collect(),
                sentence: v["sentence"].as_str().unwrap().to_string(),
                supported: v["supported"].as_bool().unwrap(),
                test: split == "test",
                added,
            }
        })
        .collect()
}

#[derive(Default, Debug)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
    tn: u32,
}

impl Counts {
    fn add(&mut self, predicted_unsupported: bool, supported: bool) {
        match (predicted_unsupported, supported) {
            (true, false) => self.tp += 1,
            (true, true) => self.fp += 1,
            (false, false) => self.fn_ += 1,
            (false, true) => self.tn += 1,
        }
    }
    fn precision(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }
    fn recall(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
    }
}

/// Whether the check calls the row's sentence unsupported (every labelled sentence is a claim).
fn judge(r: &Row, report: &GroundingReport, lane: &str, dump: bool) -> bool {
    let unsupported = report.unsupported > 0;
    // Only the tuning half is ever dumped: the held-out half is measured in aggregate.
    if dump && !r.test {
        let s = report.sentences.first();
        println!(
            "DUMP\t{lane}\t{}\t{}\t{:.3}\t{}\t{:?}\t{}",
            if unsupported != r.supported { "ok" } else { "MISS" },
            r.supported,
            s.map_or(0.0, |s| s.lexical),
            s.and_then(|s| s.dense).map_or("-".into(), |d| format!("{d:.3}")),
            s.map(|s| &s.verdict),
            r.sentence
        );
    }
    unsupported
}

/// One row's outcome: (held out, added, predicted unsupported, labelled supported).
type Outcome = (bool, bool, bool, bool);

/// Prints both halves of the original set and of the enlarged set; returns the held-out counts
/// of the original set and of the enlarged set.
fn measure(lane: &str, outcomes: &[Outcome]) -> (Counts, Counts) {
    let mut out = [[Counts::default(), Counts::default()], [Counts::default(), Counts::default()]];
    for &(is_test, added, predicted, supported) in outcomes {
        out[1][usize::from(is_test)].add(predicted, supported);
        if !added {
            out[0][usize::from(is_test)].add(predicted, supported);
        }
    }
    for (set, halves) in [("original", &out[0]), ("enlarged", &out[1])] {
        for (half, c) in [("tune", &halves[0]), ("test", &halves[1])] {
            println!(
                "grounding [{lane}] {set} set, {half} half: precision {:.3}, recall {:.3} of \"unsupported\" ({c:?})",
                c.precision(),
                c.recall()
            );
        }
    }
    let [[_, original], [_, enlarged]] = out;
    (original, enlarged)
}

#[test]
fn the_labelled_set_is_large_balanced_and_every_sentence_is_a_claim() {
    let rows = rows();
    assert!(rows.len() >= 350, "{}", rows.len());
    assert_eq!(rows.iter().filter(|r| !r.added).count(), 265);
    for test in [false, true] {
        let half: Vec<&Row> = rows.iter().filter(|r| r.test == test && !r.added).collect();
        let unsupported = half.iter().filter(|r| !r.supported).count();
        assert!(half.len() >= 100 && unsupported * 3 >= half.len() && unsupported * 3 <= half.len() * 2);
    }
    // Non-English passages and answers exercise the language-aware analysis.
    let non_english = rows.iter().filter(|r| !r.passages.iter().any(|p| p.contains(" the "))).count();
    assert!(non_english >= 20, "{non_english}");
    for r in &rows {
        let report = GroundingCheck::new(&r.sentence, &r.passages, &[] as &[&str]).report(None);
        assert_eq!(report.sentences.len(), 1, "one sentence: {}", r.sentence);
        assert_ne!(report.sentences[0].verdict, Verdict::NoClaim, "a claim: {}", r.sentence);
    }
}

/// The lexical path (no dense embedder: the offline default).
#[test]
fn lexical_precision_and_recall_of_unsupported_on_the_held_out_half() {
    let dump = std::env::var("GROUNDING_DUMP").is_ok();
    let rows = rows();
    let mut times = Vec::with_capacity(rows.len());
    let results: Vec<Outcome> = rows
        .iter()
        .map(|r| {
            let started = std::time::Instant::now();
            let report = GroundingCheck::new(&r.sentence, &r.passages, &[] as &[&str]).report(None);
            times.push(started.elapsed());
            (r.test, r.added, judge(r, &report, "lexical", dump), r.supported)
        })
        .collect();
    // What one check of a sentence against its passages costs (the median; a debug build unless
    // run with --release; printed, not asserted).
    times.sort();
    println!(
        "grounding [lexical] median {:?} per sentence checked against its passages",
        times[times.len() / 2]
    );
    let (original, enlarged) = measure("lexical", &results);
    for (set, c, [p, r]) in
        [("original", original, MIN_LEXICAL), ("enlarged", enlarged, MIN_LEXICAL_ENLARGED)]
    {
        assert!(c.precision() >= p, "{set}: precision {:.3}", c.precision());
        assert!(c.recall() >= r, "{set}: recall {:.3}", c.recall());
    }
}

/// Held-out [precision, recall] floors: what the test halves reach less a small margin
/// (measured: original set 0.864 / 0.891, enlarged set 0.849 / 0.737). The aim is 0.9
/// each. Left on the tuning halves: claims of a capability the passages never mention worded
/// mostly in their terms ("The pickle module encrypts the byte stream it produces", "Base64
/// encoding also compresses the data"), a subject swapped through a pronoun (the passage's "it"
/// is the legacy interface; the claim says the modern one), and "only" claims; wrongly flagged:
/// paraphrases in other words ("Items can be sent back up to 30 days after they were delivered").
/// The held-out added rows (other documents, more contradictions worded in the passage's own
/// terms) are caught least: recall 0.46 on them.
const MIN_LEXICAL: [f64; 2] = [0.84, 0.86];
const MIN_LEXICAL_ENLARGED: [f64; 2] = [0.82, 0.71];

/// The dense path with the real all-MiniLM-L6-v2 (when `CHATBOT_TEST_MINILM_DIR` is set).
#[tokio::test]
async fn dense_precision_and_recall_with_minilm() {
    use chatbot_core::rag::{Embedder, LocalEmbedder};
    let Some(dir) = std::env::var("CHATBOT_TEST_MINILM_DIR").ok().filter(|d| !d.trim().is_empty()) else {
        println!("skipped: CHATBOT_TEST_MINILM_DIR not set");
        return;
    };
    let embedder = LocalEmbedder::load(std::path::Path::new(&dir)).unwrap();
    let dump = std::env::var("GROUNDING_DUMP").is_ok();
    let mut results = Vec::new();
    for r in rows() {
        let check = GroundingCheck::new(&r.sentence, &r.passages, &[] as &[&str]);
        let texts = check.dense_texts();
        let vectors = embedder.embed(&texts).await.unwrap();
        let report = check.report(Some(&vectors));
        assert!(report.sentences[0].dense.is_some(), "the dense side was used");
        results.push((r.test, r.added, judge(&r, &report, "minilm", dump), r.supported));
    }
    let (original, enlarged) = measure("lexical+minilm", &results);
    for (set, c, [p, r]) in [("original", original, MIN_DENSE), ("enlarged", enlarged, MIN_DENSE_ENLARGED)] {
        assert!(c.precision() >= p, "{set}: precision {:.3}", c.precision());
        assert!(c.recall() >= r, "{set}: recall {:.3}", c.recall());
    }
}

/// Held-out [precision, recall] floors with all-MiniLM-L6-v2, less a small margin (measured:
/// original set 0.903 / 0.875, enlarged set 0.880 / 0.737).
const MIN_DENSE: [f64; 2] = [0.88, 0.85];
const MIN_DENSE_ENLARGED: [f64; 2] = [0.85, 0.71];
