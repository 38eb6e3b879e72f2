//! Contradictions worded with the passages' own terms (see the rules in the parent module):
//! sentences split into clauses, each clause's negations, values (numbers, prices, times) and
//! quoted literals, and the word order that shows which modifier goes with which noun.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::facts::{Fact, located_facts, word_value};
use super::{Claim, EvidenceSentence, GroundingCheck};
use crate::text::{Lang, lower_words};

/// Explicit negators, every supported language (a word ending in "n't" or starting with "n'" is
/// one too). Each negates the next content word.
const NEGATORS: &[&str] = &[
    "not", "no", "never", "cannot", "nor", "neither", "none", "nothing", "nicht", "kein", "keine", "keinen",
    "keinem", "keiner", "keines", "nie", "niemals", "nichts", "niet", "geen", "nooit", "niets", "ne", "pas",
    "jamais", "aucun", "aucune", "rien", "nunca", "ningún", "ninguna", "ninguno", "nada",
];

/// Words that put a clause in the negative without a negator ("excluded from returns", "free of
/// charge", "only in the store"): a clause with one is not taken as a plain positive statement.
const IMPLICIT_NEGATIVES: &[&str] = &[
    "without",
    "except",
    "exclude",
    "excluded",
    "excludes",
    "excluding",
    "only",
    "instead",
    "rather",
    "unable",
    "fail",
    "fails",
    "failed",
    "lack",
    "lacks",
    "refuse",
    "refuses",
    "refused",
    "prevent",
    "prevents",
    "avoid",
    "impossible",
    "forbidden",
    "prohibited",
    "free",
    "neither",
    "ohne",
    "außer",
    "nur",
    "statt",
    "anstatt",
    "ausgenommen",
    "ausgeschlossen",
    "kostenlos",
    "zonder",
    "behalve",
    "alleen",
    "uitgezonderd",
    "uitgesloten",
    "gratis",
    "sans",
    "sauf",
    "seulement",
    "uniquement",
    "sin",
    "excepto",
    "salvo",
    "solo",
    "solamente",
];

/// Words that start a new clause (the word goes with the clause it starts).
const CONJUNCTIONS: &[&str] = &[
    "and", "but", "while", "whereas", "although", "though", "because", "unless", "when", "whenever", "if",
    "however", "und", "aber", "sondern", "weil", "wenn", "obwohl", "während", "en", "maar", "omdat",
    "terwijl", "et", "mais", "car", "quand", "y", "pero", "porque", "cuando", "as", "provided",
];

/// Adverbs a negation reaches past ("does not currently handle").
const ADVERBS: &[&str] = &[
    "also",
    "still",
    "yet",
    "even",
    "ever",
    "always",
    "actually",
    "currently",
    "really",
    "necessarily",
    "auch",
    "noch",
    "immer",
    "ook",
    "nog",
    "altijd",
    "toujours",
    "encore",
    "siempre",
    "todavía",
];

/// Number words a hyphen joins to a word ("one-based", "zero-based").
const COMPOUND_NUMBERS: &[&str] =
    &["zero", "one", "two", "three", "four", "single", "double", "multi", "null", "eins", "een", "nul"];

/// Stems already computed for one check (the passages repeat their words).
#[derive(Debug, Default)]
pub(super) struct Stems(HashMap<(Lang, String), String>);

impl Stems {
    pub(super) fn of(&mut self, lang: Lang, w: &str) -> String {
        if let Some(s) = self.0.get(&(lang, w.to_string())) {
            return s.clone();
        }
        let s = lang.stem(w);
        self.0.insert((lang, w.to_string()), s.clone());
        s
    }
}

/// Words of a text in order, for the modifier check: lower-cased, hyphenated compounds split into
/// parts marked `joined` (after a hyphen).
#[derive(Debug, Clone)]
pub(super) struct Word {
    pub(super) lower: String,
    /// The stem, for a content word (not a stopword, not a bare number).
    pub(super) stem: Option<String>,
    pub(super) joined: bool,
    /// Written with a capital, not as the text's first word ("on Saturday", "LZMA").
    pub(super) capital: bool,
}

