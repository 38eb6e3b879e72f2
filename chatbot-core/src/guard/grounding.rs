//! Grounding: whether the passages a model was given support what its answer says, sentence by
//! sentence. Pure and synchronous; the dense side takes vectors the caller computed (with the
//! company's [`Embedder`](crate::rag::Embedder)) for [`GroundingCheck::dense_texts`].
//!
//! # The rules
//! The answer is split into sentences with the extractive answerer's splitter. Each sentence is
//! one of:
//!
//! - **no claim** (neither supported nor unsupported, kept as it is): a sentence without *hard
//!   facts* (below) that is a question ("Would you like the tracking link?"), a list marker
//!   ("1."), a short greeting ("Hi Jane!"), opens with a courtesy phrase ("Let me know if ...",
//!   "Feel free to ask ...", "Hope this helps", "If you have any other questions ...", in English,
//!   German, Dutch, French and Spanish), or has no content word left once stopwords, chat filler
//!   and courtesy words ("thanks", "welcome", "glad", "help" ...) are dropped ("Sure!", "You're
//!   welcome."). A sentence with a hard fact is always a claim. The lead follow-ups the engine
//!   appends (contact and profile questions, thanks) are added after the check and never seen
//!   by it.
//! - **unsupported** when one of its hard facts is in no passage: numbers (digits or number
//!   words, "1,000" = "1000", "two" = "2"), prices and amounts ("€25" = "25 EUR" = "25 euros";
//!   a different currency is a different amount), times ("3 pm" = "15:00"), e-mail addresses,
//!   URLs and domains, phone numbers (digits compared, a country prefix ignored); or when it names
//!   something the passages never mention: a code identifier (`json.dumps()`, `sys.argv`) or,
//!   outside German (which capitalises every noun), a capitalised word inside the sentence
//!   (a product, a place, a carrier); an acronym of a passage's capitalised words counts as
//!   mentioned ("EU" for "European Union"); or when it makes an absolute claim ("always",
//!   "never", "automatically", "guaranteed", and their German, Dutch, French and Spanish
//!   counterparts) in words no passage uses. The visitor's message and the company name are
//!   context: a fact or name found there counts as found.
//! - **unsupported** ([`Reason::Conflict`]) when it says what a passage says with a difference
//!   that changes the meaning, read clause by clause (sentences cut at `;`, brackets, dashes, a
//!   comma or colon before a space unless what follows is a short list item, and before a
//!   conjunction: "and", "but", "when", "und", "maar" ...):
//!   - a value (number, amount, time) or quoted literal given to the wrong thing: a claim clause
//!     with values has a term (for numbers, a name: a word written with a capital inside a
//!     sentence) that every passage clause holding it pairs with other values only ("open on
//!     Saturday from 9:00" where Saturday is 10:00 to 17:00; "the default is 'rt'" where it is
//!     'rb'); or a range ("from 7:00 to 12:00") whose two ends are in no one passage sentence;
//!   - a negation flipped: a plain positive clause whose term the passage clauses sharing most
//!     (rarer words weighing more) put right after a negator ("you can instantiate X" against
//!     "you cannot instantiate X"); a negated term ("teapots are not microwave safe") that those
//!     clauses state in sentences without any negation, when no passage sentence with a negation
//!     holds another term of the clause; or, in a claim without any negation, a clause whose terms
//!     (two or more) are all in a passage clause with a negator and together in no other. Negators:
//!     not, no, never, "n't", nicht, kein, niet, geen, ne ... pas, jamais, nunca and kin; "un-"
//!     words and implicit negatives ("without", "excluded", "only", "free", "ohne", "zonder" ...)
//!     make a clause negative without negating a word;
//!   - an opposite prefix where a passage has the same neighbouring word ("during pickling"
//!     against "during unpickling"; "un-" and "non-");
//!   - a modifier swapped (only in a claim without hard facts): a word the passages never use right
//!     before one of their nouns, standing alone between non-content words, where a passage
//!     sentence holding three quarters of the claim's other terms has a word of its own there
//!     ("sale items" against "personalised items"; "one-based" against "zero-based").
//! - otherwise **supported** when the sentence's content terms (stopwords dropped, stemmed in the
//!   answer's language with `crate::text`'s analysis; a word counts for its everyday synonym, as
//!   "shut" for "closed", from a small table in English, German and Dutch) are covered well
//!   enough by a window of three consecutive passage sentences ([`LEXICAL_MIN`]); with a dense
//!   embedder, by the mix of that coverage and the best cosine similarity of the sentence to a
//!   passage sentence ([`MIXED_MIN`]); the bar is [`ANCHOR_BONUS`] lower for a sentence carrying a specific fact
//!   (price, time, e-mail, URL, phone) found in a passage. Else **unsupported**.
//!
//! An answer in another language than every passage (both detected) cannot share terms with
//! them: its sentences are then judged on hard facts and names, and on the dense similarity when
//! there is an embedder (lexical coverage is not used).
//!
//! Measured on `chatbot-core/tests/data/grounding.jsonl` and `grounding_added.jsonl`
//! (`tests/grounding_eval.rs`: precision and recall of "unsupported" on the held-out half, the
//! rules and thresholds chosen on the tuning half).

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::llm::extractive::split_sentences;
use crate::text::{Lang, analyse, detect, is_chat_word};

