//! Hard facts (numbers, prices, times, e-mail addresses, URLs, phone numbers) and names (code
//! identifiers, capitalised words, quoted literals): read from a text, normalised, and looked up
//! in the evidence.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::MAX_CHARS;
use crate::text::{Lang, built_in_regex, lower_words};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Fact {
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

impl Fact {
    /// A price, time, e-mail address, URL or phone number (a bare number is not specific).
    pub(super) fn is_specific(&self) -> bool {
        !matches!(self, Fact::Number(_))
    }
}

/// The facts and names of the evidence, for look-ups.
#[derive(Debug, Default)]
pub(super) struct FactBag {
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
    pub(super) fn add(&mut self, text: &str) {
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

    pub(super) fn has(&self, f: &Fact) -> bool {
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
    /// Whether the evidence uses an absolute word of the same group as `w`.
    pub(super) fn says_absolute(&self, w: &str) -> bool {
        ABSOLUTES.iter().filter(|g| g.contains(&w)).flat_map(|g| g.iter()).any(|x| self.words.contains(*x))
    }

    pub(super) fn mentions(&self, name: &Name) -> bool {
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

pub(super) fn tail(s: &str, n: usize) -> &str {
    let start = s.char_indices().rev().nth(n.saturating_sub(1)).map_or(0, |(i, _)| i);
    &s[start..]
}

/// `needle` in `hay` with no letter, digit, `-` or `_` right before or after it.
pub(super) fn contains_bounded(hay: &str, needle: &str) -> bool {
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

pub(super) fn prefix(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// A name a sentence mentions.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Name {
    Word(String),
    Code(String),
}

// ----- fact extraction -----

pub(super) static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| built_in_regex(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"));
pub(super) static URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r#"(?i)\b(?:https?://|www\.)[^\s<>()\[\]"'`]+|\b[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.(?:com|org|net|io|dev|example|nl|de|fr|be|eu|uk|info|app|ai)\b(?:/[^\s<>()\[\]"'`]*)?"#,
    )
});
/// An amount and its currency, either order.
pub(super) static PRICE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r"(?i)(?P<c1>€|\$|£|¥|₹|\beur\b|\busd\b|\bgbp\b|\bchf\b)\s?(?P<n1>\d+(?:[.,]\d+)*(?:,-)?)|(?P<n2>\d+(?:[.,]\d+)*)(?:,-)?\s?(?P<c2>€|\$|£|¥|₹|eur\b|usd\b|gbp\b|chf\b|euros?\b|dollars?\b|pounds?\b|francs?\b)",
    )
});
/// 12-hour times ("3 pm", "3:30 p.m.") and 24-hour ones ("15:00").
pub(super) static TIME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r"(?i)\b(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s?(?P<ap>a\.?m\b\.?|p\.?m\b\.?)|\b(?P<h24>\d{1,2})[:.](?P<m24>\d{2})\s?(?:uur|uhr|h\b)?",
    )
});
pub(super) static NUMBER: LazyLock<Option<Regex>> = LazyLock::new(|| built_in_regex(r"\d+(?:[.,]\d+)*"));
/// Dotted names (`os.path.join`), names with an underscore (`__init__`, `max_tokens`), calls (`len()`).
pub(super) static CODE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r"\b[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+(?:\(\))?|\b_*[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*\b(?:\(\))?|\b[A-Za-z_][A-Za-z0-9_]*\(\)",
    )
});

pub(super) fn currency(c: &str) -> &'static str {
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
pub(super) fn canonical(int: &str, frac: &str) -> String {
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") }
}