/// One clause of a sentence, analysed.
#[derive(Debug, Default)]
pub(super) struct Clause {
    /// Content-word stems.
    pub(super) terms: HashSet<String>,
    /// Stems a negator negates: every content word after it in the clause.
    pub(super) negated: HashSet<String>,
    /// The first content word after each negator (what it negates most surely).
    pub(super) heads: HashSet<String>,
    /// The clause has an explicit negator.
    pub(super) negator: bool,
    /// The clause has a negator or an implicit negative.
    pub(super) negative: bool,
    /// Numbers, amounts and times as canonical strings (`n:9`, `t:540`).
    pub(super) values: HashSet<String>,
    /// Quoted literals (`'rb'`), as written.
    pub(super) literals: HashSet<String>,
    /// The clause's words in order.
    pub(super) words: Vec<Word>,
}

fn is_negator(w: &str) -> bool {
    NEGATORS.contains(&w) || w.ends_with("n't") || (w.starts_with("n'") && w.chars().count() > 2)
}

fn is_adverb(w: &str) -> bool {
    ADVERBS.contains(&w) || (w.len() > 4 && w.ends_with("ly"))
}

fn is_stop(w: &str, langs: &[Lang]) -> bool {
    w.chars().count() < 2 || w.chars().all(|c| c.is_ascii_digit()) || langs.iter().any(|l| l.is_stopword(w))
}

/// The byte ranges of a sentence's clauses: cut at `;`, brackets, dashes, and at `,` or `:`
/// before white space (a piece of fewer than three words after a comma is a list item and stays
/// with the piece before it), then before a conjunction.
pub(super) fn clause_ranges(s: &str) -> Vec<Range<usize>> {
    let mut pieces: Vec<Range<usize>> = Vec::new();
    let mut start = 0usize;
    let mut after_comma = false;
    let push = |pieces: &mut Vec<Range<usize>>, r: Range<usize>, after_comma: bool| {
        let words = s.get(r.clone()).map_or(0, |p| p.split_whitespace().count());
        match pieces.last_mut() {
            Some(last) if after_comma && words < 3 => last.end = r.end,
            _ => pieces.push(r),
        }
    };
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let before_space = it.peek().is_some_and(|(_, n)| n.is_whitespace());
        let cut =
            matches!(c, ';' | '(' | ')' | '[' | ']' | '–' | '—') || (matches!(c, ',' | ':') && before_space);
        if cut {
            push(&mut pieces, start..i, after_comma);
            after_comma = c == ',';
            start = i + c.len_utf8();
        }
    }
    push(&mut pieces, start..s.len(), after_comma);
    let mut out = Vec::new();
    for r in pieces {
        let Some(piece) = s.get(r.clone()) else { continue };
        let mut from = r.start;
        let mut first = true;
        for (at, word) in word_offsets(piece) {
            let lower = word.to_lowercase();
            if !first && CONJUNCTIONS.contains(&lower.as_str()) {
                out.push(from..r.start + at);
                from = r.start + at;
            }
            first = false;
        }
        out.push(from..r.end);
    }
    out.retain(|r| s.get(r.clone()).is_some_and(|p| p.chars().any(char::is_alphanumeric)));
    out
}

/// White-space separated words with their byte offsets, trimmed of punctuation.
fn word_offsets(s: &str) -> impl Iterator<Item = (usize, &str)> {
    s.split_whitespace().map(move |w| {
        let trimmed = w.trim_matches(|c: char| !c.is_alphanumeric());
        let at = w.as_ptr() as usize - s.as_ptr() as usize;
        let lead = w.len() - w.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
        (at + lead, trimmed)
    })
}

