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
//!   mentioned ("EU" for "European Union"). The visitor's message and the company name are
//!   context: a fact or name found there counts as found.
//! - otherwise **supported** when the sentence's content terms (stopwords dropped, stemmed in the
//!   answer's language with `crate::text`'s analysis) are covered well enough by a window of three
//!   consecutive passage sentences ([`LEXICAL_MIN`]); with a dense embedder, by the mix of that
//!   coverage and the best cosine similarity of the sentence to a passage sentence
//!   ([`MIXED_MIN`]). Else **unsupported**.
//!
//! An answer in another language than every passage (both detected) cannot share terms with
//! them: its sentences are then judged on hard facts and names, and on the dense similarity when
//! there is an embedder (lexical coverage is not used).
//!
//! Measured on `chatbot-core/tests/data/grounding.jsonl` (`tests/grounding_eval.rs`).

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use crate::llm::extractive::split_sentences;
use crate::text::{Lang, analyse, built_in_regex, detect, is_chat_word, lower_words};

/// Lexical coverage a claim needs without a dense embedder (share of its content terms found in
/// the best window of passage sentences). Tuned on the "tune" half of the labelled set.
pub const LEXICAL_MIN: f32 = 0.65;
/// With a dense embedder: `DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * coverage` a claim needs.
pub const MIXED_MIN: f32 = 0.72;
/// The dense similarity's weight in the mix.
pub const DENSE_WEIGHT: f32 = 0.8;
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
#[derive(Debug, Clone, PartialEq)]
enum Fact {
    /// Canonical readings of a number ("1,000" reads as 1000 or 1).
    Number(Vec<String>),
    /// An amount with its currency code.
    Price(Vec<String>, &'static str),
    /// Minutes after midnight (both halves of the day for a bare `5:00`).
    Time(Vec<u32>),
    Email(String),
    /// Lower-cased, without scheme, `www.` and trailing slash.
    Url(String),
    /// Digits only.
    Phone(String),
}

/// The facts and names of the evidence, for look-ups.
#[derive(Debug, Default)]
struct FactBag {
    numbers: HashSet<String>,
    prices: HashSet<(String, &'static str)>,
    times: HashSet<u32>,
    emails: HashSet<String>,
    phones: Vec<String>,
    /// The evidence lower-cased (URLs and domains are searched in it).
    lower: String,
    /// The evidence as written (code identifiers are searched in it).
    raw: String,
    /// Lower-cased words.
    words: HashSet<String>,
    /// Acronyms of runs of capitalised words ("European Union" -> "eu").
    acronyms: HashSet<String>,
}

impl FactBag {
    fn add(&mut self, text: &str) {
        let text = prefix(text, MAX_CHARS);
        let (facts, _) = facts_of(text, true);
        for f in facts {
            match f {
                Fact::Number(v) => self.numbers.extend(v),
                Fact::Price(v, cur) => {
                    for x in v {
                        self.prices.insert((x, cur));
                    }
                }
                Fact::Time(t) => {
                    for m in t {
                        self.times.insert(m);
                        // "9:00" also says "9".
                        self.numbers.insert((m / 60).to_string());
                        self.numbers.insert((m / 60 % 12).to_string());
                    }
                }
                Fact::Email(e) => {
                    self.emails.insert(e);
                }
                Fact::Url(_) => {}
                Fact::Phone(p) => self.phones.push(p),
            }
        }
        self.lower.push('\n');
        self.lower.push_str(&text.to_lowercase());
        self.raw.push('\n');
        self.raw.push_str(text);
        self.words.extend(lower_words(text, &[]));
        let mut run = String::new();
        for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            if w.chars().next().is_some_and(char::is_uppercase) {
                run.extend(w.chars().next().map(|c| c.to_lowercase().to_string()));
            } else if !matches!(w, "of" | "and" | "the" | "for") {
                if run.chars().count() >= 2 {
                    self.acronyms.insert(std::mem::take(&mut run));
                }
                run.clear();
            }
        }
        if run.chars().count() >= 2 {
            self.acronyms.insert(run);
        }
    }