/// The readings of a number as written: "1,000" is 1000 (or 1.0), "4,95" is 4.95, "1.000,50"
/// is 1000.5, "3.11.2" is itself.
pub(super) fn readings(n: &str) -> Vec<String> {
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

/// Number words counted on the evidence side only, besides the words for "one"
/// (`text::ONE_WORDS`): a passage's "a single table" or "a dozen" supports a claimed 1 or 12, while
/// an answer's "one of our mugs" is no claim of a count.
const EVIDENCE_NUMBER_WORDS: &[(&str, u32)] = &[
    ("single", 1),
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

/// The value of a number word: cardinals from two up on both sides (`text::number_word`), the
/// words for "one" and [`EVIDENCE_NUMBER_WORDS`] on the evidence side only.
pub(super) fn word_value(w: &str, evidence: bool) -> Option<u32> {
    crate::text::number_word(w).or_else(|| {
        if !evidence {
            return None;
        }
        if crate::text::ONE_WORDS.contains(&w) {
            return Some(1);
        }
        EVIDENCE_NUMBER_WORDS.iter().find(|(word, _)| *word == w).map(|&(_, v)| v)
    })
}

/// Phone numbers: 8 or more digits with separators, starting with `+`, `(` or `0`, or 9 or more
/// digits without decimal marks. Returns (byte range, digits).
pub(super) fn phones(text: &str) -> Vec<(Range<usize>, String)> {
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
pub(super) fn facts_of(text: &str, evidence: bool) -> (Vec<Fact>, String) {
    let (facts, blanked) = located_facts(text, evidence);
    (facts.into_iter().map(|(f, _)| f).collect(), blanked)
}

/// A fact and its byte range in the text it was read from (none for a number word).
pub(super) type Located = (Fact, Option<Range<usize>>);

/// [`facts_of`] with each fact's byte range in `text`.
pub(super) fn located_facts(text: &str, evidence: bool) -> (Vec<Located>, String) {
    let mut facts = Vec::new();
    // Byte ranges taken by a fact (later patterns skip them).
    let mut taken: Vec<Range<usize>> = Vec::new();
    let free =
        |taken: &[Range<usize>], r: &Range<usize>| !taken.iter().any(|t| t.start < r.end && r.start < t.end);
    if let Some(re) = EMAIL.as_ref() {
        for m in re.find_iter(text) {
            facts.push((Fact::Email(m.as_str().to_lowercase()), Some(m.range())));
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
                facts.push((Fact::Url(l), Some(m.range())));
            }
            taken.push(m.range());
        }
    }
    for (r, digits) in phones(text) {
        if free(&taken, &r) {
            facts.push((Fact::Phone(digits), Some(r.clone())));
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
            facts.push((Fact::Price(readings(n.as_str()), currency(cur.as_str())), Some(m.range())));
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
            facts.push((Fact::Time(minutes), Some(m.range())));
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
            facts.push((Fact::Number(readings(s)), Some(m.range())));
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
        if let Some(v) = word_value(&w, evidence) {
            facts.push((Fact::Number(vec![v.to_string()]), None));
        }
    }
    (facts, blanked)
}

pub(super) fn fact_text(f: &Fact) -> String {
    match f {
        Fact::Number(v) => v.first().cloned().unwrap_or_default(),
        Fact::Price(v, c) => format!("{} {c}", v.first().cloned().unwrap_or_default()),
        Fact::Time(t) => t.first().map(|m| format!("{:02}:{:02}", m / 60, m % 60)).unwrap_or_default(),
        Fact::Email(s) | Fact::Url(s) | Fact::Phone(s) => s.clone(),
    }
}

/// Capitalised words inside a sentence (not its first word) and code identifiers.
pub(super) fn names_of(sentence: &str, blanked: &str, lang: Lang) -> Vec<Name> {
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
        // A dot or underscore inside the word makes it code (checked above); one at its end ends the
        // sentence.
        if starts_clause || raw.trim_end_matches(|c: char| !c.is_alphanumeric()).contains(['.', '_']) {
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

/// Absolute words, in groups of equivalents: a claim using one needs a passage using one of its
/// group ("always" is not "often"; "automatically" may be written "automatic").
const ABSOLUTES: &[&[&str]] = &[
    &["always"],
    &["never"],
    &["automatically", "automatic"],
    &["guarantee", "guarantees", "guaranteed"],
    &["immer"],
    &["nie", "niemals"],
    &["automatisch"],
    &["altijd"],
    &["nooit"],
    &["toujours"],
    &["jamais"],
    &["automatiquement", "automatique"],
    &["siempre"],
    &["nunca"],
    &["automáticamente", "automático"],
];

/// The absolute words of a sentence, lower-cased.
pub(super) fn absolutes_of(sentence: &str) -> Vec<String> {
    lower_words(sentence, &[]).filter(|w| ABSOLUTES.iter().any(|g| g.contains(&w.as_str()))).collect()
}