/// The words of a text in order (see [`Word`]).
pub(super) fn words_of(text: &str, langs: &[Lang], stems: &mut Stems) -> Vec<Word> {
    let mut out = Vec::new();
    let raws = text
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '\'' | '’' | '-')))
        .filter(|w| !w.is_empty());
    for raw in raws {
        let raw = raw.trim_matches(['\'', '’', '-']);
        for (k, part) in raw.split('-').filter(|p| !p.is_empty()).enumerate() {
            let part = part.trim_matches(['\'', '’']);
            if part.is_empty() {
                continue;
            }
            let capital = !out.is_empty() && part.chars().next().is_some_and(char::is_uppercase);
            let part = part.to_lowercase();
            let stem = (!is_stop(&part, langs) && !is_negator(&part))
                .then(|| langs.first().map(|l| stems.of(*l, &part)).unwrap_or_else(|| part.clone()));
            out.push(Word { lower: part, stem, joined: k > 0, capital });
        }
    }
    out
}

/// Analyse one clause: `langs` are the languages whose stopwords and stems apply (the first one's
/// stem is the word's; the others' stems are added to `terms`).
pub(super) fn clause_of(text: &str, langs: &[Lang], evidence: bool, memo: &mut Stems) -> Clause {
    let mut c = Clause { words: words_of(text, langs, memo), ..Clause::default() };
    let mut after_negator = false;
    let mut head = false;
    for w in lower_words(text, &['\'', '’']) {
        let w = w.replace('’', "'");
        let w = w.trim_matches('\'');
        if is_negator(w) {
            c.negative = true;
            c.negator = true;
            after_negator = true;
            head = true;
            continue;
        }
        // "excluded", "free", "unsuitable": negative without a negator.
        if IMPLICIT_NEGATIVES.contains(&w)
            || w.strip_prefix("un").is_some_and(|b| b.chars().count() >= 4 && w.is_ascii())
        {
            c.negative = true;
        }
        if is_stop(w, langs) {
            continue;
        }
        let stems: Vec<String> = langs.iter().map(|l| memo.of(*l, w)).collect();
        c.terms.extend(stems.iter().cloned());
        if after_negator {
            c.negated.extend(stems.iter().cloned());
            if head {
                c.heads.extend(stems);
                head = is_adverb(w);
            }
        }
    }
    if text.chars().any(|ch| ch.is_ascii_digit()) {
        let (facts, _) = located_facts(text, evidence);
        for (f, _) in facts {
            c.values.extend(values_of(&f));
        }
    } else {
        // No digits: only number words can be values (the patterns need not run).
        for w in lower_words(text, &[]) {
            if let Some(v) = word_value(&w, evidence) {
                c.values.insert(format!("n:{v}"));
            }
        }
    }
    c.literals = literals(text).into_iter().collect();
    c
}