    fn has(&self, f: &Fact) -> bool {
        match f {
            Fact::Number(v) => {
                v.iter().any(|x| self.numbers.contains(x) || self.prices.iter().any(|(p, _)| p == x))
            }
            Fact::Price(v, cur) => {
                v.iter().any(|x| self.prices.contains(&(x.clone(), *cur)) || self.numbers.contains(x))
            }
            Fact::Time(t) => t.iter().any(|m| self.times.contains(m)),
            Fact::Email(e) => self.emails.contains(e),
            Fact::Url(u) => contains_bounded(&self.lower, u),
            Fact::Phone(p) => self
                .phones
                .iter()
                .any(|q| q == p || (p.len() >= 8 && q.len() >= 8 && tail(q, 8) == tail(p, 8))),
        }
    }

    /// Whether a name (a capitalised word or a code identifier) is mentioned.
    fn mentions(&self, name: &Name) -> bool {
        match name {
            Name::Word(w) => {
                let l = w.to_lowercase();
                self.words.contains(&l)
                    || self.acronyms.contains(&l)
                    // Plurals and possessives of a mentioned name.
                    || l.strip_suffix('s').is_some_and(|s| self.words.contains(s))
                    || self.words.contains(&format!("{l}s"))
            }
            Name::Code(c) => {
                let bare = c.trim_end_matches("()");
                if contains_bounded(&self.raw, bare) {
                    return true;
                }
                // `json.dumps` where the passage says `dumps` in the json module's text.
                bare.split('.').all(|part| part.is_empty() || self.words.contains(&part.to_lowercase()))
            }
        }
    }
}

fn tail(s: &str, n: usize) -> &str {
    let start = s.char_indices().rev().nth(n.saturating_sub(1)).map_or(0, |(i, _)| i);
    &s[start..]
}

/// `needle` in `hay` with no letter, digit, `-` or `_` right before or after it.
fn contains_bounded(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    hay.match_indices(needle).any(|(i, m)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + m.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

fn prefix(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// A name a sentence mentions.
#[derive(Debug, Clone, PartialEq)]
enum Name {
    Word(String),
    Code(String),
}

// ----- fact extraction -----

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| built_in_regex(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"));
static URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r#"(?i)\b(?:https?://|www\.)[^\s<>()\[\]"'`]+|\b[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.(?:com|org|net|io|dev|example|nl|de|fr|be|eu|uk|info|app|ai)\b(?:/[^\s<>()\[\]"'`]*)?"#,
    )
});
/// An amount and its currency, either order.
static PRICE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r"(?i)(?P<c1>€|\$|£|¥|₹|\beur\b|\busd\b|\bgbp\b|\bchf\b)\s?(?P<n1>\d+(?:[.,]\d+)*(?:,-)?)|(?P<n2>\d+(?:[.,]\d+)*)(?:,-)?\s?(?P<c2>€|\$|£|¥|₹|eur\b|usd\b|gbp\b|chf\b|euros?\b|dollars?\b|pounds?\b|francs?\b)",
    )
});
/// 12-hour times ("3 pm", "3:30 p.m.") and 24-hour ones ("15:00").
static TIME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r"(?i)\b(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s?(?P<ap>a\.?m\b\.?|p\.?m\b\.?)|\b(?P<h24>\d{1,2})[:.](?P<m24>\d{2})\s?(?:uur|uhr|h\b)?",
    )
});
static NUMBER: LazyLock<Option<Regex>> = LazyLock::new(|| built_in_regex(r"\d+(?:[.,]\d+)*"));
/// Dotted names (`os.path.join`), names with an underscore (`__init__`, `max_tokens`), calls (`len()`).
static CODE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r"\b[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+(?:\(\))?|\b_*[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*\b(?:\(\))?|\b[A-Za-z_][A-Za-z0-9_]*\(\)",
    )
});

fn currency(c: &str) -> &'static str {
    match c.to_lowercase().as_str() {
        "€" | "eur" | "euro" | "euros" => "EUR",
        "$" | "usd" | "dollar" | "dollars" => "USD",
        "£" | "gbp" | "pound" | "pounds" => "GBP",
        "¥" => "JPY",
        "₹" => "INR",
        _ => "CHF",
    }
}

/// Canonical decimal text: no leading zeros, no trailing fractional zeros.
fn canonical(int: &str, frac: &str) -> String {
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") }
}

