//! The offline extractive answerer: it answers only with sentences taken from the retrieved
//! passages, so it can never invent anything: its answers are grounded by construction (the
//! engine reports every claim sentence of one as supported, `ChatReply::grounding`). It is the default model without an API key and the
//! fallback when the remote model fails.
//!
//! How it picks: every passage is split into sentences; each sentence is scored by how much of
//! the question's content words (lower-cased, stemmed with `crate::text`, a few customer-service
//! synonyms) it covers, weighted by how rare the word is among the candidate sentences and by the
//! passage's retrieval score. The best one to three sentences (at most ~600 characters) are
//! returned in document order with their source. Below a relevance threshold it says it does not
//! know and invites the visitor to leave contact details.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;

use sentences::{analyse, normalized, truncate_words};
use terms::{concept, concepts_of, question_terms, terms};

use super::{ChatModel, ChatRequest, Completion, Passage, StreamEvent};
use crate::cache::GenCache;
use crate::error::Result;

mod sentences;
mod terms;

pub(crate) use sentences::split_sentences;

/// The model name reported for extractive answers.
pub const MODEL_NAME: &str = "offline-extractive";

/// Default cap on the answer length (characters, without the source line).
const DEFAULT_MAX_CHARS: usize = 600;
/// At most this many sentences.
const DEFAULT_MAX_SENTENCES: usize = 3;
/// Share of the question's (weighted) content words a sentence must cover to count as an answer.
const DEFAULT_MIN_COVERAGE: f32 = 0.3;
/// Additional sentences must score at least this share of the best one.
const COMPANION_RATIO: f32 = 0.6;
/// Words per streamed delta.
const WORDS_PER_DELTA: usize = 4;
/// A synonym counts this much of an exact word match.
const SYNONYM_MATCH: f32 = 0.6;

/// Answers from the retrieved passages only; never invents.
#[derive(Debug, Clone)]
pub struct ExtractiveAnswerer {
    max_chars: usize,
    max_sentences: usize,
    min_coverage: f32,
    /// Passage text -> its analysed sentences (shared by clones).
    analysed: Arc<GenCache<String, Analysed>>,
}

impl Default for ExtractiveAnswerer {
    fn default() -> Self {
        Self::new()
    }
}

/// One analysed sentence of a passage (depends on the passage text only, so it is cached).
#[derive(Debug)]
struct Sentence {
    position: usize,
    text: String,
    terms: HashSet<String>,
    concepts: HashSet<&'static str>,
    fragment: bool,
}

/// One candidate sentence of the passage at index `passage`.
#[derive(Debug, Clone)]
struct Candidate {
    passage: usize,
    sentence: Arc<Sentence>,
}

impl std::ops::Deref for Candidate {
    type Target = Sentence;
    fn deref(&self) -> &Sentence {
        &self.sentence
    }
}

/// Passages whose sentences are kept analysed (the same chunks answer many questions).
const ANALYSED_PASSAGES: usize = 1024;
/// Age limit of an analysed passage (the analysis is a pure function of the text; this only
/// bounds how long a passage nobody asks about stays in memory).
const ANALYSED_AGE: Duration = Duration::from_secs(600);

/// Sentences of a passage text, split and analysed.
type Analysed = Arc<Vec<Arc<Sentence>>>;

impl Sentence {
    /// How well the sentence matches one question term: 1 for the same stem, 0.6 for a synonym.
    fn matches(&self, term: &str) -> f32 {
        if self.terms.contains(term) {
            1.0
        } else if concept(term).is_some_and(|c| self.concepts.contains(c)) {
            SYNONYM_MATCH
        } else {
            0.0
        }
    }
}

impl ExtractiveAnswerer {
    pub fn new() -> Self {
        Self {
            max_chars: DEFAULT_MAX_CHARS,
            max_sentences: DEFAULT_MAX_SENTENCES,
            min_coverage: DEFAULT_MIN_COVERAGE,
            analysed: Arc::new(GenCache::new(ANALYSED_PASSAGES, ANALYSED_AGE)),
        }
    }

    /// Cap on the answer length in characters (source citation not counted); at least 80.
    pub fn with_max_chars(mut self, max_chars: usize) -> Self {
        self.max_chars = max_chars.max(80);
        self
    }

