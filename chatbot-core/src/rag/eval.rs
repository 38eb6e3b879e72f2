//! Retrieval quality on a company's own questions: the `chatbot eval` file format and metrics.
//!
//! A questions file is JSON Lines, one question per line:
//!
//! ```text
//! {"query": "How long do I have to return an item?", "relevant": ["https://shop.example/returns", "30 days"]}
//! ```
//!
//! An entry of `relevant` matches a retrieved chunk when it equals the chunk's source with any
//! `#fragment` removed on both sides, or when it occurs in the chunk's text (case-sensitive).
//! Over the ranked results of each query:
//! - hit@k: the share of queries with a match among the top `k`;
//! - recall@k: the mean, over queries, of the share of the query's (distinct) entries matched
//!   by some result among the top `k`;
//! - MRR@10: the mean of `1 / rank` of the first result (1-based, within the top
//!   [`MRR_DEPTH`]) that matches any entry, 0 when none does.
//!
//! Everything here is pure: a caller retrieves [`search_depth`] results per query (with
//! `Knowledge::search` or its own retrieval) and feeds them to [`Scorer::add`].
//!
//! ```
//! use chatbot_core::rag::eval::{Scorer, parse_qa};
//! let items = parse_qa(&br#"{"query":"returns","relevant":["https://shop.example/returns"]}"#[..])?;
//! let mut scorer = Scorer::new(5)?;
//! let results = [("https://shop.example/returns#policy", "Returns within 30 days.")];
//! scorer.add(&items[0].relevant, results.iter().copied());
//! let report = scorer.report();
//! assert_eq!((report.queries, report.hit_at_k, report.mrr_at_10), (1, 1.0, 1.0));
//! # Ok::<(), chatbot_core::Error>(())
//! ```

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest line of a questions file, in bytes (without its line break).
pub const MAX_QA_LINE_BYTES: usize = 64 * 1024;
/// Most questions one file may hold.
pub const MAX_QA_QUERIES: usize = 100_000;
/// Largest `k` (the search itself returns at most 100 results).
pub const MAX_K: usize = 100;
/// Depth of the reciprocal rank (MRR@10).
pub const MRR_DEPTH: usize = 10;

/// One question: what a visitor asks and what a good answer must be retrieved from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QaItem {
    /// The question, as a visitor would type it.
    pub query: String,
    /// Sources (URLs or paths, `#fragment` ignored) or text snippets that count as relevant;
    /// distinct and non-empty.
    pub relevant: Vec<String>,
}

/// How many results to retrieve per query for `k`: `max(k, MRR_DEPTH)`, so that one search
/// serves hit@k, recall@k and MRR@10.
///
/// # Errors
/// [`Error::Invalid`] (`top_k`) unless `1 <= k <= MAX_K`.
pub fn search_depth(k: usize) -> Result<usize> {
    check_k(k)?;
    Ok(k.max(MRR_DEPTH))
}

fn check_k(k: usize) -> Result<()> {
    if (1..=MAX_K).contains(&k) {
        Ok(())
    } else {
        Err(Error::invalid("top_k", format!("must be between 1 and {MAX_K}")))
    }
}

/// Read a questions file (JSON Lines). Blank lines are skipped; a UTF-8 byte-order mark at the
/// start is ignored; exact duplicate entries of one `relevant` list count once.
///
/// # Errors
/// [`Error::Invalid`] naming the line (`qa line N`) for a line that is too long
/// ([`MAX_QA_LINE_BYTES`]), not UTF-8, not a JSON object with a string `query` and a list of
/// strings `relevant`, an empty query, an empty list or an empty entry; [`Error::Invalid`]
/// (`qa`) for a file without questions or with more than [`MAX_QA_QUERIES`];
/// [`Error::Io`] when reading fails.
pub fn parse_qa<R: BufRead>(mut reader: R) -> Result<Vec<QaItem>> {
    let mut items = Vec::new();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        line_no += 1;
        // Read at most one byte more than a line may hold with its "\r\n", so that a huge
        // line is refused without being held in memory.
        let limit = u64::try_from(MAX_QA_LINE_BYTES + 2).unwrap_or(u64::MAX);
        let n = std::io::Read::take(&mut reader, limit).read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        let ended = buf.last() == Some(&b'\n');
        if ended {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        if buf.len() > MAX_QA_LINE_BYTES {
            return Err(line_error(line_no, format!("longer than {MAX_QA_LINE_BYTES} bytes")));
        }
        let mut line = std::str::from_utf8(&buf).map_err(|_| line_error(line_no, "not UTF-8"))?;
        if line_no == 1 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        let Some(item) = parse_qa_line(line_no, line)? else { continue };
        if items.len() == MAX_QA_QUERIES {
            return Err(Error::invalid(
                "qa",
                format!("more than {MAX_QA_QUERIES} questions (line {line_no})"),
            ));
        }
        items.push(item);
    }
    if items.is_empty() {
        return Err(Error::invalid("qa", "the file holds no questions (one JSON object per line)"));
    }
    Ok(items)
}

