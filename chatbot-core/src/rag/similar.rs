//! Question similarity "by meaning", shared by curated-answer matching and gap grouping.
//!
//! A [`QuestionSpace`] turns questions into unit vectors and [`similarity`] compares two of
//! them (cosine, in `[0, 1]`):
//! - **dense**, when the company's embedder has a dense side (`dimension() > 0`): the
//!   embedder's vectors, normalised;
//! - **lexical** otherwise: the question's content terms (the search query's analysis,
//!   [`crate::text::query_word_tokens`]: English and the detected language, stopwords dropped,
//!   minus the chat filler a visitor adds, "please", "tell"..., and question filler, "is it
//!   possible"), words and phrases of the paraphrase lexicon ([`super::paraphrase`]) read as
//!   their concept and number words as digits, each weighted by its BM25 IDF in the given corpus
//!   statistics (the company's knowledge, or the questions themselves, [`question_stats`]);
//!   uniform weights without statistics (what curated answers use).
//!
//! Vectors of the two kinds never compare (similarity 0), so a caller keeps the vectors of one
//! space together (a cache keyed by [`QuestionSpace::is_dense`] and the embedder's model).
//! `Chatbot::question_space` (chatbot/questions.rs) picks a company's space.

// Used by curated answers and the gap report (built on separate branches).
#![allow(dead_code)]

use std::sync::Arc;

use super::Embedder;
use super::bm25::{self, Terms};
use super::paraphrase;
use super::stats::CorpusStats;
use crate::error::Result;

/// A question as a unit vector of one [`QuestionSpace`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QuestionVec {
    /// The embedder's vector, unit length (all zeros for an empty or unreadable text).
    Dense(Vec<f32>),
    /// `(term id, weight)`, term ids ascending, unit length (empty: no content term).
    Sparse(Vec<(u32, f32)>),
}

impl QuestionVec {
    /// Whether the vector carries nothing to compare (an empty question, or only stopwords):
    /// its similarity to anything is 0.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            QuestionVec::Dense(v) => v.iter().all(|x| *x == 0.0),
            QuestionVec::Sparse(v) => v.is_empty(),
        }
    }
}

/// Where questions are compared: the dense embedder, or IDF-weighted stemmed terms.
#[derive(Clone)]
pub(crate) struct QuestionSpace {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Dense(Arc<dyn Embedder>),
    Lexical(Option<Arc<CorpusStats>>),
}

impl std::fmt::Debug for QuestionSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Dense(e) => f.debug_struct("QuestionSpace::Dense").field("model", &e.model()).finish(),
            Kind::Lexical(s) => f
                .debug_struct("QuestionSpace::Lexical")
                .field("docs", &s.as_ref().map(|s| s.doc_count()))
                .finish(),
        }
    }
}

impl QuestionSpace {
    /// Lexical space: terms weighted by their IDF in `stats` (uniform without).
    pub(crate) fn lexical(stats: Option<Arc<CorpusStats>>) -> Self {
        Self { kind: Kind::Lexical(stats.filter(|s| s.doc_count() > 0)) }
    }

    /// Dense space over `embedder` (which must have `dimension() > 0`; a lexical-only embedder
    /// gives a lexical space without statistics).
    pub(crate) fn dense(embedder: Arc<dyn Embedder>) -> Self {
        if embedder.dimension() == 0 {
            return Self::lexical(None);
        }
        Self { kind: Kind::Dense(embedder) }
    }

    /// Whether the vectors are the embedder's.
    pub(crate) fn is_dense(&self) -> bool {
        matches!(self.kind, Kind::Dense(_))
    }

    /// The embedder's model name (dense), `None` for the lexical space: with
    /// [`QuestionSpace::is_dense`], what a cache of vectors is keyed by.
    pub(crate) fn model(&self) -> Option<&str> {
        match &self.kind {
            Kind::Dense(e) => Some(e.model()),
            Kind::Lexical(_) => None,
        }
    }

    /// The unit vectors of `texts`, in order.
    ///
    /// # Errors
    /// The embedder's errors (dense); [`crate::Error::Upstream`] when it returns the wrong number of
    /// vectors. The lexical space never fails.
    pub(crate) async fn vectors(&self, texts: &[String]) -> Result<Vec<QuestionVec>> {
        match &self.kind {
            Kind::Lexical(stats) => Ok(texts.iter().map(|t| lexical_vector(t, stats.as_deref())).collect()),
            Kind::Dense(e) => {
                let mut out = Vec::with_capacity(texts.len());
                for batch in texts.chunks(e.max_batch().max(1)) {
                    let vs = super::embed_exact(e.as_ref(), batch).await?;
                    for mut v in vs {
                        if v.iter().any(|x| !x.is_finite()) {
                            v.iter_mut().for_each(|x| *x = 0.0);
                        }
                        super::normalize(&mut v);
                        out.push(QuestionVec::Dense(v));
                    }
                }
                Ok(out)
            }
        }
    }
}