use claims::{is_marker, no_claim, strip_list_number};
use contrast::{Clause, Stems, Word, clause_of, clause_ranges, value_ranges, words_of};
use facts::{Fact, FactBag, Name, absolutes_of, fact_text, facts_of, names_of, prefix};

mod claims;
mod contrast;
mod facts;
mod synonyms;
#[cfg(test)]
mod tests;

/// Lexical coverage a claim needs without a dense embedder (share of its content terms found in
/// the best window of passage sentences). Tuned on the "tune" half of the labelled set.
pub const LEXICAL_MIN: f32 = 0.65;
/// With a dense embedder: `DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * coverage` a claim needs.
pub const MIXED_MIN: f32 = 0.63;
/// How much lower the bar is for a sentence anchored by a specific fact found in a passage.
pub const ANCHOR_BONUS: f32 = 0.2;
/// The dense similarity's weight in the mix.
pub const DENSE_WEIGHT: f32 = 0.2;
/// Sentences of an answer checked at most (the rest are judged like the last ones: unchecked
/// text is never reported as supported).
const MAX_CLAIMS: usize = 48;
/// Passage sentences offered to the dense side at most.
const MAX_DENSE_EVIDENCE: usize = 96;
/// Characters of an answer or of the evidence read at most (a model answer is far shorter).
const MAX_CHARS: usize = 64_000;

/// What the check said about one sentence.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The passages support it.
    Supported,
    /// They do not; why.
    Unsupported(Reason),
    /// It says nothing to check (a greeting, a question back, a courtesy line).
    NoClaim,
}

/// Why a sentence is unsupported.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// A hard fact (number, price, time, e-mail, URL, phone) found in no passage, as written.
    MissingFact(String),
    /// A name or code identifier the passages never mention, as written.
    UnknownName(String),
    /// An absolute word ("always", "never", "automatically", "guaranteed") no passage uses.
    Absolute(String),
    /// It says what a passage says with a difference that changes the meaning, as described: a
    /// value or literal the passages give to something else, a range whose ends are in different
    /// passage sentences, a negation flipped, or a modifier swapped for another.
    Conflict(String),
    /// Too little of its content is in the passages.
    LowSupport,
}

/// One sentence of the answer and its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceCheck {
    /// Byte range of the sentence in the answer.
    pub range: Range<usize>,
    pub verdict: Verdict,
    /// Lexical coverage (0..=1) of its content terms by the best passage window.
    pub lexical: f32,
    /// Best cosine similarity to a passage sentence, when dense vectors were given.
    pub dense: Option<f32>,
}

impl SentenceCheck {
    /// Whether the sentence carries a claim the passages do not support.
    pub fn is_unsupported(&self) -> bool {
        matches!(self.verdict, Verdict::Unsupported(_))
    }
}

/// The check of one answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroundingReport {
    /// Every sentence of the answer in order (claims and non-claims).
    pub sentences: Vec<SentenceCheck>,
    pub supported: u32,
    pub unsupported: u32,
}

impl GroundingReport {
    /// The counts as replies carry them.
    pub fn counts(&self) -> crate::chatbot::Grounding {
        crate::chatbot::Grounding { supported: self.supported, unsupported: self.unsupported }
    }
}

