//! BM25, written once: the analysed terms of a chunk ([`Terms`]), of a query
//! ([`LexicalQuery`]), and the scoring formula every lexical index uses.
//!
//! The local index scores a query exactly (its own document frequencies and average length,
//! always current); a remote index (Pinecone) stores [`doc_sparse`] weights and is queried with
//! [`LexicalQuery::sparse`], whose IDF weights come from the company's own corpus statistics, so
//! the dot product it computes is BM25 with the average length fixed at [`REMOTE_AVGDL`].
//!
//! A term is identified by a 32-bit hash of its analysed form ([`term_id`]): the ids are what
//! Pinecone's sparse vectors carry, and collisions at 32 bits are negligible for one company's
//! vocabulary.

use serde::{Deserialize, Serialize};

use super::stats::CorpusStats;

/// Version of the text analysis (tokenizer, stopwords, stemmers, language detection) terms are
/// made with: part of every company's recorded index identity, so a change means a reindex
/// (`chatbot ingest reindex`), never terms of two analyses in one index.
pub const ANALYZER: &str = "bm25-v2";

/// Term-frequency saturation (Lucene's and tantivy's default).
pub const K1: f32 = 1.2;
/// Document-length normalisation (Lucene's and tantivy's default).
pub const B: f32 = 0.75;
/// The average chunk length (in analysed terms) remote stores' document weights assume: the
/// default chunk (about 1,000 characters) has about this many terms after stopwords.
pub const REMOTE_AVGDL: f32 = 110.0;

/// A chunk's analysed terms: ids ascending and unique, with their counts, and the chunk's length
/// in terms (the sum of the counts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub ids: Vec<u32>,
    pub counts: Vec<u32>,
}

impl Terms {
    /// Terms from analysed tokens (any order, repeats counted).
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Self {
        let mut ids: Vec<u32> = tokens.into_iter().map(term_id).collect();
        ids.sort_unstable();
        let mut out = Terms::default();
        for id in ids {
            match out.ids.last() {
                Some(&last) if last == id => {
                    if let Some(c) = out.counts.last_mut() {
                        *c = c.saturating_add(1);
                    }
                }
                _ => {
                    out.ids.push(id);
                    out.counts.push(1);
                }
            }
        }
        out
    }

