//! TEMPORARY private copy of the question-similarity primitive that the curated-answers work
//! adds as `crate::rag::similar` (same API: [`QuestionSpace`], [`QuestionVec`], [`similarity`]).
//! When that lands, delete this file and point `crate::turns::gaps` at `crate::rag::similar`.
//!
//! Questions are compared either by the company's dense embedder (cosine of the embeddings) or,
//! without one, by their stemmed terms weighted by BM25's IDF in the company's corpus (cosine
//! of the sparse vectors).

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::rag::{CorpusStats, Embedder, LexicalQuery, bm25};

/// A question as a unit vector in a [`QuestionSpace`].
#[derive(Debug, Clone, PartialEq)]
pub enum QuestionVec {
    /// Term ids ascending with their weights (unit length; empty for a question with no terms).
    Sparse(Vec<(u32, f32)>),
    /// A dense embedding (unit length).
    Dense(Vec<f32>),
}

/// How questions are turned into vectors: a dense embedder, or stemmed terms with BM25 weights.
#[derive(Clone)]
pub struct QuestionSpace {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Lexical(Option<Arc<CorpusStats>>),
    Dense(Arc<dyn Embedder>),
}

impl std::fmt::Debug for QuestionSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuestionSpace").field("dense", &self.is_dense()).finish()
    }
}

impl QuestionSpace {
    /// Stemmed terms weighted by IDF in `stats` (1 each without statistics).
    pub fn lexical(stats: Option<Arc<CorpusStats>>) -> Self {
        Self { kind: Kind::Lexical(stats) }
    }

    /// The embeddings of a dense embedder (its dimension must not be 0).
    pub fn dense(embedder: Arc<dyn Embedder>) -> Self {
        Self { kind: Kind::Dense(embedder) }
    }

    /// Whether questions are embedded densely.
    pub fn is_dense(&self) -> bool {
        matches!(self.kind, Kind::Dense(_))
    }

    /// The questions' vectors, in order.
    ///
    /// # Errors
    /// The embedder's failures; [`Error::Upstream`] when it returns the wrong number of vectors.
    pub async fn vectors(&self, questions: &[String]) -> Result<Vec<QuestionVec>> {
        match &self.kind {
            Kind::Lexical(stats) => Ok(questions.iter().map(|q| lexical_vec(q, stats.as_deref())).collect()),
            Kind::Dense(e) => {
                let mut out = Vec::with_capacity(questions.len());
                for batch in questions.chunks(e.max_batch().max(1)) {
                    let vs = e.embed(batch).await?;
                    if vs.len() != batch.len() {
                        return Err(Error::Upstream {
                            service: "embedder".into(),
                            message: format!("expected {} vectors, got {}", batch.len(), vs.len()),
                            retryable: false,
                            retry_after: None,
                        });
                    }
                    out.extend(vs.into_iter().map(|v| QuestionVec::Dense(unit(v))));
                }
                Ok(out)
            }
        }
    }
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 && n.is_finite() {
        v.iter_mut().for_each(|x| *x /= n);
    } else {
        v.iter_mut().for_each(|x| *x = 0.0);
    }
    v
}

fn lexical_vec(question: &str, stats: Option<&CorpusStats>) -> QuestionVec {
    let terms = bm25::query_terms(question);
    let q = LexicalQuery::new(&terms, stats);
    let weights: Vec<f32> = q.weights.iter().zip(&terms.counts).map(|(w, &c)| w * c as f32).collect();
    let weights = unit(weights);
    QuestionVec::Sparse(q.ids.into_iter().zip(weights).collect())
}

/// Cosine similarity of two question vectors, in `0.0..=1.0` (0 for vectors of different kinds
/// or empty ones).
pub fn similarity(a: &QuestionVec, b: &QuestionVec) -> f32 {
    let dot = match (a, b) {
        (QuestionVec::Dense(a), QuestionVec::Dense(b)) if a.len() == b.len() => {
            a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
        }
        (QuestionVec::Sparse(a), QuestionVec::Sparse(b)) => {
            let (mut i, mut j, mut s) = (0, 0, 0.0f32);
            while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
                match x.0.cmp(&y.0) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        s += x.1 * y.1;
                        i += 1;
                        j += 1;
                    }
                }
            }
            s
        }
        _ => 0.0,
    };
    if dot.is_finite() { dot.clamp(0.0, 1.0) } else { 0.0 }
}