/// The readings of a number as written: "1,000" is 1000 (or 1.0), "4,95" is 4.95, "1.000,50"
/// is 1000.5, "3.11.2" is itself.
fn readings(n: &str) -> Vec<String> {
    let n = n.trim_end_matches(",-");
    let seps: Vec<(usize, char)> = n.char_indices().filter(|(_, c)| matches!(c, '.' | ',')).collect();
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    match seps.as_slice() {
        [] => vec![canonical(&digits, "")],
        [(i, _)] => {
            let (a, b) = (&n[..*i], &n[i + 1..]);
            let mut out = vec![canonical(a, b)];
            if b.len() == 3 {
                out.push(canonical(&format!("{a}{b}"), ""));
            }
            out
        }
        _ => {
            let kinds: HashSet<char> = seps.iter().map(|(_, c)| *c).collect();
            let groups: Vec<&str> = n.split(['.', ',']).collect();
            let thousands = groups.iter().skip(1).all(|g| g.len() == 3);
            if kinds.len() == 1 {
                if thousands { vec![canonical(&digits, "")] } else { vec![n.to_string()] }
            } else {
                // Both marks: the last one is the decimal mark.
                let (last_i, _) = seps[seps.len() - 1];
                let int: String = n[..last_i].chars().filter(char::is_ascii_digit).collect();
                vec![canonical(&int, &n[last_i + 1..])]
            }
        }
    }
}

/// Number words (the claim side leaves out "one" and its kin: mostly pronouns or articles).
const NUMBER_WORDS: &[(&str, u32)] = &[
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("fifteen", 15),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("hundred", 100),
    ("zwei", 2),
    ("drei", 3),
    ("vier", 4),
    ("fünf", 5),
    ("sechs", 6),
    ("sieben", 7),
    ("acht", 8),
    ("neun", 9),
    ("zehn", 10),
    ("zwölf", 12),
    ("zwanzig", 20),
    ("dreißig", 30),
    ("vierzig", 40),
    ("fünfzig", 50),
    ("hundert", 100),
    ("twee", 2),
    ("drie", 3),
    ("vijf", 5),
    ("zes", 6),
    ("zeven", 7),
    ("negen", 9),
    ("tien", 10),
    ("twaalf", 12),
    ("twintig", 20),
    ("dertig", 30),
    ("veertig", 40),
    ("vijftig", 50),
    ("honderd", 100),
    ("deux", 2),
    ("trois", 3),
    ("quatre", 4),
    ("cinq", 5),
    ("sept", 7),
    ("huit", 8),
    ("neuf", 9),
    ("dix", 10),
    ("douze", 12),
    ("vingt", 20),
    ("trente", 30),
    ("quarante", 40),
    ("cinquante", 50),
    ("cent", 100),
    ("dos", 2),
    ("tres", 3),
    ("cuatro", 4),
    ("cinco", 5),
    ("seis", 6),
    ("siete", 7),
    ("ocho", 8),
    ("diez", 10),
    ("doce", 12),
    ("veinte", 20),
    ("treinta", 30),
    ("cuarenta", 40),
    ("cincuenta", 50),
];
/// Number words counted on the evidence side only.
const EVIDENCE_NUMBER_WORDS: &[(&str, u32)] = &[
    ("one", 1),
    ("single", 1),
    ("ein", 1),
    ("eine", 1),
    ("eins", 1),
    ("een", 1),
    ("één", 1),
    ("un", 1),
    ("une", 1),
    ("uno", 1),
    ("una", 1),
    ("dozen", 12),
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("thousand", 1000),
    ("tausend", 1000),
    ("duizend", 1000),
    ("mille", 1000),
    ("mil", 1000),
];

/// Phone numbers: 8 or more digits with separators, starting with `+`, `(` or `0`, or 9 or more
/// digits without decimal marks. Returns (byte range, digits).
fn phones(text: &str) -> Vec<(Range<usize>, String)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let starts =
            c.is_ascii_digit() || ((c == b'+' || c == b'(') && b.get(i + 1).is_some_and(u8::is_ascii_digit));
        let after_word = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.' || b[i - 1] == b',');
        if !starts || after_word {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i + 1;
        let mut last_digit = if c.is_ascii_digit() { i } else { i + 1 };
        while j < b.len() && (b[j].is_ascii_digit() || b" -/()".contains(&b[j])) {
            if b[j].is_ascii_digit() {
                last_digit = j;
            }
            j += 1;
        }
        let run = &text[start..=last_digit.min(text.len() - 1)];
        let digits: String = run.chars().filter(char::is_ascii_digit).collect();
        let first = run.as_bytes().first().copied().unwrap_or(b'1');
        let spaced_small =
            run.split([' ', '-', '/']).filter(|g| !g.is_empty()).count() > 1 && digits.len() < 8;
        if digits.len() >= 8 && (b"+(0".contains(&first) || digits.len() >= 9) && !spaced_small {
            out.push((start..last_digit + 1, digits));
        }
        i = last_digit + 1;
    }
    out
}