/// A hard fact, normalised.
/// One claim sentence, analysed.
#[derive(Debug)]
struct Claim {
    /// Index into the answer's sentences.
    index: usize,
    text: String,
    facts: Vec<Fact>,
    names: Vec<Name>,
    /// Absolute words ("always", "never" ...), lower-cased.
    absolutes: Vec<String>,
    /// It has a specific hard fact (a price, time, e-mail, URL or phone number), found.
    anchored: bool,
    terms: HashSet<String>,
    clauses: Vec<Clause>,
    /// Pairs of values written as a range ("from 9:00 to 17:00").
    value_ranges: Vec<(HashSet<String>, HashSet<String>)>,
}

/// One evidence sentence: its passage and its terms.
#[derive(Debug)]
struct EvidenceSentence {
    passage: usize,
    text: String,
    terms: HashSet<String>,
    /// The synonym groups of its terms.
    concepts: HashSet<u16>,
    clauses: Vec<Clause>,
    /// Some clause of it is negative.
    negative: bool,
    words: Vec<Word>,
}

/// An answer and its passages, analysed: split, claims found, facts and terms read. Give it the
/// dense vectors of [`dense_texts`](Self::dense_texts) (or none) to get the [`GroundingReport`].
#[derive(Debug)]
pub struct GroundingCheck {
    /// Every sentence's byte range in the answer, and whether it is a claim.
    ranges: Vec<(Range<usize>, bool)>,
    claims: Vec<Claim>,
    evidence: Vec<EvidenceSentence>,
    bag: FactBag,
    /// Every evidence word, lower-cased and stemmed.
    evidence_words: HashSet<String>,
    /// Stems the evidence writes with a capital inside a sentence.
    capitalised: HashSet<String>,
    /// The answer's language (its stems are the claims').
    lang: Lang,
    /// The answer's language differs from every passage's: lexical coverage is not used.
    cross_language: bool,
}

impl GroundingCheck {
    /// Analyse `answer` against `passages` (each passage's text; a title or source may be given
    /// as a passage of its own). `context` (the visitor's message, the company's name) counts
    /// for facts and names, not for support.
    pub fn new<P: AsRef<str>, C: AsRef<str>>(answer: &str, passages: &[P], context: &[C]) -> Self {
        let answer = prefix(answer, MAX_CHARS);
        let passage_langs: Vec<Option<Lang>> = passages.iter().map(|p| detect(p.as_ref())).collect();
        let answer_lang = detect(answer);
        let lang =
            answer_lang.or_else(|| passage_langs.iter().flatten().next().copied()).unwrap_or(Lang::English);
        let cross_language = answer_lang.is_some()
            && !passage_langs.is_empty()
            && passage_langs.iter().all(|l| l.is_some_and(|l| Some(l) != answer_lang));

        let mut bag = FactBag::default();
        let mut evidence = Vec::new();
        let mut evidence_words = HashSet::new();
        let mut memo = Stems::default();
        let mut capitalised = HashSet::new();
        let mut budget = MAX_CHARS;
        for (pi, p) in passages.iter().enumerate() {
            let text = prefix(p.as_ref(), budget);
            budget = budget.saturating_sub(text.chars().count());
            bag.add(text);
            let plang = passage_langs.get(pi).copied().flatten().unwrap_or(lang);
            let langs: &[Lang] = if plang == lang { &[lang] } else { &[lang, plang] };
            for s in split_sentences(text) {
                let mut terms: HashSet<String> = analyse(&s, lang).into_iter().collect();
                if plang != lang {
                    terms.extend(analyse(&s, plang));
                }
                let clauses: Vec<Clause> = clause_ranges(&s)
                    .into_iter()
                    .filter_map(|r| s.get(r).map(|c| clause_of(c, langs, true, &mut memo)))
                    .collect();
                let negative = clauses.iter().any(|c| c.negative);
                let words = words_of(&s, langs, &mut memo);
                for w in &words {
                    evidence_words.insert(w.lower.clone());
                    evidence_words.extend(w.stem.clone());
                    if w.capital {
                        capitalised.extend(w.stem.clone());
                    }
                }
                let concepts = terms
                    .iter()
                    .flat_map(|t| synonyms::groups(lang, t).iter().chain(synonyms::groups(plang, t)))
                    .copied()
                    .collect();
                evidence.push(EvidenceSentence {
                    passage: pi,
                    text: s,
                    terms,
                    concepts,
                    clauses,
                    negative,
                    words,
                });
            }
        }
        for c in context {
            bag.add(prefix(c.as_ref(), MAX_CHARS / 4));
        }

        let mut ranges = Vec::new();
        let mut claims = Vec::new();
        let mut cursor = 0usize;
        for s in split_sentences(answer) {
            // Every sentence is a slice of the answer, found at or after the previous one.
            let Some(at) = answer.get(cursor..).and_then(|rest| rest.find(s.as_str())) else { continue };
            let range = cursor + at..cursor + at + s.len();
            cursor = range.end;
            let body = strip_list_number(&s);
            let (facts, blanked) = facts_of(body, false);
            let claim = !is_marker(&s) && (!facts.is_empty() || !no_claim(body, lang));
            let index = ranges.len();
            ranges.push((range, claim));
            if claim && claims.len() < MAX_CLAIMS {
                let terms: HashSet<String> = analyse(&blanked, lang)
                    .into_iter()
                    .filter(|t| t.chars().count() >= 2 && !is_chat_word(t))
                    .collect();
                let names = names_of(body, &blanked, lang);
                let absolutes = absolutes_of(body);
                let anchored = facts.iter().any(Fact::is_specific);
                let clauses = clause_ranges(body)
                    .into_iter()
                    .filter_map(|r| body.get(r).map(|c| clause_of(c, &[lang], false, &mut memo)))
                    .collect();
                let value_ranges = value_ranges(body);
                claims.push(Claim {
                    index,
                    text: s,
                    facts,
                    names,
                    absolutes,
                    anchored,
                    terms,
                    clauses,
                    value_ranges,
                });
            }
        }
        Self { ranges, claims, evidence, bag, evidence_words, capitalised, lang, cross_language }
    }