/// One line of a questions file; `None` for a blank line. `line_no` (1-based) names the line
/// in errors.
///
/// # Errors
/// As [`parse_qa`], for this line.
pub fn parse_qa_line(line_no: usize, line: &str) -> Result<Option<QaItem>> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    if line.len() > MAX_QA_LINE_BYTES {
        return Err(line_error(line_no, format!("longer than {MAX_QA_LINE_BYTES} bytes")));
    }
    let raw: QaItem = serde_json::from_str(line).map_err(|e| {
        line_error(line_no, format!(r#"expected {{"query": "...", "relevant": ["...", ...]}}: {e}"#))
    })?;
    if raw.query.trim().is_empty() {
        return Err(line_error(line_no, "query is empty"));
    }
    if raw.relevant.is_empty() {
        return Err(line_error(line_no, "relevant is empty (give at least one source or text)"));
    }
    let mut relevant: Vec<String> = Vec::with_capacity(raw.relevant.len());
    for (i, entry) in raw.relevant.into_iter().enumerate() {
        if entry.trim().is_empty() {
            return Err(line_error(line_no, format!("relevant[{i}] is empty")));
        }
        if !relevant.contains(&entry) {
            relevant.push(entry);
        }
    }
    Ok(Some(QaItem { query: raw.query, relevant }))
}

fn line_error(line_no: usize, reason: impl Into<String>) -> Error {
    Error::invalid(format!("qa line {line_no}"), reason)
}

/// `s` without its `#fragment`.
fn without_fragment(s: &str) -> &str {
    s.split_once('#').map_or(s, |(base, _)| base)
}

/// Whether `entry` matches a result with this `source` and `text`: equal sources ignoring
/// `#fragment` on both sides, or `entry` occurring in `text`.
pub fn entry_matches(entry: &str, source: &str, text: &str) -> bool {
    without_fragment(entry) == without_fragment(source) || text.contains(entry)
}

/// One query's scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueryScore {
    /// Some result among the top `k` matches.
    pub hit: bool,
    /// Share of the relevant entries matched among the top `k`.
    pub recall: f64,
    /// `1 / rank` of the first match within the top [`MRR_DEPTH`]; 0 without one.
    pub reciprocal_rank: f64,
}

/// Score one query's ranked results (best first; `(source, text)` pairs) against its relevant
/// entries. Results past `max(k, MRR_DEPTH)` are not looked at; an empty `relevant` scores 0.
pub fn score_query<'a>(
    relevant: &[String],
    results: impl IntoIterator<Item = (&'a str, &'a str)>,
    k: usize,
) -> QueryScore {
    let mut matched = vec![false; relevant.len()];
    let mut hit = false;
    let mut reciprocal_rank = 0.0;
    for (i, (source, text)) in results.into_iter().take(k.max(MRR_DEPTH)).enumerate() {
        let mut any = false;
        for (m, entry) in matched.iter_mut().zip(relevant) {
            if entry_matches(entry, source, text) {
                any = true;
                if i < k {
                    *m = true;
                }
            }
        }
        if any {
            hit |= i < k;
            if reciprocal_rank == 0.0 && i < MRR_DEPTH {
                reciprocal_rank = 1.0 / (i as f64 + 1.0);
            }
        }
    }
    let recall = if relevant.is_empty() {
        0.0
    } else {
        matched.iter().filter(|m| **m).count() as f64 / relevant.len() as f64
    };
    QueryScore { hit, recall, reciprocal_rank }
}