    /// Most sentences in one answer (1 or more).
    pub fn with_max_sentences(mut self, n: usize) -> Self {
        self.max_sentences = n.max(1);
        self
    }

    /// Relevance threshold in `0.0..=1.0`: the share of the question's weighted content words the
    /// best sentence must contain.
    pub fn with_min_coverage(mut self, min_coverage: f32) -> Self {
        self.min_coverage = min_coverage.clamp(0.0, 1.0);
        self
    }

    /// The answer text for a request (synchronous, CPU only).
    pub fn answer(&self, req: &ChatRequest) -> String {
        match self.select(&req.question, &req.passages) {
            Some(answer) => answer,
            None => no_information_in(crate::text::detect(&req.question), &req.company_name),
        }
    }

    /// The answer for a request and whether it was extracted from the passages (`false`: the
    /// "no information" text). An extracted answer is grounded by construction: every sentence
    /// is copied from a passage.
    pub(crate) fn answer_found(&self, req: &ChatRequest) -> (String, bool) {
        match self.select(&req.question, &req.passages) {
            Some(answer) => (answer, true),
            None => (no_information_in(crate::text::detect(&req.question), &req.company_name), false),
        }
    }

    /// The extracted answer with its citation, or `None` when no passage is relevant enough.
    fn select(&self, question: &str, passages: &[Passage]) -> Option<String> {
        let q_terms = question_terms(question);
        if q_terms.is_empty() || passages.is_empty() {
            return None;
        }
        let candidates = self.candidates(passages);
        if candidates.is_empty() {
            return None;
        }

        // Rarer words say more about which sentence answers (idf over the candidate sentences).
        let n = candidates.len() as f32;
        let weight: HashMap<&str, f32> = q_terms
            .iter()
            .map(|t| {
                // A word no sentence has counts like a word one sentence has, so that one unknown
                // word does not sink an otherwise well-covered question.
                let df = candidates.iter().filter(|c| c.matches(t) > 0.0).count().max(1) as f32;
                (t.as_str(), (1.0 + (n + 1.0) / (df + 1.0)).ln())
            })
            .collect();
        let total: f32 = weight.values().sum();
        if total <= 0.0 {
            return None;
        }
        let max_score = passages.iter().map(|p| p.score).fold(f32::MIN, f32::max);
        let rel = |p: &Passage| -> f32 {
            if max_score > 0.0 && p.score.is_finite() { (p.score / max_score).clamp(0.0, 1.0) } else { 1.0 }
        };
        let title_cover: Vec<f32> = passages
            .iter()
            .map(|p| {
                // The page title and the section path name what the passage is about.
                let mut t = p.title.as_deref().map(terms).unwrap_or_default();
                t.extend(p.section.as_deref().map(terms).unwrap_or_default());
                let c = Sentence {
                    position: 0,
                    text: String::new(),
                    concepts: concepts_of(&t),
                    terms: t,
                    fragment: true,
                };
                weight.iter().map(|(k, w)| w * c.matches(k)).sum::<f32>() / total
            })
            .collect();

        // (candidate index, coverage, score)
        let mut scored: Vec<(usize, f32, f32)> = candidates
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let covered: f32 = weight.iter().map(|(k, w)| w * c.matches(k)).sum();
                if covered <= 0.0 {
                    return None;
                }
                let coverage = covered / total;
                let p = &passages[c.passage];
                let mut score = coverage * (0.4 + 0.6 * rel(p)) + 0.15 * title_cover[c.passage];
                if c.fragment {
                    score *= 0.5;
                }
                // Very long sentences are often run-on lists or navigation text.
                if c.text.chars().count() > self.max_chars {
                    score *= 0.7;
                }
                Some((i, coverage, score))
            })
            .collect();
        scored.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        tracing::trace!(?scored, "extractive scores");
        let &(best_i, best_cov, best_score) = scored.first()?;
        if best_cov < self.min_coverage {
            return None;
        }

        let mut chosen = vec![best_i];
        let mut seen: HashSet<String> = HashSet::from([normalized(&candidates[best_i].text)]);
        let mut used = candidates[best_i].text.chars().count();
        for &(i, coverage, score) in scored.iter().skip(1) {
            if chosen.len() >= self.max_sentences {
                break;
            }
            if score < best_score * COMPANION_RATIO || coverage < self.min_coverage * 0.5 {
                continue;
            }
            let len = candidates[i].text.chars().count();
            if used + 1 + len > self.max_chars || !seen.insert(normalized(&candidates[i].text)) {
                continue;
            }
            used += 1 + len;
            chosen.push(i);
        }
        // Document order: passages in retrieval order, sentences in text order.
        chosen.sort_by_key(|&i| (candidates[i].passage, candidates[i].position));

        let body = chosen.iter().map(|&i| candidates[i].text.as_str()).collect::<Vec<_>>().join(" ");
        let body = truncate_words(&body, self.max_chars);
        let mut sources: Vec<&str> = Vec::new();
        for &i in &chosen {
            let p = &passages[candidates[i].passage];
            let s = p.source.as_deref().filter(|s| !s.trim().is_empty()).or(p.title.as_deref());
            if let Some(s) = s.map(str::trim).filter(|s| !s.is_empty())
                && !sources.contains(&s)
            {
                sources.push(s);
            }
        }
        Some(match sources.as_slice() {
            [] => body,
            [one] => format!("{body} (Source: {one})"),
            many => format!("{body} (Sources: {})", many.join("; ")),
        })
    }
}