    /// The texts to embed for the dense side, in order: every claim sentence, then passage
    /// sentences (at most 96). Pass their vectors, in the same order, to
    /// [`report`](Self::report).
    pub fn dense_texts(&self) -> Vec<String> {
        if self.claims.is_empty() {
            return Vec::new();
        }
        self.claims
            .iter()
            .map(|c| c.text.clone())
            .chain(self.evidence.iter().take(MAX_DENSE_EVIDENCE).map(|e| e.text.clone()))
            .collect()
    }

    /// Judge every sentence. `dense`: the vectors of [`dense_texts`](Self::dense_texts) (ignored
    /// when their number does not match).
    pub fn report(&self, dense: Option<&[Vec<f32>]>) -> GroundingReport {
        let n_claims = self.claims.len();
        let dense = dense.filter(|v| !v.is_empty() && v.len() == self.dense_texts().len());
        let by_index: HashMap<usize, &Claim> = self.claims.iter().map(|c| (c.index, c)).collect();
        let mut out = GroundingReport::default();
        for (i, (range, claim)) in self.ranges.iter().enumerate() {
            let (verdict, lexical, dense_sim) = if !claim {
                (Verdict::NoClaim, 0.0, None)
            } else if let Some(c) = by_index.get(&i) {
                let k = self.claims.iter().position(|x| x.index == i).unwrap_or(0);
                let sim = dense.map(|v| {
                    let q = &v[k];
                    v[n_claims..].iter().map(|e| cosine(q, e)).fold(0.0f32, f32::max)
                });
                let (verdict, lexical) = self.judge(c, sim);
                (verdict, lexical, sim)
            } else {
                // Past the claim limit: never reported as supported.
                (Verdict::Unsupported(Reason::LowSupport), 0.0, None)
            };
            match verdict {
                Verdict::Supported => out.supported += 1,
                Verdict::Unsupported(_) => out.unsupported += 1,
                Verdict::NoClaim => {}
            }
            out.sentences.push(SentenceCheck { range: range.clone(), verdict, lexical, dense: dense_sim });
        }
        out
    }