    /// Length in terms.
    pub fn len(&self) -> u32 {
        self.counts.iter().fold(0u32, |a, &c| a.saturating_add(c))
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A sparse vector as Pinecone spells it (`indices`, `values`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseVector {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl SparseVector {
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// A query's analysed terms (ids ascending, unique) and their IDF weights in the company's
/// corpus (1.0 each when no statistics are known).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LexicalQuery {
    pub ids: Vec<u32>,
    pub weights: Vec<f32>,
}

impl LexicalQuery {
    /// A query over `terms`, weighted by `stats` (BM25's IDF of each term's document frequency).
    pub fn new(terms: &Terms, stats: Option<&CorpusStats>) -> Self {
        let weights = terms
            .ids
            .iter()
            .map(|&id| match stats {
                Some(s) if s.doc_count() > 0 => idf(s.doc_count(), u64::from(s.df(id).max(1))),
                _ => 1.0,
            })
            .collect();
        Self { ids: terms.ids.clone(), weights }
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The query as a sparse vector (its IDF weights).
    pub fn sparse(&self) -> SparseVector {
        SparseVector { indices: self.ids.clone(), values: self.weights.clone() }
    }
}

/// The analysed terms of a chunk's indexed text (its language detected from the text).
pub fn document_terms(text: &str) -> Terms {
    let tokens = crate::text::index_tokens(text);
    Terms::from_tokens(tokens.iter().map(String::as_str))
}

/// The analysed terms of a search query.
pub fn query_terms(text: &str) -> Terms {
    let tokens = crate::text::query_tokens(text);
    Terms::from_tokens(tokens.iter().map(String::as_str))
}

/// 32-bit FNV-1a of an analysed term (stable across versions and machines).
pub fn term_id(term: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in term.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// BM25's IDF with the `+1` inside the log (Lucene's form, never negative).
pub fn idf(doc_count: u64, df: u64) -> f32 {
    let n = doc_count as f64;
    let df = df.min(doc_count) as f64;
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln() as f32
}

/// A term's saturated, length-normalised frequency in a document.
pub fn tf_weight(tf: u32, doc_len: u32, avgdl: f32) -> f32 {
    if tf == 0 {
        return 0.0;
    }
    let tf = tf as f32;
    let norm = if avgdl > 0.0 { 1.0 - B + B * doc_len as f32 / avgdl } else { 1.0 };
    tf * (K1 + 1.0) / (tf + K1 * norm)
}

/// A document's BM25 weights as a sparse vector, for stores that compute dot products.
pub fn doc_sparse(terms: &Terms, avgdl: f32) -> SparseVector {
    let len = terms.len();
    SparseVector {
        indices: terms.ids.clone(),
        values: terms.counts.iter().map(|&tf| tf_weight(tf, len, avgdl)).collect(),
    }
}

/// A BM25 score as a relevance thresholds can read: the score divided by the query's IDF mass
/// (`idf_sum`: what a chunk of average length holding every query term once scores). 1 means
/// "all of the query, once each"; repeated terms or a short chunk reach up to `K1 + 1`.
pub fn relevance(score: f32, idf_sum: f32) -> f32 {
    if idf_sum > 0.0 && score.is_finite() { (score / idf_sum).max(0.0) } else { 0.0 }
}

/// The IDF mass of a query's terms given their document frequencies in a corpus of
/// `doc_count` chunks (a term the corpus lacks counts as occurring once: as rare as can be).
pub fn idf_mass(doc_count: u64, dfs: impl IntoIterator<Item = u32>) -> f32 {
    dfs.into_iter().map(|df| idf(doc_count, u64::from(df.max(1)))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_count_repeats_and_sort() {
        let t = Terms::from_tokens(["b", "a", "b", "c", "b"]);
        assert_eq!(t.len(), 5);
        let b = t.ids.iter().position(|&i| i == term_id("b")).map(|p| t.counts[p]);
        assert_eq!(b, Some(3));
        assert!(t.ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn bm25_formula_matches_the_textbook() {
        // N = 10, df = 2: ln(1 + 8.5 / 2.5)
        assert!((idf(10, 2) - (1.0f32 + 8.5 / 2.5).ln()).abs() < 1e-6);
        assert!(idf(10, 10) > 0.0, "never negative");
        // tf 2 in a document of average length: 2 * 2.2 / (2 + 1.2)
        assert!((tf_weight(2, 100, 100.0) - 2.0 * 2.2 / 3.2).abs() < 1e-6);
        // saturation: more occurrences help less and less
        let w: Vec<f32> = (1..6).map(|tf| tf_weight(tf, 100, 100.0)).collect();
        assert!(w.windows(2).all(|p| p[1] > p[0]));
        assert!(w[4] < K1 + 1.0);
        // length normalisation: the same tf weighs less in a longer document
        assert!(tf_weight(1, 200, 100.0) < tf_weight(1, 50, 100.0));
    }

    #[test]
    fn query_weights_come_from_the_company_statistics() {
        let mut stats = CorpusStats::new();
        for _ in 0..9 {
            stats.add_document(&[term_id("common")]);
        }
        stats.add_document(&[term_id("common"), term_id("rare")]);
        let q = LexicalQuery::new(&Terms::from_tokens(["rare", "common"]), Some(&stats));
        let w = |t: &str| q.ids.iter().position(|&i| i == term_id(t)).map(|p| q.weights[p]);
        assert!(w("rare") > w("common"));
        let unweighted = LexicalQuery::new(&Terms::from_tokens(["rare"]), None);
        assert_eq!(unweighted.weights, vec![1.0]);
        // one term once in a chunk of average length: exactly the IDF mass
        assert!((relevance(tf_weight(1, 100, 100.0) * 2.0, 2.0) - 1.0).abs() < 1e-6);
        assert_eq!(relevance(f32::NAN, 1.0), 0.0);
        assert_eq!(relevance(1.0, 0.0), 0.0);
    }
}