/// The polite "I don't know" with an invitation to leave contact details (in English).
pub fn no_information(company_name: &str) -> String {
    no_information_in(None, company_name)
}

/// [`no_information`] in the visitor's language (English when unknown or not translated).
/// Whether `answer` starts with what [`ExtractiveAnswerer::answer`] says for `question` when the
/// passages hold nothing on it (the turn record's "no answer").
pub(crate) fn says_no_information(answer: &str, question: &str, company_name: &str) -> bool {
    answer.starts_with(&no_information_in(crate::text::detect(question), company_name))
}

fn no_information_in(lang: Option<crate::text::Lang>, company_name: &str) -> String {
    use crate::text::{FixedText, fixed_text};
    let who = company_name.trim();
    let team;
    let who = if who.is_empty() {
        team = fixed_text(lang, FixedText::OurTeam, "", "");
        team.as_str()
    } else {
        who
    };
    fixed_text(lang, FixedText::NoInformation, who, "")
}

impl ExtractiveAnswerer {
    /// Every sentence of every passage with content words, analysed once per passage text.
    fn candidates(&self, passages: &[Passage]) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (pi, p) in passages.iter().enumerate() {
            let sentences = match self.analysed.get(p.text.as_str()) {
                Some(a) => a,
                None => {
                    let a: Analysed = Arc::new(analyse(&p.text));
                    self.analysed.insert(p.text.clone(), a.clone());
                    a
                }
            };
            out.extend(sentences.iter().map(|s| Candidate { passage: pi, sentence: s.clone() }));
        }
        out
    }
}