/// The hard facts of a text, and the text with them blanked out (for the name and term
/// analysis). `evidence` adds the number words that only the evidence side counts.
fn facts_of(text: &str, evidence: bool) -> (Vec<Fact>, String) {
    let mut facts = Vec::new();
    // Byte ranges taken by a fact (later patterns skip them).
    let mut taken: Vec<Range<usize>> = Vec::new();
    let free =
        |taken: &[Range<usize>], r: &Range<usize>| !taken.iter().any(|t| t.start < r.end && r.start < t.end);
    if let Some(re) = EMAIL.as_ref() {
        for m in re.find_iter(text) {
            facts.push(Fact::Email(m.as_str().to_lowercase()));
            taken.push(m.range());
        }
    }
    if let Some(re) = URL.as_ref() {
        for m in re.find_iter(text) {
            if !free(&taken, &m.range()) {
                continue;
            }
            let u = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '*', '_']);
            let l = u.to_lowercase();
            let l = l.trim_start_matches("https://").trim_start_matches("http://").trim_start_matches("www.");
            let l = l.trim_end_matches('/').to_string();
            if !l.is_empty() {
                facts.push(Fact::Url(l));
            }
            taken.push(m.range());
        }
    }
    for (r, digits) in phones(text) {
        if free(&taken, &r) {
            facts.push(Fact::Phone(digits));
            taken.push(r);
        }
    }
    if let Some(re) = PRICE.as_ref() {
        for c in re.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            if !free(&taken, &m.range()) {
                continue;
            }
            let (Some(n), Some(cur)) = (c.name("n1").or(c.name("n2")), c.name("c1").or(c.name("c2"))) else {
                continue;
            };
            facts.push(Fact::Price(readings(n.as_str()), currency(cur.as_str())));
            taken.push(m.range());
        }
    }
    if let Some(re) = TIME.as_ref() {
        for c in re.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            if !free(&taken, &m.range()) {
                continue;
            }
            let num = |k: &str| c.name(k).and_then(|x| x.as_str().parse::<u32>().ok());
            let minutes = if let Some(h) = num("h") {
                let pm = c.name("ap").is_some_and(|a| a.as_str().to_lowercase().starts_with('p'));
                let h = if h > 12 { continue } else { h % 12 + if pm { 12 } else { 0 } };
                vec![h * 60 + num("m").unwrap_or(0)]
            } else {
                let (Some(h), Some(mm)) = (num("h24"), num("m24")) else { continue };
                if h > 24 || mm > 59 {
                    continue;
                }
                // "15.00" is a time only with a clock word or a colon; else it is a number.
                if m.as_str().contains('.') && !m.as_str().to_lowercase().trim_end().ends_with(['r', 'h']) {
                    continue;
                }
                if evidence && h < 12 { vec![h * 60 + mm, (h + 12) * 60 + mm] } else { vec![h * 60 + mm] }
            };
            facts.push(Fact::Time(minutes));
            taken.push(m.range());
        }
    }
    if let Some(re) = NUMBER.as_ref() {
        for m in re.find_iter(text) {
            if !free(&taken, &m.range()) {
                continue;
            }
            // Digits glued to a word before them are part of a name ("mp3", "utf8", "x86").
            if text[..m.start()].chars().next_back().is_some_and(|c| c.is_alphabetic() || c == '_') {
                continue;
            }
            let s = m.as_str().trim_end_matches(['.', ',']);
            facts.push(Fact::Number(readings(s)));
            taken.push(m.range());
        }
    }
    let mut blanked = String::with_capacity(text.len());
    for (i, ch) in text.char_indices() {
        if taken.iter().any(|t| t.contains(&i)) {
            blanked.push(' ');
        } else {
            blanked.push(ch);
        }
    }
    for w in lower_words(&blanked, &[]) {
        let hit = NUMBER_WORDS
            .iter()
            .chain(if evidence { EVIDENCE_NUMBER_WORDS } else { &[] })
            .find(|(word, _)| *word == w);
        if let Some((_, v)) = hit {
            facts.push(Fact::Number(vec![v.to_string()]));
        }
    }
    (facts, blanked)
}

