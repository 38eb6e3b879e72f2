//! Hybrid fusion, in one place: the lexical (BM25) and dense rankings of a query become one
//! list by reciprocal-rank fusion (Cormack, Clarke and Büttcher, 2009): a chunk scores
//! `Σ 1 / (RRF_K + rank)` over the rankings it appears in. Ranks, not raw scores, are fused, so
//! BM25's unbounded scores and cosine similarities need no common scale.

use std::collections::HashMap;

use super::{Metadata, QueryMatch};

/// RRF's rank offset (the paper's and most engines' default).
pub const RRF_K: f32 = 60.0;

/// The dense ranking's weight in the fusion, the lexical ranking weighing 1. Chosen on the
/// tuning halves of the retrieval benchmark (`bench/retrieval/README.md`: sphinx and django
/// manuals, all-MiniLM-L6-v2): mean recall@5 0.892 at 0.2 against 0.886 lexical alone and
/// 0.869 at 1.0. A chunk both rankings find is lifted; one only the dense ranking finds still
/// enters when the lexical ranking finds little (a question in another language).
pub const DENSE_WEIGHT: f32 = 0.2;

/// How many results each ranking contributes before fusion, for a final `top_k`.
pub fn candidates(top_k: usize) -> usize {
    top_k.saturating_mul(4).clamp(20, 200)
}

/// One fused result.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub id: String,
    /// The fused RRF score (orders the list).
    pub rrf: f32,
    /// Lexical relevance (BM25 over the query's IDF mass) when the lexical ranking returned the chunk.
    pub lexical: Option<f32>,
    /// Dense cosine similarity when the dense ranking returned the chunk.
    pub dense: Option<f32>,
    pub metadata: Metadata,
}

impl Fused {
    /// The chunk's relevance for thresholds: the larger of its lexical relevance and its dense
    /// similarity.
    pub fn relevance(&self) -> f32 {
        self.lexical.unwrap_or(0.0).max(self.dense.unwrap_or(0.0))
    }
}

/// Fuse a lexical and a dense ranking (each best first) into the `top_k` best, best first, with
/// the default weights. With one ranking empty this is the other ranking, in its own order.
/// Ties break by id, so the order is deterministic.
pub fn fuse(lexical: &[QueryMatch], dense: &[QueryMatch], top_k: usize) -> Vec<Fused> {
    fuse_weighted(lexical, dense, DENSE_WEIGHT, top_k)
}

/// [`fuse`] with the dense ranking weighing `dense_weight` (the lexical one 1).
pub fn fuse_weighted(
    lexical: &[QueryMatch],
    dense: &[QueryMatch],
    dense_weight: f32,
    top_k: usize,
) -> Vec<Fused> {
    let mut by_id: HashMap<&str, Fused> = HashMap::new();
    for (list, is_lexical) in [(lexical, true), (dense, false)] {
        let weight = if is_lexical { 1.0 } else { dense_weight };
        for (rank, m) in list.iter().enumerate() {
            let e = by_id.entry(m.id.as_str()).or_insert_with(|| Fused {
                id: m.id.clone(),
                rrf: 0.0,
                lexical: None,
                dense: None,
                metadata: m.metadata.clone(),
            });
            e.rrf += weight / (RRF_K + rank as f32 + 1.0);
            if is_lexical {
                e.lexical = Some(m.score);
            } else {
                e.dense = Some(m.score);
            }
        }
    }
    let mut out: Vec<Fused> = by_id.into_values().collect();
    out.sort_by(|a, b| b.rrf.total_cmp(&a.rrf).then_with(|| a.id.cmp(&b.id)));
    out.truncate(top_k);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, score: f32) -> QueryMatch {
        QueryMatch { id: id.into(), score, metadata: Metadata::new() }
    }

    #[test]
    fn a_chunk_both_rankings_agree_on_wins() {
        let lex = [m("a", 0.9), m("b", 0.8), m("c", 0.1)];
        let dense = [m("c", 0.7), m("b", 0.6), m("d", 0.5)];
        let f = fuse_weighted(&lex, &dense, 1.0, 3);
        // equal weights: c (1/63 + 1/61) just beats b (2/62), which beats a (1/61)
        assert_eq!(f[0].id, "c");
        assert_eq!(f[1].id, "b");
        assert_eq!(f[2].id, "a");
        assert_eq!(f[1].lexical, Some(0.8));
        assert_eq!(f[1].dense, Some(0.6));
        assert!((f[1].rrf - 2.0 / 62.0).abs() < 1e-6);
        assert_eq!(f[2].dense, None);
        assert!((f[0].relevance() - 0.7).abs() < 1e-6);
    }

    #[test]
    fn a_light_dense_weight_reorders_lexical_results_and_fills_in_when_lexical_is_empty() {
        let lex = [m("a", 0.9), m("b", 0.8), m("c", 0.7)];
        let dense = [m("c", 0.9), m("z", 0.8)];
        let ids = |f: Vec<Fused>| f.into_iter().map(|f| f.id).collect::<Vec<_>>();
        // c: 1/63 + 0.2/61 = 0.0192 passes a: 1/61 = 0.0164; z (dense only, 0.2/62) comes last
        assert_eq!(ids(fuse_weighted(&lex, &dense, 0.2, 4)), ["c", "a", "b", "z"]);
        // nothing lexical (another language): the dense ranking alone, in its order
        assert_eq!(ids(fuse_weighted(&[], &dense, 0.2, 4)), ["c", "z"]);
        assert_eq!(ids(fuse_weighted(&lex, &dense, 0.0, 4))[..3], ["a", "b", "c"]);
    }

    #[test]
    fn one_ranking_alone_keeps_its_order() {
        let lex = [m("x", 0.2), m("y", 0.9), m("z", 0.1)];
        let ids: Vec<String> = fuse(&lex, &[], 10).into_iter().map(|f| f.id).collect();
        assert_eq!(ids, ["x", "y", "z"]);
        assert!(fuse(&[], &[], 5).is_empty());
    }
}