    /// Coverage of a claim's terms by the best window of three consecutive passage sentences.
    fn coverage(&self, c: &Claim) -> f32 {
        if c.terms.is_empty() {
            return 1.0;
        }
        let mut best = 0usize;
        for i in 0..self.evidence.len() {
            let p = self.evidence[i].passage;
            let window = self.evidence[i.saturating_sub(1)..(i + 2).min(self.evidence.len())]
                .iter()
                .filter(|e| e.passage == p);
            let mut union: HashSet<&str> = HashSet::new();
            let mut concepts: HashSet<u16> = HashSet::new();
            for e in window {
                union.extend(e.terms.iter().map(String::as_str));
                concepts.extend(&e.concepts);
            }
            let covered = |t: &&String| {
                union.contains(t.as_str())
                    || synonyms::groups(self.lang, t).iter().any(|g| concepts.contains(g))
            };
            best = best.max(c.terms.iter().filter(covered).count());
        }
        best as f32 / c.terms.len() as f32
    }

    fn judge(&self, c: &Claim, dense: Option<f32>) -> (Verdict, f32) {
        let lexical = self.coverage(c);
        if let Some(f) = c.facts.iter().find(|f| !self.bag.has(f)) {
            return (Verdict::Unsupported(Reason::MissingFact(fact_text(f))), lexical);
        }
        if let Some(n) = c.names.iter().find(|n| !self.bag.mentions(n)) {
            let text = match n {
                Name::Word(w) | Name::Code(w) => w.clone(),
            };
            return (Verdict::Unsupported(Reason::UnknownName(text)), lexical);
        }
        if let Some(w) = c.absolutes.iter().find(|w| !self.bag.says_absolute(w)) {
            return (Verdict::Unsupported(Reason::Absolute(w.clone())), lexical);
        }
        if let Some(why) = self.conflict(c) {
            return (Verdict::Unsupported(Reason::Conflict(why)), lexical);
        }
        // A sentence carrying a specific fact found in a passage is anchored to it: less of its
        // wording needs to be the passage's.
        let bonus = if c.anchored { ANCHOR_BONUS } else { 0.0 };
        let supported = match (self.cross_language, dense) {
            (true, None) => true,
            (true, Some(d)) => d + bonus >= MIXED_MIN,
            (false, None) => lexical + bonus >= LEXICAL_MIN,
            (false, Some(d)) => DENSE_WEIGHT * d + (1.0 - DENSE_WEIGHT) * lexical + bonus >= MIXED_MIN,
        };
        let verdict = if supported { Verdict::Supported } else { Verdict::Unsupported(Reason::LowSupport) };
        (verdict, lexical)
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    crate::rag::cosine(a, b)
}

/// The counts for an answer that is grounded by construction (the extractive answerer's: every
/// sentence is copied from a passage): every claim sentence supported.
pub fn grounded_by_construction(answer: &str) -> GroundingReport {
    let check = GroundingCheck::new::<&str, &str>(answer, &[], &[]);
    let mut out = GroundingReport::default();
    for (range, claim) in check.ranges {
        let verdict = if claim {
            out.supported += 1;
            Verdict::Supported
        } else {
            Verdict::NoClaim
        };
        out.sentences.push(SentenceCheck { range, verdict, lexical: 1.0, dense: None });
    }
    out
}

/// The strict-mode text: the answer without its unsupported sentences, the rest in order and
/// as written (line breaks and list markers kept; a list item left empty is dropped).
pub fn strict_text(answer: &str, report: &GroundingReport) -> String {
    let mut out = String::with_capacity(answer.len());
    let mut pos = 0usize;
    for s in report.sentences.iter().filter(|s| s.is_unsupported()) {
        let (Some(before), true) = (answer.get(pos..s.range.start), s.range.start >= pos) else { continue };
        out.push_str(before);
        pos = s.range.end.min(answer.len());
        // The horizontal space after a removed sentence goes with it.
        let rest = answer.get(pos..).unwrap_or_default();
        pos += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }
    out.push_str(answer.get(pos..).unwrap_or_default());
    // Lines left with nothing but a list marker or white space go; at most one blank line.
    let mut lines: Vec<&str> = Vec::new();
    for line in out.lines() {
        let t = line.trim();
        let marker_only = !t.is_empty()
            && t.trim_start_matches(['#', '-', '*', '•', '>', '|']).trim().is_empty()
            || t.trim_end_matches(['.', ')']).chars().all(|c| c.is_ascii_digit()) && !t.is_empty();
        if marker_only {
            continue;
        }
        if t.is_empty() && lines.last().is_none_or(|l| l.trim().is_empty()) {
            continue;
        }
        lines.push(line.trim_end());
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}