/// Split a text into deltas of a few words; concatenated they give the text back exactly.
pub(crate) fn word_groups(text: &str, words_per_group: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut words = 0usize;
    let mut in_word = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if in_word {
                words += 1;
                in_word = false;
            }
        } else {
            if !in_word && words >= words_per_group {
                out.push(std::mem::take(&mut cur));
                words = 0;
            }
            in_word = true;
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[async_trait]
impl ChatModel for ExtractiveAnswerer {
    fn provider(&self) -> &'static str {
        "offline"
    }

    fn capabilities(&self) -> super::ModelCapabilities {
        super::ModelCapabilities::extractive()
    }

    async fn complete(&self, req: &ChatRequest) -> Result<Completion> {
        Ok(Completion { text: self.answer(req), model: MODEL_NAME.into(), usage: None })
    }

    async fn stream(&self, req: &ChatRequest) -> Result<BoxStream<'static, Result<StreamEvent>>> {
        let text = self.answer(req);
        let mut events: Vec<Result<StreamEvent>> =
            word_groups(&text, WORDS_PER_DELTA).into_iter().map(|d| Ok(StreamEvent::Delta(d))).collect();
        events.push(Ok(StreamEvent::Done { model: MODEL_NAME.into(), usage: None }));
        Ok(Box::pin(futures::stream::iter(events)))
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt as _;

    use super::sentences::split_sentences;
    use super::*;
    use crate::demo::DEMO_PAGES;

    fn demo_passages(scores: &[f32]) -> Vec<Passage> {
        DEMO_PAGES
            .iter()
            .zip(scores.iter().copied().chain(std::iter::repeat(0.2)))
            .map(|((src, title, text), score)| Passage {
                text: (*text).to_string(),
                source: Some((*src).to_string()),
                title: Some((*title).to_string()),
                score,
                section: None,
            })
            .collect()
    }

    fn req(question: &str, passages: Vec<Passage>) -> ChatRequest {
        ChatRequest {
            messages: Vec::new(),
            passages,
            question: question.into(),
            company_name: "Demo Shop".into(),
            model: None,
            temperature: 0.2,
            max_tokens: 300,
        }
    }

    /// Every sentence of an answer (without its citation) occurs verbatim in some passage.
    fn assert_extracted(answer: &str, passages: &[Passage]) {
        let body = answer.rsplit_once(" (Source").map_or(answer, |(b, _)| b);
        for s in split_sentences(body) {
            let s = s.trim_end_matches('…');
            assert!(passages.iter().any(|p| p.text.contains(s)), "invented sentence: {s:?} in {answer:?}");
        }
    }

    #[test]
    fn answers_opening_hours_from_the_right_passage_with_its_source() {
        let passages = demo_passages(&[0.82, 0.31, 0.2, 0.2, 0.2, 0.4]);
        let a = ExtractiveAnswerer::new()
            .answer(&req("What are your opening hours on Saturday?", passages.clone()));
        assert!(a.contains("Saturday from 10:00 to 17:00"), "{a}");
        assert!(a.ends_with("(Source: https://demo-shop.example/opening-hours)"), "{a}");
        assert!(!a.contains("I'm sorry"), "{a}");
        assert_extracted(&a, &passages);
    }

    #[test]
    fn picks_the_shipping_sentences_and_keeps_document_order() {
        let passages = demo_passages(&[0.2, 0.9, 0.3, 0.2, 0.25, 0.2]);
        let a = ExtractiveAnswerer::new()
            .answer(&req("Do you ship outside the European Union?", passages.clone()));
        assert!(a.contains("We do not ship outside the European Union."), "{a}");
        assert!(a.contains("(Source: https://demo-shop.example/shipping)"), "{a}");
        // If the first shipping sentence is included too, it comes first (document order).
        if let (Some(i), Some(j)) = (a.find("We ship to the Netherlands"), a.find("We do not ship outside")) {
            assert!(i < j, "{a}");
        }
        assert_extracted(&a, &passages);
        let body = a.rsplit_once(" (Source").map_or(a.as_str(), |(b, _)| b);
        assert!(body.chars().count() <= 600, "{}", body.len());
        assert!((1..=3).contains(&split_sentences(body).len()), "{a}");
    }

    #[test]
    fn synonyms_and_word_forms_find_the_answer() {
        let passages = demo_passages(&[0.3, 0.3, 0.7, 0.3, 0.3, 0.3]);
        let a = ExtractiveAnswerer::new().answer(&req("When do I get my money refunded?", passages.clone()));
        assert!(a.contains("We refund the purchase price within 14 days"), "{a}");
        assert!(a.contains("https://demo-shop.example/returns"), "{a}");
        assert_extracted(&a, &passages);

        let a = ExtractiveAnswerer::new().answer(&req("How much is the teapot?", passages.clone()));
        assert!(a.contains("Teapots hold 1 litre and cost 59 euros."), "{a}");
        assert_extracted(&a, &passages);
    }

    #[test]
    fn analysed_passages_are_reused_and_answer_as_fresh_ones() {
        let passages = demo_passages(&[0.3, 0.9, 0.3, 0.2, 0.25, 0.2]);
        let warm = ExtractiveAnswerer::new();
        let questions =
            ["Do you ship outside the European Union?", "How much is the teapot?", "Opening hours?"];
        for q in questions {
            let _ = warm.answer(&req(q, passages.clone()));
        }
        assert_eq!(warm.analysed.len(), passages.len(), "one analysis per passage text");
        for q in questions {
            let fresh = ExtractiveAnswerer::new().answer(&req(q, passages.clone()));
            assert_eq!(warm.answer(&req(q, passages.clone())), fresh, "{q}");
        }
        // A clone shares the analyses.
        let twin = warm.clone();
        let _ = twin.answer(&req("Can I return a mug?", passages.clone()));
        assert_eq!(warm.analysed.len(), passages.len());
    }

    #[test]
    fn cites_every_source_it_uses() {
        let passages = demo_passages(&[0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
        let a = ExtractiveAnswerer::new()
            .answer(&req("What is the e-mail address of support?", passages.clone()));
        assert!(a.contains("support@demo-shop.example"), "{a}");
        assert!(a.contains("Source"), "{a}");
        assert_extracted(&a, &passages);
    }

    #[test]
    fn no_passages_or_no_overlap_gives_the_polite_contact_invitation() {
        let x = ExtractiveAnswerer::new();
        let a = x.answer(&req("Do you have parking spaces for bicycles?", demo_passages(&[0.1; 6])));
        assert!(a.starts_with("I'm sorry, I don't have information about that."), "{a}");
        assert!(a.contains("name") && a.contains("e-mail") && a.contains("phone"), "{a}");
        assert!(a.contains("someone from Demo Shop"), "{a}");
        let a = x.answer(&req("What are your opening hours?", Vec::new()));
        assert!(a.starts_with("I'm sorry"), "{a}");
        let a = x.answer(&req("?!", demo_passages(&[0.9; 6])));
        assert!(a.starts_with("I'm sorry"), "{a}");
        let mut r = req("Anything?", Vec::new());
        r.company_name = "  ".into();
        assert!(x.answer(&r).contains("someone from our team"));
    }

    #[test]
    fn a_weak_single_word_match_in_a_long_question_is_not_enough() {
        let a = ExtractiveAnswerer::new().answer(&req(
            "Can your accountant help me with the tax declaration of my bakery business in Spain?",
            demo_passages(&[0.3; 6]),
        ));
        assert!(a.starts_with("I'm sorry"), "{a}");
    }

    #[test]
    fn respects_the_length_cap_and_truncates_a_long_sentence_at_a_word() {
        let long =
            format!("Our warranty covers {} for two years.", "every ceramic mug and teapot ".repeat(40));
        let p = vec![Passage {
            text: long,
            source: None,
            title: Some("Warranty".into()),
            score: 0.9,
            section: None,
        }];
        let a = ExtractiveAnswerer::new().answer(&req("What does the warranty cover?", p));
        let body = a.rsplit_once(" (Source").map_or(a.as_str(), |(b, _)| b);
        assert!(body.chars().count() <= 600, "{}", body.chars().count());
        assert!(body.ends_with('…'), "{body}");
        assert!(a.ends_with("(Source: Warranty)"), "{a}");
    }

    #[test]
    fn duplicate_sentences_from_overlapping_chunks_appear_once() {
        let t = "Gift wrapping is available for 3 euros per order. All ceramics are dishwasher safe.";
        let p = |s: f32| Passage {
            text: t.into(),
            source: Some("https://x.example/a".into()),
            title: None,
            score: s,
            section: None,
        };
        let a = ExtractiveAnswerer::new().answer(&req("Is gift wrapping available?", vec![p(0.9), p(0.8)]));
        assert_eq!(a.matches("Gift wrapping is available").count(), 1, "{a}");
        assert_eq!(a.matches("Source").count(), 1, "{a}");
    }

    #[test]
    fn word_groups_reassemble_exactly() {
        let t = "We ship  to the Netherlands,\nBelgium and Germany. (Source: https://x.example)";
        let g = word_groups(t, 4);
        assert!(g.len() > 1);
        assert_eq!(g.concat(), t);
        assert!(word_groups("", 4).is_empty());
    }

    #[tokio::test]
    async fn stream_yields_word_group_deltas_then_done_and_matches_complete() {
        let x = ExtractiveAnswerer::new();
        let r = req("Which payment methods do you accept?", demo_passages(&[0.3, 0.3, 0.3, 0.3, 0.9, 0.3]));
        let full = x.complete(&r).await.unwrap();
        assert!(full.text.contains("iDEAL"), "{}", full.text);
        let events: Vec<StreamEvent> = x.stream(&r).await.unwrap().map(|e| e.unwrap()).collect().await;
        assert!(events.len() > 2);
        let mut text = String::new();
        for e in &events[..events.len() - 1] {
            match e {
                StreamEvent::Delta(d) => text.push_str(d),
                StreamEvent::Done { .. } => panic!("Done before the end"),
            }
        }
        assert_eq!(text, full.text);
        assert_eq!(events.last(), Some(&StreamEvent::Done { model: MODEL_NAME.into(), usage: None }));
    }
}