fn fact_text(f: &Fact) -> String {
    match f {
        Fact::Number(v) => v.first().cloned().unwrap_or_default(),
        Fact::Price(v, c) => format!("{} {c}", v.first().cloned().unwrap_or_default()),
        Fact::Time(t) => t.first().map(|m| format!("{:02}:{:02}", m / 60, m % 60)).unwrap_or_default(),
        Fact::Email(s) | Fact::Url(s) | Fact::Phone(s) => s.clone(),
    }
}

/// Capitalised words inside a sentence (not its first word) and code identifiers.
fn names_of(sentence: &str, blanked: &str, lang: Lang) -> Vec<Name> {
    let mut out = Vec::new();
    if let Some(re) = CODE.as_ref() {
        for m in re.find_iter(blanked) {
            let s = m.as_str();
            // Abbreviations ("e.g", "i.e") are not code.
            if s.split('.').all(|p| p.chars().count() <= 1) {
                continue;
            }
            out.push(Name::Code(s.to_string()));
        }
    }
    if lang == Lang::German {
        return out;
    }
    let mut first = true;
    let mut after_colon = false;
    for raw in blanked.split_whitespace() {
        let starts_clause = first || after_colon;
        after_colon = raw.ends_with([':', '"', '“']);
        if raw.trim_matches(|c: char| !c.is_alphanumeric()).is_empty() {
            continue;
        }
        first = false;
        if starts_clause || raw.contains(['.', '_']) {
            continue;
        }
        // "Poisson-distributed", "PCG64": each capitalised part is a name.
        for w in raw.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 2) {
            let Some(c0) = w.chars().next() else { continue };
            if !c0.is_uppercase() || matches!(w, "OK" | "Ok") {
                continue;
            }
            out.push(Name::Word(w.to_string()));
        }
    }
    // Short quoted literals ('w+b', "utf-8") are written as the passage writes them.
    for q in sentence.split(['\'', '"', '`']).skip(1).step_by(2) {
        if !q.is_empty() && q.chars().count() <= 24 && !q.contains(char::is_whitespace) {
            out.push(Name::Code(q.to_string()));
        }
    }
    out
}

// ----- claims -----

/// Courtesy openers: a sentence starting with one (after an interjection) carries no claim.
const COURTESY_OPENERS: &[&str] = &[
    "let me know",
    "feel free to ask",
    "feel free to reach",
    "feel free to contact",
    "feel free to get in touch",
    "hope this helps",
    "hope that helps",
    "i hope this",
    "i hope that",
    "if you have any",
    "if you have other",
    "if you have more",
    "if you have further",
    "is there anything",
    "anything else",
    "don't hesitate",
    "do not hesitate",
    "happy to help",
    "glad to help",
    "i'd be happy",
    "i would be happy",
    "i'm happy to",
    "thank you",
    "thanks",
    "you're welcome",
    "you are welcome",
    "great question",
    "good question",
    "sag mir",
    "lass mich wissen",
    "lassen sie mich wissen",
    "wenn sie weitere fragen",
    "wenn du weitere fragen",
    "ich hoffe",
    "zögern sie nicht",
    "gern geschehen",
    "danke",
    "vielen dank",
    "laat het me weten",
    "laat het ons weten",
    "als je nog vragen",
    "als u nog vragen",
    "ik hoop",
    "graag gedaan",
    "bedankt",
    "dank je",
    "dank u",
    "n'hésitez pas",
    "si vous avez d'autres",
    "si vous avez des questions",
    "j'espère",
    "merci",
    "avec plaisir",
    "no dude",
    "si tiene",
    "si tienes",
    "espero que",
    "gracias",
];
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "dear",
    "welcome",
    "good morning",
    "good afternoon",
    "good evening",
    "hallo",
    "guten tag",
    "goedemiddag",
    "goedemorgen",
    "bonjour",
    "bonsoir",
    "hola",
    "buenos días",
    "moin",
    "servus",
    "salut",
];
/// Words that say nothing checkable on their own.
const COURTESY_WORDS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "welcome",
    "glad",
    "happy",
    "help",
    "helps",
    "hope",
    "great",
    "sure",
    "certainly",
    "course",
    "absolutely",
    "question",
    "questions",
    "pleasure",
    "assist",
    "anything",
    "else",
    "let",
    "know",
    "feel",
    "free",
    "ask",
    "hesitate",
    "hallo",
    "danke",
    "gerne",
    "gern",
    "bitte",
    "bedankt",
    "graag",
    "merci",
    "bonjour",
    "gracias",
    "hola",
    "ok",
    "okay",
    "yes",
    "no",
    "ja",
    "nee",
    "nein",
    "oui",
    "non",
    "sí",
    "great",
    "perfect",
    "noted",
];