/// The metrics over a set of questions, as `chatbot eval --json` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Questions scored.
    pub queries: usize,
    /// The cut-off of hit@k and recall@k.
    pub k: usize,
    pub hit_at_k: f64,
    pub recall_at_k: f64,
    pub mrr_at_10: f64,
}

/// Accumulates [`QueryScore`]s into an [`EvalReport`].
#[derive(Debug, Clone)]
pub struct Scorer {
    k: usize,
    queries: usize,
    hits: usize,
    recall_sum: f64,
    rr_sum: f64,
}

impl Scorer {
    /// A scorer for hit@k and recall@k (and MRR@10).
    ///
    /// # Errors
    /// [`Error::Invalid`] (`top_k`) unless `1 <= k <= MAX_K`.
    pub fn new(k: usize) -> Result<Self> {
        check_k(k)?;
        Ok(Self { k, queries: 0, hits: 0, recall_sum: 0.0, rr_sum: 0.0 })
    }

    /// The `k` this scorer cuts at.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Score one query's ranked results (see [`score_query`]) and count it.
    pub fn add<'a>(
        &mut self,
        relevant: &[String],
        results: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> QueryScore {
        let s = score_query(relevant, results, self.k);
        self.queries += 1;
        self.hits += usize::from(s.hit);
        self.recall_sum += s.recall;
        self.rr_sum += s.reciprocal_rank;
        s
    }