/// A numeric fact as comparable values ("9 am", "9:00" and "9" meet at `n:9`).
pub(super) fn values_of(f: &Fact) -> Vec<String> {
    match f {
        Fact::Number(v) | Fact::Price(v, _) => v.iter().map(|x| format!("n:{x}")).collect(),
        Fact::Time(t) => t
            .iter()
            .flat_map(|m| {
                let mut v = vec![format!("t:{m}")];
                if m % 60 == 0 {
                    v.push(format!("n:{}", m / 60));
                }
                v
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Short quoted literals ('rb', "utf-8", `x`): a quote after a non-word character, at most 24
/// characters without white space, and a closing quote before a non-word character.
pub(super) fn literals(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let close = match c {
            '\'' | '"' | '`' => c,
            '‘' => '’',
            '“' => '”',
            _ => {
                i += 1;
                continue;
            }
        };
        let opens = i == 0 || !chars[i - 1].is_alphanumeric();
        let end = chars.iter().skip(i + 1).take(25).position(|&x| x == close || x.is_whitespace());
        match end.map(|e| i + 1 + e) {
            Some(j) if opens && chars[j] == close && j > i + 1 => {
                let after_ok = chars.get(j + 1).is_none_or(|a| !a.is_alphanumeric());
                if after_ok {
                    out.push(chars[i + 1..j].iter().collect::<String>().to_lowercase());
                    i = j + 1;
                    continue;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Pairs of values written as a range ("from 9:00 to 17:00", "zwischen 7 und 18 Uhr"): two
/// numeric facts with at most a short connecting word between them.
pub(super) fn value_ranges(text: &str) -> Vec<(HashSet<String>, HashSet<String>)> {
    let (facts, _) = located_facts(text, false);
    let mut located: Vec<(Range<usize>, HashSet<String>)> = facts
        .into_iter()
        .filter_map(|(f, r)| {
            let v: HashSet<String> = values_of(&f).into_iter().collect();
            r.filter(|_| !v.is_empty()).map(|r| (r, v))
        })
        .collect();
    located.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::new();
    for pair in located.windows(2) {
        let [(a, va), (b, vb)] = pair else { continue };
        let Some(gap) = text.get(a.end..b.start) else { continue };
        let gap = gap.trim().to_lowercase();
        let connector = matches!(
            gap.as_str(),
            "-" | "–"
                | "to"
                | "until"
                | "till"
                | "through"
                | "and"
                | "bis"
                | "und"
                | "tot"
                | "en"
                | "à"
                | "et"
                | "a"
                | "y"
                | "hasta"
                | "tot en met"
        );
        if connector {
            out.push((va.clone(), vb.clone()));
        }
    }
    out
}

/// Whether two stems are one word's ("cryptograph", "cryptographi"): equal, or one is the other
/// less its last character, five characters or more.
fn near(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    a == b
        || (short.chars().count() >= 5
            && long.starts_with(short)
            && long.chars().count() <= short.chars().count() + 1)
}

impl GroundingCheck {
    /// The first conflict of a claim with the passages that carry its terms, described (see
    /// [`Reason::Conflict`](super::Reason::Conflict)); none across languages.
    pub(super) fn conflict(&self, c: &Claim) -> Option<String> {
        if self.cross_language || self.evidence.is_empty() {
            return None;
        }
        self.split_range(c)
            .or_else(|| self.misbound(c))
            .or_else(|| self.flipped(c))
            .or_else(|| self.denied(c))
            .or_else(|| self.antonym(c))
            .or_else(|| self.swapped(c))
    }

    /// A range ("from 7:00 to 12:00") whose two ends are in no one passage sentence together.
    fn split_range(&self, c: &Claim) -> Option<String> {
        let together = |a: &HashSet<String>, b: &HashSet<String>| {
            self.evidence.iter().any(|e| {
                let has = |v: &HashSet<String>| e.clauses.iter().any(|k| !k.values.is_disjoint(v));
                has(a) && has(b)
            })
        };
        c.value_ranges
            .iter()
            .find(|(a, b)| !together(a, b))
            .map(|_| "the ends of a range are in different passage sentences".to_string())
    }

    /// A term of a clause with values (or quoted literals) that the passages only ever write in
    /// clauses with other values: the value is given to the wrong thing.
    fn misbound(&self, c: &Claim) -> Option<String> {
        let kinds: [fn(&Clause) -> &HashSet<String>; 2] = [|k| &k.values, |k| &k.literals];
        let capital: HashSet<&String> = c
            .clauses
            .iter()
            .flat_map(|k| &k.words)
            .filter(|w| w.capital)
            .filter_map(|w| w.stem.as_ref())
            .collect();
        for (i, kind) in kinds.into_iter().enumerate() {
            let own: HashSet<&String> = c.clauses.iter().flat_map(|k| kind(k).iter()).collect();
            for k in c.clauses.iter().filter(|k| !kind(k).is_empty()) {
                // A number goes with a name (a day, a product, a format): the terms written with
                // a capital, here or in a passage. A quoted literal goes with any term.
                let names =
                    k.terms.iter().filter(|t| i == 1 || capital.contains(t) || self.capitalised.contains(*t));
                for t in names {
                    let mut with = self
                        .evidence
                        .iter()
                        .flat_map(|e| &e.clauses)
                        .filter(|e| e.terms.contains(t))
                        .peekable();
                    if with.peek().is_none() {
                        continue;
                    }
                    if with.all(|e| !kind(e).is_empty() && !kind(e).iter().any(|v| own.contains(v))) {
                        return Some(format!("the passages give \"{t}\" other values"));
                    }
                }
            }
        }
        None
    }

    /// A negation flipped: a plain positive clause whose term the passage clauses that share most
    /// with the claim negate, or a negated term the passages state without any negation nearby.
    fn flipped(&self, c: &Claim) -> Option<String> {
        let claim_terms: HashSet<&String> = c.clauses.iter().flat_map(|k| &k.terms).collect();
        let all: Vec<&Clause> = self.evidence.iter().flat_map(|e| &e.clauses).collect();
        // Shared terms weighted by rarity: the clause a claim is about shares its rare words.
        let weight: HashMap<&String, f32> = claim_terms
            .iter()
            .map(|t| (*t, 1.0 / all.iter().filter(|k| k.terms.contains(*t)).count().max(1) as f32))
            .collect();
        let overlap = |k: &Clause| -> u32 {
            (k.terms.iter().filter_map(|t| weight.get(t)).sum::<f32>() * 1000.0) as u32
        };
        for k in &c.clauses {
            for t in &k.terms {
                let with: Vec<(&EvidenceSentence, &Clause)> = self
                    .evidence
                    .iter()
                    .flat_map(|e| e.clauses.iter().map(move |k| (e, k)))
                    .filter(|(_, e)| e.terms.contains(t))
                    .collect();
                let Some(best) = with.iter().map(|(_, e)| overlap(e)).max() else { continue };
                let mut best = with.into_iter().filter(|(_, e)| overlap(e) == best);
                if !k.negative {
                    if best.all(|(_, e)| e.heads.contains(t)) {
                        return Some(format!("the passages negate \"{t}\""));
                    }
                } else if k.heads.contains(t) {
                    // A passage sentence with a negation and another of the clause's terms may
                    // say the same in other words.
                    let said_negatively = k.terms.iter().filter(|o| *o != t).any(|o| {
                        self.evidence.iter().any(|e| e.negative && e.terms.iter().any(|x| near(x, o)))
                    });
                    if !said_negatively && best.all(|(s, _)| !s.negative) {
                        return Some(format!("the passages state \"{t}\" without a negation"));
                    }
                }
            }
        }
        None
    }

    /// A claim without any negation with a clause ("the encoding is the same as ...") whose terms (two or more) are
    /// all in a passage clause with a negator and together in no passage clause without one.
    fn denied(&self, c: &Claim) -> Option<String> {
        if c.clauses.iter().any(|k| k.negative) {
            return None;
        }
        let all: Vec<&Clause> = self.evidence.iter().flat_map(|e| &e.clauses).collect();
        for k in c.clauses.iter().filter(|k| !k.negative && k.terms.len() >= 2) {
            let holds = |e: &&&Clause| k.terms.iter().all(|t| e.terms.contains(t));
            let (neg, pos): (Vec<&&Clause>, Vec<&&Clause>) =
                all.iter().filter(holds).partition(|e| e.negator);
            if !neg.is_empty() && pos.is_empty() {
                return Some("a passage says it with a negation".to_string());
            }
        }
        None
    }

    /// A word where a passage, in the same place (after or before the same content word), has
    /// its "un-" or "non-" opposite ("while it is being pickled" against "during unpickling").
    fn antonym(&self, c: &Claim) -> Option<String> {
        let opposite = |a: &Word, b: &Word| {
            let (Some(x), Some(y)) = (&a.stem, &b.stem) else { return false };
            let strip = |w: &Word| {
                w.lower
                    .strip_prefix("un")
                    .or_else(|| w.lower.strip_prefix("non"))
                    .filter(|r| r.chars().count() >= 4)
                    .map(str::to_string)
            };
            let base_of = |w: &Word, other: &String| strip(w).is_some_and(|r| self.stem_like(&r, other));
            x != y && (base_of(a, y) || base_of(b, x))
        };
        let pairs: HashSet<(&String, &String)> = self
            .evidence
            .iter()
            .flat_map(|e| {
                let words: Vec<&String> = e.words.iter().filter_map(|w| w.stem.as_ref()).collect();
                words.windows(2).filter_map(|p| Some((*p.first()?, *p.get(1)?))).collect::<Vec<_>>()
            })
            .collect();
        // The claim's words in order (its clauses are consecutive).
        let words: Vec<&Word> =
            c.clauses.iter().flat_map(|k| &k.words).filter(|w| w.stem.is_some()).collect();
        {
            for e in &self.evidence {
                let ewords: Vec<&Word> = e.words.iter().filter(|w| w.stem.is_some()).collect();
                // "aren't sure" says "unsure".
                let negated = |w: &Word| {
                    e.clauses.iter().any(|k| w.stem.as_ref().is_some_and(|s| k.negated.contains(s)))
                };
                for pair in words.windows(2) {
                    let [a, b] = pair else { continue };
                    if let (Some(x), Some(y)) = (&a.stem, &b.stem)
                        && pairs.contains(&(x, y))
                    {
                        continue;
                    }
                    for q in ewords.windows(2) {
                        let [x, y] = q else { continue };
                        if (a.stem == x.stem && opposite(b, y) && !negated(y))
                            || (b.stem == y.stem && opposite(a, x) && !negated(x))
                        {
                            return Some(format!(
                                "\"{}\" where the passage says \"{}\"",
                                if a.stem == x.stem { &b.lower } else { &a.lower },
                                if a.stem == x.stem { &y.lower } else { &x.lower }
                            ));
                        }
                    }
                }
            }
        }
        None
    }

    /// Whether `word` stems to `stem` in the answer's language.
    fn stem_like(&self, word: &str, stem: &str) -> bool {
        self.lang.stem(word) == stem
    }

    /// A modifier swapped: the claim puts a word the passages never use right before one of
    /// their words ("sale items", "one-based"), where the passage sentence sharing most with the
    /// claim has another word of its own there ("personalised items", "zero-based").
    fn swapped(&self, c: &Claim) -> Option<String> {
        // A claim carrying facts found in the passages is anchored by them.
        if !c.facts.is_empty() {
            return None;
        }
        let claim_words: HashSet<&str> = c
            .clauses
            .iter()
            .flat_map(|k| &k.words)
            .flat_map(|w| std::iter::once(w.lower.as_str()).chain(w.stem.as_deref()))
            .collect();
        let known = |w: &Word| {
            self.evidence_words.contains(&w.lower)
                || w.stem.as_ref().is_some_and(|s| self.evidence_words.contains(s))
        };
        for k in &c.clauses {
            for (u, w) in noun_phrases(&k.words) {
                let Some(stem) = &w.stem else { continue };
                if known(u) || !self.evidence_words.contains(stem) {
                    continue;
                }
                // Everything else the claim says is in one passage sentence, with another word
                // before the same noun.
                let rest: Vec<&String> =
                    c.terms.iter().filter(|t| Some(*t) != u.stem.as_ref() && **t != u.lower).collect();
                let covers = |e: &&EvidenceSentence| {
                    let n = rest.iter().filter(|t| e.terms.contains(**t)).count();
                    n * 4 >= rest.len() * 3
                };
                for e in self.evidence.iter().filter(covers) {
                    for (v, x) in noun_phrases(&e.words) {
                        if x.stem.as_ref() == Some(stem)
                            && x.joined == w.joined
                            && !claim_words.contains(v.lower.as_str())
                            && !v.stem.as_deref().is_some_and(|s| claim_words.contains(s))
                        {
                            return Some(format!(
                                "\"{} {}\" where the passage says \"{} {}\"",
                                u.lower, w.lower, v.lower, x.lower
                            ));
                        }
                    }
                }
            }
        }
        None
    }
}

/// Modifier and noun pairs: a hyphenated compound with a number word first ("one-based"), or two
/// content words standing alone between non-content words ("the sale items cannot").
fn noun_phrases(words: &[Word]) -> impl Iterator<Item = (&Word, &Word)> {
    (1..words.len()).filter_map(move |i| {
        let (u, w) = (&words[i - 1], &words[i]);
        if w.joined {
            return COMPOUND_NUMBERS.contains(&u.lower.as_str()).then_some((u, w));
        }
        let content = |x: Option<&Word>| x.is_some_and(|x| x.stem.is_some());
        let alone = !content(i.checked_sub(2).and_then(|j| words.get(j))) && !content(words.get(i + 1));
        (alone && u.stem.is_some() && w.stem.is_some() && !is_adverb(&u.lower)).then_some((u, w))
    })
}