/// Cosine similarity of two question vectors, in `[0, 1]` (negative cosines read as 0); 0 for
/// vectors of different kinds or lengths, and for an empty vector.
pub(crate) fn similarity(a: &QuestionVec, b: &QuestionVec) -> f32 {
    let s = match (a, b) {
        (QuestionVec::Dense(x), QuestionVec::Dense(y)) if x.len() == y.len() => {
            x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>()
        }
        (QuestionVec::Sparse(x), QuestionVec::Sparse(y)) => {
            let (mut i, mut j, mut dot) = (0usize, 0usize, 0f32);
            while let (Some(&(ka, wa)), Some(&(kb, wb))) = (x.get(i), y.get(j)) {
                match ka.cmp(&kb) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        dot += wa * wb;
                        i += 1;
                        j += 1;
                    }
                }
            }
            dot
        }
        _ => 0.0,
    };
    if s.is_finite() { s.clamp(0.0, 1.0) } else { 0.0 }
}

/// Corpus statistics of a set of questions, each one document, in the lexical space's analysis:
/// the IDF weights a caller without the company's statistics can use (a word most of the
/// questions share weighs little).
pub(crate) fn question_stats(texts: &[String]) -> CorpusStats {
    let mut stats = CorpusStats::new();
    for t in texts {
        stats.add_document(&question_terms(t).ids);
    }
    stats
}

/// Weight of a stem's prefix feature relative to the stem (see [`PREFIX_CHARS`]).
const PREFIX_WEIGHT: f32 = 0.5;
/// A stem of at least this many characters also counts as its first this many characters, so
/// variants the stemmer keeps apart still meet ("deliver"/"delivery", "furnished"/"furniture"),
/// at [`PREFIX_WEIGHT`]. Five keeps "contact" and "contract" apart.
const PREFIX_CHARS: usize = 5;

/// The content terms of a question: the query analysis of its words without the chat filler,
/// the paraphrase lexicon's concepts in place of its words and phrases.
fn question_terms(text: &str) -> Terms {
    let mut t = Terms::default();
    let mut ids: Vec<u32> = question_features(text).into_iter().filter(|f| f.0 == f.1).map(|f| f.0).collect();
    ids.sort_unstable();
    ids.dedup();
    t.counts = vec![1; ids.len()];
    t.ids = ids;
    t
}

/// A question's analysed tokens: phrases and words of the paraphrase lexicon as their concepts
/// ([`super::paraphrase`]), number words as digits, the other words as the search query's
/// analysis ([`crate::text::query_word_tokens`]) minus the chat filler. Each token once.
fn question_tokens(text: &str) -> Vec<String> {
    let lang = crate::text::query_language(text);
    let words: Vec<String> = crate::text::lower_words(text, &[]).collect();
    let mut tokens: Vec<String> = Vec::with_capacity(words.len() * 2);
    let mut i = 0;
    // The "back" of a separated "send ... back", already read as `#return`.
    let mut used_back: Option<usize> = None;
    while let Some(w) = words.get(i) {
        if let Some((concepts, n)) = paraphrase::phrase_at(&words, i) {
            tokens.extend(concepts.split(' ').map(String::from));
            i += n;
            continue;
        }
        if let Some(j) = paraphrase::separated_back(&words, i) {
            tokens.push("#return".into());
            used_back = Some(j);
            i += 1;
            continue;
        }
        i += 1;
        if used_back == Some(i - 1) || crate::text::is_chat_word(w) || paraphrase::is_filler(w) {
            continue;
        }
        if let Some(concepts) = paraphrase::word_concepts(w, lang) {
            tokens.extend(concepts.split(' ').map(String::from));
        } else if let Some(d) = paraphrase::number(w) {
            tokens.push(d.to_string());
        } else {
            crate::text::query_word_tokens(w, lang, &mut tokens);
        }
    }
    let mut seen = std::collections::HashSet::new();
    tokens.retain(|t| seen.insert(t.clone()));
    tokens
}