fn starts_with_any(lower: &str, list: &[&str]) -> bool {
    list.iter().any(|p| {
        lower.strip_prefix(p).is_some_and(|rest| !rest.chars().next().is_some_and(char::is_alphanumeric))
    })
}

/// Whether a sentence without hard facts carries no claim (see the module docs).
fn no_claim(sentence: &str, lang: Lang) -> bool {
    let s = sentence.trim();
    if s.ends_with(['?', '？', '؟']) {
        return true;
    }
    let lower = s.to_lowercase().replace('’', "'");
    let lower = lower.trim_start_matches(|c: char| !c.is_alphanumeric());
    // An interjection first ("Sure, let me know ...", "Of course! ...").
    let lower = ["sure", "of course", "certainly", "absolutely", "great", "ok", "okay", "yes", "no"]
        .iter()
        .find_map(|i| lower.strip_prefix(i).filter(|r| r.starts_with([',', ' ', '!'])))
        .map_or(lower, |r| r.trim_start_matches([',', ' ', '!']));
    if starts_with_any(lower, COURTESY_OPENERS) {
        return true;
    }
    let words: Vec<String> = lower_words(s, &['\'']).collect();
    if starts_with_any(lower, GREETINGS) && words.len() <= 4 {
        return true;
    }
    words.iter().all(|w| {
        let w = w.trim_matches('\'');
        w.chars().count() < 2
            || lang.is_stopword(w)
            || Lang::English.is_stopword(w)
            || is_chat_word(w)
            || COURTESY_WORDS.contains(&w)
    })
}

/// A list marker sentence ("1.", "2)").
fn is_marker(s: &str) -> bool {
    let t = s.trim().trim_end_matches(['.', ')', ':']);
    !t.is_empty()
        && t.chars().count() <= 3
        && t.chars().all(|c| c.is_ascii_digit() || c.is_alphabetic())
        && s.trim().ends_with(['.', ')'])
        && t.chars().any(|c| c.is_ascii_digit())
}

/// A leading list number ("1. ", "2) ") is not a fact.
fn strip_list_number(s: &str) -> &str {
    let t = s.trim_start();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if (1..=2).contains(&digits) {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return r;
        }
    }
    s
}

/// One claim sentence, analysed.
#[derive(Debug)]
struct Claim {
    /// Index into the answer's sentences.
    index: usize,
    text: String,
    facts: Vec<Fact>,
    names: Vec<Name>,
    terms: HashSet<String>,
}