    /// The means so far (all 0 before any query).
    pub fn report(&self) -> EvalReport {
        let n = self.queries.max(1) as f64;
        EvalReport {
            queries: self.queries,
            k: self.k,
            hit_at_k: self.hits as f64 / n,
            recall_at_k: self.recall_sum / n,
            mrr_at_10: self.rr_sum / n,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn rel(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|s| (*s).to_string()).collect()
    }

    fn field(e: &Error) -> (&str, &str) {
        match e {
            Error::Invalid { field, reason } => (field.as_str(), reason.as_str()),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn matching_ignores_fragments_on_both_sides_and_falls_back_to_text() {
        assert!(entry_matches("https://a.test/p", "https://a.test/p#sec", ""));
        assert!(entry_matches("https://a.test/p#other", "https://a.test/p#sec", ""));
        assert!(entry_matches("https://a.test/p#x", "https://a.test/p", ""));
        assert!(!entry_matches("https://a.test/p", "https://a.test/page", ""));
        assert!(!entry_matches("https://a.test/p", "https://a.test/p/", ""));
        assert!(entry_matches("30 days", "https://a.test/returns", "within 30 days of delivery"));
        assert!(
            !entry_matches("30 Days", "https://a.test/returns", "within 30 days of delivery"),
            "case-sensitive"
        );
        // A source that is not a URL (a file path) is compared the same way.
        assert!(entry_matches("/docs/x.html", "/docs/x.html", "text"));
    }

    /// Hand-computed: relevant {A, B, "needle"}; ranks 1..=12 with A at 3, "needle" in the text
    /// at 7, B at 11 (past the MRR depth and past k).
    #[test]
    fn one_query_by_hand() {
        let relevant = rel(&["A", "B", "needle"]);
        let mut results: Vec<(String, String)> =
            (1..=12).map(|i| (format!("other{i}"), format!("text {i}"))).collect();
        results[2].0 = "A#intro".into();
        results[6].1 = "a needle here".into();
        results[10].0 = "B".into();
        let pairs = || results.iter().map(|(s, t)| (s.as_str(), t.as_str()));

        // k = 1: nothing at rank 1; first match at 3.
        let s = score_query(&relevant, pairs(), 1);
        assert_eq!(s, QueryScore { hit: false, recall: 0.0, reciprocal_rank: 1.0 / 3.0 });
        // k = 2: A sits at rank 3, just past the cut-off.
        let s = score_query(&relevant, pairs(), 2);
        assert_eq!(s, QueryScore { hit: false, recall: 0.0, reciprocal_rank: 1.0 / 3.0 });
        // k = 3: A is in.
        let s = score_query(&relevant, pairs(), 3);
        assert_eq!(s, QueryScore { hit: true, recall: 1.0 / 3.0, reciprocal_rank: 1.0 / 3.0 });
        // k = 5: A matched (1 of 3).
        let s = score_query(&relevant, pairs(), 5);
        assert_eq!(s, QueryScore { hit: true, recall: 1.0 / 3.0, reciprocal_rank: 1.0 / 3.0 });
        // k = 10: A and needle (2 of 3).
        let s = score_query(&relevant, pairs(), 10);
        assert_eq!(s, QueryScore { hit: true, recall: 2.0 / 3.0, reciprocal_rank: 1.0 / 3.0 });
        // k = 12: all three; MRR still from the first match.
        let s = score_query(&relevant, pairs(), 12);
        assert_eq!(s, QueryScore { hit: true, recall: 1.0, reciprocal_rank: 1.0 / 3.0 });
    }

    #[test]
    fn reciprocal_rank_stops_at_ten_and_one_result_can_match_several_entries() {
        let relevant = rel(&["late"]);
        let results: Vec<(String, String)> = (1..=11)
            .map(|i| (format!("s{i}"), if i == 11 { "late".into() } else { String::new() }))
            .collect();
        let s = score_query(&relevant, results.iter().map(|(a, b)| (a.as_str(), b.as_str())), 20);
        assert_eq!(s, QueryScore { hit: true, recall: 1.0, reciprocal_rank: 0.0 }, "rank 11 is past MRR@10");

        let relevant = rel(&["src", "word"]);
        let s = score_query(&relevant, [("src", "one word")], 5);
        assert_eq!(s, QueryScore { hit: true, recall: 1.0, reciprocal_rank: 1.0 });
        let s = score_query(&relevant, std::iter::empty(), 5);
        assert_eq!(s, QueryScore { hit: false, recall: 0.0, reciprocal_rank: 0.0 });
    }

    /// Three queries, k = 2, computed by hand:
    /// q1: relevant {a}, results [a, x] -> hit, recall 1, rr 1
    /// q2: relevant {b, c}, results [x, c, y, b] -> hit, recall 1/2, rr 1/2
    /// q3: relevant {d}, results [x, y, z, d] -> miss, recall 0, rr 1/4
    /// hit@2 = 2/3, recall@2 = (1 + 1/2 + 0)/3 = 1/2, MRR@10 = (1 + 1/2 + 1/4)/3 = 7/12.
    #[test]
    fn report_over_queries_by_hand() {
        let mut sc = Scorer::new(2).unwrap();
        assert_eq!(
            sc.report(),
            EvalReport { queries: 0, k: 2, hit_at_k: 0.0, recall_at_k: 0.0, mrr_at_10: 0.0 }
        );
        sc.add(&rel(&["a"]), [("a", ""), ("x", "")]);
        sc.add(&rel(&["b", "c"]), [("x", ""), ("c", ""), ("y", ""), ("b", "")]);
        sc.add(&rel(&["d"]), [("x", ""), ("y", ""), ("z", ""), ("d", "")]);
        let r = sc.report();
        assert_eq!((r.queries, r.k), (3, 2));
        assert!((r.hit_at_k - 2.0 / 3.0).abs() < 1e-12, "{r:?}");
        assert!((r.recall_at_k - 0.5).abs() < 1e-12, "{r:?}");
        assert!((r.mrr_at_10 - 7.0 / 12.0).abs() < 1e-12, "{r:?}");
        let json = serde_json::to_value(r).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 5);
        for key in ["queries", "k", "hit_at_k", "recall_at_k", "mrr_at_10"] {
            assert!(keys.contains(&key), "{json}");
        }
    }

    #[test]
    fn k_and_depth_are_bounded() {
        assert_eq!(search_depth(5).unwrap(), 10);
        assert_eq!(search_depth(30).unwrap(), 30);
        for bad in [0, MAX_K + 1] {
            assert_eq!(field(&search_depth(bad).unwrap_err()).0, "top_k");
            assert_eq!(field(&Scorer::new(bad).unwrap_err()).0, "top_k");
        }
    }

    #[test]
    fn a_file_parses_with_blank_lines_crlf_bom_and_extra_fields() {
        let text = "\u{feff}{\"query\":\"q1\",\"relevant\":[\"a\",\"a\",\"b\"]}\r\n\n  \n{\"query\":\"q2\",\"relevant\":[\"c\"],\"note\":1}";
        let items = parse_qa(text.as_bytes()).unwrap();
        assert_eq!(
            items,
            vec![
                QaItem { query: "q1".into(), relevant: rel(&["a", "b"]) },
                QaItem { query: "q2".into(), relevant: rel(&["c"]) },
            ]
        );
    }

    #[test]
    fn bad_lines_are_refused_naming_the_line() {
        let good = r#"{"query":"q","relevant":["a"]}"#;
        let cases: &[(&str, &str)] = &[
            ("not json", "expected"),
            ("[1,2]", "expected"),
            (r#"{"query":"q"}"#, "relevant"),
            (r#"{"relevant":["a"]}"#, "query"),
            (r#"{"query":"q","relevant":"a"}"#, "expected"),
            (r#"{"query":"q","relevant":[1]}"#, "expected"),
            (r#"{"query":"q","relevant":[]}"#, "relevant is empty"),
            (r#"{"query":"q","relevant":["a", " "]}"#, "relevant[1] is empty"),
            (r#"{"query":"  ","relevant":["a"]}"#, "query is empty"),
            (r#"{"query":"q","relevant":["a"]} trailing"#, "expected"),
        ];
        for (bad, reason) in cases {
            let text = format!("{good}\n\n{bad}\n{good}\n");
            let e = parse_qa(text.as_bytes()).unwrap_err();
            let (f, r) = field(&e);
            assert_eq!(f, "qa line 3", "{bad}: {e}");
            assert!(r.contains(reason), "{bad}: {e}");
        }
        let mut bytes = format!("{good}\n").into_bytes();
        bytes.extend_from_slice(b"{\"query\":\"\xff\",\"relevant\":[\"a\"]}\n");
        let e = parse_qa(&bytes[..]).unwrap_err();
        assert_eq!(field(&e), ("qa line 2", "not UTF-8"));
    }

    #[test]
    fn empty_files_and_huge_lines_are_refused() {
        for empty in ["", "\n\n  \n", "\u{feff}"] {
            let e = parse_qa(empty.as_bytes()).unwrap_err();
            assert_eq!(field(&e).0, "qa", "{empty:?}");
        }
        let good = r#"{"query":"q","relevant":["a"]}"#;
        let fits = format!(r#"{{"query":"q","relevant":["{}"]}}"#, "x".repeat(MAX_QA_LINE_BYTES - 29));
        assert_eq!(fits.len(), MAX_QA_LINE_BYTES);
        assert_eq!(parse_qa(format!("{fits}\n{good}").as_bytes()).unwrap().len(), 2);
        assert_eq!(parse_qa(format!("{fits}\r\n{good}").as_bytes()).unwrap().len(), 2);
        assert_eq!(parse_qa(fits.as_bytes()).unwrap().len(), 1, "at the limit without a line break");
        let huge = format!(r#"{{"query":"q","relevant":["{}"]}}"#, "x".repeat(MAX_QA_LINE_BYTES));
        for text in [format!("{good}\n{huge}\n{good}"), format!("{good}\n{huge}")] {
            let e = parse_qa(text.as_bytes()).unwrap_err();
            let (f, r) = field(&e);
            assert_eq!(f, "qa line 2");
            assert!(r.contains("longer than"), "{r}");
        }
        // A line with no break at all, far beyond the limit, is refused without reading it all.
        let endless = std::io::BufReader::new(std::io::repeat(b'x'));
        assert_eq!(field(&parse_qa(endless).unwrap_err()).0, "qa line 1");
    }

    #[test]
    fn too_many_questions_are_refused() {
        let line = "{\"query\":\"q\",\"relevant\":[\"a\"]}\n";
        let text = line.repeat(MAX_QA_QUERIES + 1);
        let e = parse_qa(text.as_bytes()).unwrap_err();
        let (f, r) = field(&e);
        assert_eq!(f, "qa");
        assert!(r.contains(&format!("line {}", MAX_QA_QUERIES + 1)), "{r}");
    }
}