/// A question's features `(feature id, stem id, weight factor)`: each analysed term (its own
/// stem, factor 1) and, for a word stem of [`PREFIX_CHARS`] characters or more, its prefix
/// feature (concepts have none).
fn question_features(text: &str) -> Vec<(u32, u32, f32)> {
    let tokens = question_tokens(text);
    let mut out: Vec<(u32, u32, f32)> = Vec::with_capacity(tokens.len() * 2);
    for t in &tokens {
        let id = bm25::term_id(t);
        out.push((id, id, 1.0));
        if !t.starts_with('#') && t.chars().count() >= PREFIX_CHARS {
            let prefix: String = std::iter::once('~').chain(t.chars().take(PREFIX_CHARS)).collect();
            out.push((bm25::term_id(&prefix), id, PREFIX_WEIGHT));
        }
    }
    out
}

fn lexical_vector(text: &str, stats: Option<&CorpusStats>) -> QuestionVec {
    // (feature id, weight): a term weighs its IDF, a prefix feature its stem's IDF times
    // PREFIX_WEIGHT; a feature two terms share keeps the larger weight.
    let mut v: Vec<(u32, f32)> = question_features(text)
        .into_iter()
        .map(|(id, stem, factor)| {
            let w = match stats {
                Some(s) => bm25::idf(s.doc_count(), u64::from(s.df(stem).max(1))),
                None => 1.0,
            };
            (id, w * factor)
        })
        .collect();
    v.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    v.dedup_by_key(|(id, _)| *id);
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|(_, w)| *w /= norm);
    } else {
        v.clear();
    }
    QuestionVec::Sparse(v)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|t| t.to_string()).collect()
    }

    /// (question, paraphrase, unrelated question of the same kind of shop)
    const TRIPLES: &[(&str, &str, &str)] = &[
        (
            "How long does shipping to Germany take?",
            "How many days does shipping to Germany take?",
            "Can I pay with PayPal?",
        ),
        (
            "Can I return a product after 30 days?",
            "Is it possible to return products after 30 days?",
            "Do you ship to Germany?",
        ),
        (
            "What are your opening hours on Sunday?",
            "When are you open on Sundays?",
            "How do I reset my password?",
        ),
        ("Do you offer gift cards?", "Can I buy a gift card from you?", "Where is my order?"),
        (
            "Hoe lang duurt de verzending naar België?",
            "Hoeveel dagen duurt verzending naar België?",
            "Kan ik betalen met iDEAL?",
        ),
    ];

    async fn check(space: &QuestionSpace) {
        for (q, p, u) in TRIPLES {
            let v = space.vectors(&s(&[q, p, u])).await.unwrap();
            let para = similarity(&v[0], &v[1]);
            let other = similarity(&v[0], &v[2]);
            assert!(para > other, "{q:?}: paraphrase {para} <= unrelated {other}");
            assert!(para > 0.3, "{q:?}: paraphrase only {para}");
            assert!((similarity(&v[0], &v[0]) - 1.0).abs() < 1e-4, "self-similarity of {q:?}");
        }
    }

    #[tokio::test]
    async fn lexical_paraphrases_score_above_unrelated_questions() {
        check(&QuestionSpace::lexical(None)).await;
        let all: Vec<String> = TRIPLES.iter().flat_map(|(q, p, u)| [*q, *p, *u]).map(String::from).collect();
        let space = QuestionSpace::lexical(Some(Arc::new(question_stats(&all))));
        assert!(!space.is_dense());
        assert_eq!(space.model(), None);
        check(&space).await;
    }

    #[tokio::test]
    async fn idf_weights_make_shared_words_count_less() {
        // "order" is in every question: with the questions' own statistics, the rare words decide.
        let qs = s(&["cancel my order", "track my order", "order status", "change my order", "order a gift"]);
        let stats = Arc::new(question_stats(&qs));
        let plain = QuestionSpace::lexical(None).vectors(&s(&["cancel order", "track order"])).await.unwrap();
        let weighted =
            QuestionSpace::lexical(Some(stats)).vectors(&s(&["cancel order", "track order"])).await.unwrap();
        assert!(similarity(&weighted[0], &weighted[1]) < similarity(&plain[0], &plain[1]));
    }

    #[tokio::test]
    async fn empty_filler_and_hostile_text_never_match() {
        let space = QuestionSpace::lexical(None);
        let v = space
            .vectors(&s(&["", "   ", "please tell me", "?!?", "\u{0}\u{202e}\u{fffd}", "the and of"]))
            .await
            .unwrap();
        for a in &v {
            assert!(a.is_empty(), "{a:?}");
            for b in &v {
                assert_eq!(similarity(a, b), 0.0);
            }
        }
        let big = "ünïcödé 漢字テキスト ".repeat(5_000);
        let w = space.vectors(&[big.clone(), big]).await.unwrap();
        assert!((similarity(&w[0], &w[1]) - 1.0).abs() < 1e-4);
    }

    #[tokio::test]
    async fn prefixes_and_synonyms_bring_variants_together() {
        let space = QuestionSpace::lexical(None);
        let v = space
            .vectors(&s(&[
                "Is the apartment furnished?",
                "Does the apartment come with furniture?",
                "Does the apartment come with a garden?",
            ]))
            .await
            .unwrap();
        assert!(similarity(&v[0], &v[1]) > similarity(&v[0], &v[2]));
        let v = space.vectors(&s(&["furnished", "furniture"])).await.unwrap();
        assert!(similarity(&v[0], &v[1]) > 0.1);
        let v = space.vectors(&s(&["delivery costs", "shipping prices"])).await.unwrap();
        assert!((similarity(&v[0], &v[1]) - 1.0).abs() < 1e-4, "{}", similarity(&v[0], &v[1]));
        // The paraphrase lexicon: phrases, a separated "back", question filler, German.
        let v = space
            .vectors(&s(&[
                "How do I return an item?",
                "What is the procedure for sending a product back?",
                "How do I wrap an item?",
                "Wie lange dauert der Versand?",
                "Wann kommt die Lieferung?",
            ]))
            .await
            .unwrap();
        assert!((similarity(&v[0], &v[1]) - 1.0).abs() < 1e-4, "{}", similarity(&v[0], &v[1]));
        assert!(similarity(&v[0], &v[2]) < 0.6);
        assert!(similarity(&v[3], &v[4]) > 0.6, "{}", similarity(&v[3], &v[4]));
        // "contact" and "contract" stay apart.
        let v = space.vectors(&s(&["contact", "contract"])).await.unwrap();
        assert_eq!(similarity(&v[0], &v[1]), 0.0);
    }

    #[test]
    fn mixed_kinds_and_lengths_compare_as_zero() {
        let d = QuestionVec::Dense(vec![1.0, 0.0]);
        let sp = QuestionVec::Sparse(vec![(1, 1.0)]);
        assert_eq!(similarity(&d, &sp), 0.0);
        assert_eq!(similarity(&d, &QuestionVec::Dense(vec![1.0, 0.0, 0.0])), 0.0);
        assert_eq!(similarity(&d, &QuestionVec::Dense(vec![-1.0, 0.0])), 0.0, "never negative");
        assert!((similarity(&d, &d) - 1.0).abs() < 1e-6);
        assert_eq!(similarity(&sp, &QuestionVec::Sparse(vec![(2, 1.0)])), 0.0);
    }

    #[tokio::test]
    async fn a_lexical_only_embedder_gives_the_lexical_space() {
        let e: Arc<dyn Embedder> = Arc::new(crate::rag::OfflineEmbedder::new());
        assert_eq!(e.dimension(), 0);
        assert!(!QuestionSpace::dense(e).is_dense());
    }

    /// The dense path with the real all-MiniLM-L6-v2 (`CHATBOT_TEST_MINILM_DIR`, as
    /// tests/local_embedder.rs; skipped without it).
    #[cfg(feature = "local-embed")]
    #[tokio::test]
    async fn dense_paraphrases_score_above_unrelated_questions_with_minilm() {
        let dir = match std::env::var("CHATBOT_TEST_MINILM_DIR") {
            Ok(d) if !d.trim().is_empty() => std::path::PathBuf::from(d),
            _ => {
                println!("skipped: CHATBOT_TEST_MINILM_DIR not set");
                return;
            }
        };
        let e = tokio::task::spawn_blocking(move || crate::rag::LocalEmbedder::load(&dir))
            .await
            .unwrap()
            .unwrap();
        let space = QuestionSpace::dense(Arc::new(e));
        assert!(space.is_dense());
        assert!(space.model().is_some());
        // MiniLM is an English model: the English triples.
        for (q, p, u) in &TRIPLES[..4] {
            let v = space.vectors(&s(&[q, p, u])).await.unwrap();
            let para = similarity(&v[0], &v[1]);
            let other = similarity(&v[0], &v[2]);
            assert!(para > other, "{q:?}: paraphrase {para} <= unrelated {other}");
            assert!(para > 0.6, "{q:?}: paraphrase only {para}");
        }
    }
}