/// One evidence sentence: its passage and its terms.
#[derive(Debug)]
struct EvidenceSentence {
    passage: usize,
    text: String,
    terms: HashSet<String>,
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
        let mut budget = MAX_CHARS;
        for (pi, p) in passages.iter().enumerate() {
            let text = prefix(p.as_ref(), budget);
            budget = budget.saturating_sub(text.chars().count());
            bag.add(text);
            let plang = passage_langs.get(pi).copied().flatten().unwrap_or(lang);
            for s in split_sentences(text) {
                let mut terms: HashSet<String> = analyse(&s, lang).into_iter().collect();
                if plang != lang {
                    terms.extend(analyse(&s, plang));
                }
                evidence.push(EvidenceSentence { passage: pi, text: s, terms });
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
                claims.push(Claim { index, text: s, facts, names, terms });
            }
        }
        Self { ranges, claims, evidence, bag, cross_language }
    }

    /// The texts to embed for the dense side, in order: every claim sentence, then passage
    /// sentences (at most [`MAX_DENSE_EVIDENCE`]). Pass their vectors, in the same order, to
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
            for e in window {
                union.extend(e.terms.iter().map(String::as_str));
            }
            best = best.max(c.terms.iter().filter(|t| union.contains(t.as_str())).count());
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
        let supported = match (self.cross_language, dense) {
            (true, None) => true,
            (true, Some(d)) => d >= MIXED_MIN,
            (false, None) => lexical >= LEXICAL_MIN,
            (false, Some(d)) => DENSE_WEIGHT * d + (1.0 - DENSE_WEIGHT) * lexical >= MIXED_MIN,
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

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPING: &str = "We ship to the Netherlands, Belgium, Germany, France and the rest of the European Union. Orders placed before 15:00 on a weekday are shipped the same day. Delivery in the Netherlands takes 1 to 2 business days; elsewhere in the EU 3 to 5 business days. Shipping is free for orders over 50 euros; below that it costs 4.95 euros. We do not ship outside the European Union.";
    const CONTACT: &str = "E-mail support@demo-shop.example or call +31 20 123 4567 on weekdays from 9:00 to 17:00. Our store address is Keizersgracht 123, Amsterdam. Docs at https://demo-shop.example/help/returns.";

    fn check(answer: &str, passages: &[&str]) -> GroundingReport {
        GroundingCheck::new::<&str, &str>(answer, passages, &[]).report(None)
    }

    fn verdicts(answer: &str, passages: &[&str]) -> Vec<Verdict> {
        check(answer, passages).sentences.into_iter().map(|s| s.verdict).collect()
    }

    #[test]
    fn numbers_prices_and_times_must_appear_normalised() {
        let ok = [
            "Shipping is free for orders over €50.",
            "Below that, shipping costs EUR 4.95.",
            "Orders placed before 3 pm on a weekday are shipped the same day.",
            "Delivery in the Netherlands takes one to two business days.",
        ];
        for s in ok {
            assert_eq!(verdicts(s, &[SHIPPING]), [Verdict::Supported], "{s}");
        }
        let bad = [
            ("Shipping is free for orders over €40.", "40 EUR"),
            ("Below that, shipping costs 4.95 dollars.", "4.95 USD"),
            ("Orders placed before 5 pm on a weekday are shipped the same day.", "17:00"),
            ("Delivery in the Netherlands takes one to six business days.", "6"),
        ];
        for (s, fact) in bad {
            assert_eq!(
                verdicts(s, &[SHIPPING]),
                [Verdict::Unsupported(Reason::MissingFact(fact.into()))],
                "{s}"
            );
        }
        assert_eq!(readings("1,000"), ["1", "1000"]);
        assert_eq!(readings("1000"), ["1000"]);
        assert_eq!(readings("1.000,50"), ["1000.5"]);
        assert_eq!(readings("4,95"), ["4.95"]);
        assert_eq!(
            verdicts("The limit is 1000 items.", &["The limit is 1,000 items per order."]),
            [Verdict::Supported]
        );
        assert_eq!(
            verdicts("The price is 25 EUR per item.", &["The price is €25 per item."]),
            [Verdict::Supported]
        );
    }

    #[test]
    fn emails_urls_and_phones_must_appear() {
        assert_eq!(
            verdicts("E-mail support@demo-shop.example on weekdays.", &[CONTACT]),
            [Verdict::Supported]
        );
        assert_eq!(
            verdicts("E-mail help@demo-shop.example on weekdays.", &[CONTACT]),
            [Verdict::Unsupported(Reason::MissingFact("help@demo-shop.example".into()))]
        );
        assert_eq!(verdicts("Call 020 123 4567 on weekdays.", &[CONTACT]), [Verdict::Supported]);
        assert!(matches!(
            verdicts("Call +31 20 765 4321 on weekdays.", &[CONTACT])[..],
            [Verdict::Unsupported(Reason::MissingFact(_))]
        ));
        assert_eq!(verdicts("Docs at demo-shop.example/help/returns.", &[CONTACT]), [Verdict::Supported]);
        assert!(matches!(
            verdicts("Docs at https://demo-shop.example/help/refunds.", &[CONTACT])[..],
            [Verdict::Unsupported(Reason::MissingFact(_))]
        ));
    }

    #[test]
    fn sentences_without_a_claim_are_neither() {
        let a = "Hi Jane! We ship to Belgium and Germany. Would you like the tracking link? \
                 Let me know if you have other questions. Hope this helps! Sure.";
        let r = check(a, &[SHIPPING]);
        let v: Vec<&Verdict> = r.sentences.iter().map(|s| &s.verdict).collect();
        assert_eq!(
            v,
            [
                &Verdict::NoClaim,
                &Verdict::Supported,
                &Verdict::NoClaim,
                &Verdict::NoClaim,
                &Verdict::NoClaim,
                &Verdict::NoClaim
            ]
        );
        assert_eq!((r.supported, r.unsupported), (1, 0));
        // A courtesy opener or a question with a hard fact is a claim.
        let r = check(
            "Feel free to ask about returns within 60 days. Did you know shipping is free over €70?",
            &[SHIPPING],
        );
        assert_eq!((r.supported, r.unsupported), (0, 2));
    }

    #[test]
    fn invented_names_and_code_identifiers_are_unsupported() {
        assert!(matches!(
            verdicts("We ship with DHL to the Netherlands.", &[SHIPPING])[..],
            [Verdict::Unsupported(Reason::UnknownName(_))]
        ));
        assert_eq!(verdicts("We ship to the rest of the EU.", &[SHIPPING]), [Verdict::Supported]);
        let doc = "json.dumps(obj) serializes obj to a JSON formatted str.";
        assert_eq!(
            verdicts("`json.dumps()` serializes an object to a JSON formatted str.", &[doc]),
            [Verdict::Supported]
        );
        assert!(matches!(
            verdicts("`json.to_string()` serializes an object to a JSON formatted str.", &[doc])[..],
            [Verdict::Unsupported(Reason::UnknownName(_))]
        ));
    }

    #[test]
    fn low_overlap_is_unsupported_and_paraphrase_is_supported() {
        assert_eq!(
            verdicts("Orders placed before 15:00 on weekdays are shipped that same day.", &[SHIPPING]),
            [Verdict::Supported]
        );
        assert_eq!(
            verdicts("Every parcel is insured against loss and comes in recycled packaging.", &[SHIPPING]),
            [Verdict::Unsupported(Reason::LowSupport)]
        );
    }

    #[test]
    fn strict_text_removes_unsupported_sentences_and_keeps_the_rest_in_order() {
        let a = "We ship to Belgium.\n\n- Shipping costs €9.99.\n- Orders before 15:00 ship the same day.\n\nLet me know if you need more!";
        let r = check(a, &[SHIPPING]);
        assert_eq!((r.supported, r.unsupported), (2, 1));
        assert_eq!(
            strict_text(a, &r),
            "We ship to Belgium.\n\n- Orders before 15:00 ship the same day.\n\nLet me know if you need more!"
        );
        let a = "Shipping costs €9.99. We ship to Belgium.";
        assert_eq!(strict_text(a, &check(a, &[SHIPPING])), "We ship to Belgium.");
        let all = "Shipping costs €9.99.";
        assert_eq!(strict_text(all, &check(all, &[SHIPPING])), "");
    }

    #[test]
    fn german_answers_over_german_passages() {
        let p = "Wir liefern innerhalb Deutschlands in 2 bis 3 Werktagen. Der Versand ist ab 40 Euro Bestellwert kostenlos.";
        assert_eq!(verdicts("Ab 40 € Bestellwert ist der Versand kostenlos.", &[p]), [Verdict::Supported]);
        assert!(matches!(
            verdicts("Ab 30 € Bestellwert ist der Versand kostenlos.", &[p])[..],
            [Verdict::Unsupported(Reason::MissingFact(_))]
        ));
    }

    #[test]
    fn extractive_answers_are_grounded_by_construction() {
        let r = grounded_by_construction("We ship to Belgium. Shipping costs €9.99. Anything else?");
        assert_eq!((r.supported, r.unsupported), (2, 0));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Any Unicode (Arabic, emoji, combining marks, case changes that grow) never panics, and
        /// the strict text is made of the answer's own pieces.
        #[test]
        fn hostile_text_never_panics(
            answer in "(\\PC|[ .!?€$0-9,:@/\\n]|مرحبا بكم. |🙂|K|İ|ẞ){0,120}",
            passage in "(\\PC|[ .!?€$0-9,:@/\\n]|الشحن مجاني. |🚚){0,120}",
        ) {
            let check = GroundingCheck::new(&answer, &[passage.as_str()], &["Demo Shop"]);
            let n = check.dense_texts().len();
            let r = check.report(Some(&vec![vec![0.1, 0.2]; n]));
            proptest::prop_assert_eq!(r.supported + r.unsupported, r.sentences.iter().filter(|s| s.verdict != Verdict::NoClaim).count() as u32);
            for s in &r.sentences {
                proptest::prop_assert!(answer.get(s.range.clone()).is_some());
            }
            let strict = strict_text(&answer, &r);
            proptest::prop_assert!(strict.len() <= answer.len() + 1);
            let _ = grounded_by_construction(&answer);
        }
    }
}
