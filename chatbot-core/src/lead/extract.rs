//! Contact extraction from what the visitor writes: offline rules that never invent.
//!
//! - Names only after a self-introduction cue ("I'm", "I am", "my name is", "this is",
//!   "call me", "name:"), 1-3 name-like words, never a word from a stoplist ("I'm looking for",
//!   "call me on +31 ..." give no name).
//! - E-mail addresses by a strict pattern, never inside a URL or a path.
//! - Phone numbers with 8-15 digits in international or national form; dates, prices, years,
//!   postal codes and order numbers are not phones unless phone words introduce them.
//!
//! Later messages correct earlier ones; `message` keeps the visitor's first real request.

use std::sync::LazyLock;

use regex::Regex;

use crate::lead::{ANONYMOUS, Lead};

/// What one message revealed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contacts {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Contacts {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.email.is_none() && self.phone.is_none()
    }
}

// The patterns are literals checked by the unit tests; library code may not panic, so a broken
// pattern (impossible once the tests pass) degrades to "never matches".
fn re(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).map_err(|e| tracing::error!(error = %e, pattern, "bad built-in pattern")).ok()
}

static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)[a-z0-9](?:[a-z0-9._%+\-]{0,62}[a-z0-9_%+\-])?@[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)*\.[a-z]{2,24}",
    )
});

/// A phone-number candidate: optional `+`, `00` or `(`, digits with the usual separators.
static PHONE: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"(?:\+|\()?\d[\d \t().\-/]{5,24}\d\)?"));

static DATE: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"^(?:\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4}|\d{4}[./\-]\d{1,2}[./\-]\d{1,2})$"));

/// Self-introduction cues. Group 1: the cue, group 2: the rest of the sentence.
static NAME_CUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)(?:^|[^\p{L}'’])(my name is|my name's|my name’s|name is|name:|i am called|i'm called|you can call me|call me|i'm|i’m|im|i am|this is|it's|it is|it’s)\s+(.*)",
    )
});

/// Words that are never (the start of) a name after a cue.
const STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "but",
    "so",
    "not",
    "no",
    "yes",
    "just",
    "also",
    "still",
    "very",
    "really",
    "quite",
    "too",
    "here",
    "there",
    "in",
    "on",
    "at",
    "from",
    "with",
    "for",
    "about",
    "to",
    "by",
    "of",
    "into",
    "back",
    "now",
    "today",
    "tomorrow",
    "tonight",
    "later",
    "soon",
    "asap",
    "anytime",
    "whenever",
    "please",
    "looking",
    "interested",
    "wondering",
    "trying",
    "asking",
    "writing",
    "calling",
    "contacting",
    "reaching",
    "having",
    "going",
    "getting",
    "planning",
    "thinking",
    "hoping",
    "buying",
    "selling",
    "moving",
    "renting",
    "searching",
    "waiting",
    "happy",
    "glad",
    "sure",
    "sorry",
    "fine",
    "good",
    "great",
    "ok",
    "okay",
    "well",
    "afraid",
    "confused",
    "ready",
    "done",
    "available",
    "free",
    "busy",
    "new",
    "curious",
    "unhappy",
    "upset",
    "disappointed",
    "annoyed",
    "excited",
    "pleased",
    "satisfied",
    "concerned",
    "worried",
    "unable",
    "able",
    "customer",
    "client",
    "buyer",
    "seller",
    "owner",
    "agent",
    "realtor",
    "landlord",
    "tenant",
    "student",
    "teacher",
    "member",
    "visitor",
    "user",
    "guest",
    "fan",
    "dutch",
    "english",
    "german",
    "french",
    "belgian",
    "american",
    "british",
    "based",
    "located",
    "living",
    "retired",
    "married",
    "single",
    "currently",
    "actually",
    "definitely",
    "probably",
    "maybe",
    "always",
    "never",
    "only",
    "even",
    "again",
    "right",
    "wrong",
    "correct",
    "it",
    "this",
    "that",
    "these",
    "those",
    "your",
    "my",
    "our",
    "their",
    "his",
    "her",
    "you",
    "me",
    "him",
    "us",
    "them",
    "we",
    "they",
    "i",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "bye",
    "what",
    "who",
    "where",
    "when",
    "why",
    "how",
    "which",
    "is",
    "are",
    "was",
    "be",
    "been",
    "being",
    "do",
    "does",
    "did",
    "can",
    "could",
    "would",
    "should",
    "will",
    "shall",
    "may",
    "might",
    "must",
    "have",
    "has",
    "had",
    "one",
    "someone",
    "somebody",
    "anyone",
    "nobody",
    "everyone",
    "all",
    "some",
    "any",
    "more",
    "less",
    "like",
    "if",
    "because",
    "as",
    "than",
    "then",
    "up",
    "down",
    "out",
    "over",
    "off",
    "after",
    "before",
    "between",
    "via",
    "by",
    "mr",
    "mrs",
    "ms",
    "dr",
    "sir",
    "madam",
    "mister",
    "miss",
    "hungry",
    "tired",
    "bored",
    "fine",
    "late",
    "early",
    "allergic",
    "vegan",
    "pregnant",
    "certain",
    "positive",
    "mobile",
    "phone",
    "email",
    "e-mail",
    "mail",
    "number",
    "whatsapp",
    "telephone",
    "tel",
    "cell",
    "name",
    "called",
    "gonna",
    "wanting",
    "want",
    "need",
    "needing",
    "order",
    "ordering",
    "returning",
    "shipping",
    "tea",
    "mug",
    "teapot",
    "anonymous",
];

fn is_stop(word: &str) -> bool {
    let w = word.to_lowercase();
    STOP.contains(&w.as_str())
}

/// A word that can be part of a name: letters with inner apostrophes or hyphens, no digits.
fn name_like(word: &str) -> bool {
    let mut chars = word.chars();
    let Some(first) = chars.next() else { return false };
    first.is_alphabetic()
        && word.chars().all(|c| c.is_alphabetic() || c == '\'' || c == '’' || c == '-')
        && word.chars().last().is_some_and(char::is_alphabetic)
        && word.chars().count() <= 30
}

fn capitalised(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

fn title_case(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut up = true;
    for c in word.chars() {
        if up {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        up = c == '-' || c == '\'' || c == '’';
    }
    out
}

/// Name after a self-introduction cue (the last one in the message wins).
pub fn extract_name(text: &str) -> Option<String> {
    let cue_re = NAME_CUE.as_ref()?;
    let mut found = None;
    let mut rest = text;
    while let Some(caps) = cue_re.captures(rest) {
        let (Some(cue), Some(tail)) = (caps.get(1), caps.get(2)) else { break };
        let cue_text = cue.as_str().to_lowercase();
        let strong = matches!(
            cue_text.as_str(),
            "my name is" | "my name's" | "my name’s" | "name is" | "name:" | "i am called" | "i'm called"
        ) || cue_text.ends_with("call me");
        // "this is" / "it's" only introduce a name at the start of a sentence.
        let sentence_start = {
            let before = rest[..cue.start()].trim_end();
            before.is_empty()
                || before.ends_with(['.', '!', '?', ',', ';', ':', '\n', '-'])
                || before.to_lowercase().ends_with("hi")
                || before.to_lowercase().ends_with("hello")
                || before.to_lowercase().ends_with("hey")
        };
        let weak_needs_start = matches!(cue_text.as_str(), "this is" | "it's" | "it is" | "it’s");
        if !weak_needs_start || sentence_start {
            found = name_after_cue(tail.as_str(), strong).or(found);
        }
        rest = &rest[cue.end()..];
    }
    found
}

fn name_after_cue(tail: &str, strong: bool) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    for raw in tail.split_whitespace() {
        let ends_clause = raw.ends_with([',', '.', '!', '?', ';', ':', ')']);
        let w = raw.trim_matches(|c: char| !c.is_alphabetic());
        let clean = raw.trim_end_matches([',', '.', '!', '?', ';', ':', ')', '"']);
        if clean != w || !name_like(w) || is_stop(w) {
            break;
        }
        // Every word capitalised, unless the cue is explicit ("my name is jane doe").
        if !capitalised(w) && !strong {
            break;
        }
        if !capitalised(w) && w.chars().all(char::is_uppercase) {
            break;
        }
        words.push(if capitalised(w) { w.to_string() } else { title_case(w) });
        if words.len() == 3 || ends_clause {
            break;
        }
    }
    if words.is_empty() {
        return None;
    }
    // A single shouted word ("I'm OK", "this is URGENT") is not a name.
    if words.len() == 1 && words[0].chars().count() > 1 && words[0].chars().all(char::is_uppercase) {
        return None;
    }
    if words[0].chars().count() < 2 {
        return None;
    }
    Some(words.join(" "))
}

/// The whitespace-separated token around byte range `start..end` of `text`.
fn token_around(text: &str, start: usize, end: usize) -> &str {
    let s = text[..start].rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let e = text[end..].find(char::is_whitespace).map_or(text.len(), |i| end + i);
    &text[s..e]
}

/// The first e-mail address that is not part of a URL or path.
pub fn extract_email(text: &str) -> Option<String> {
    for m in EMAIL.as_ref()?.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        // Part of a longer word or address (`a@b.com@c`, `x.a@b.c`): not an address on its own.
        if before.is_some_and(|c| c.is_alphanumeric() || "._%+-@/\\=&?#:".contains(c))
            && !text[..m.start()].to_lowercase().ends_with("mailto:")
        {
            continue;
        }
        if after.is_some_and(|c| c.is_alphanumeric() || "@/\\=&_%+".contains(c)) {
            continue;
        }
        if after == Some('-') {
            continue;
        }
        let tok = token_around(text, m.start(), m.end()).to_lowercase();
        if tok.contains("://") || tok.starts_with("www.") || tok.contains('/') || tok.contains('\\') {
            continue;
        }
        let mut addr = m.as_str().to_string();
        while addr.ends_with('.') {
            addr.pop();
        }
        let (local, domain) = addr.split_once('@')?;
        if local.contains("..") || domain.contains("..") {
            continue;
        }
        if addresses_the_company(text, m.start(), m.end()) {
            continue;
        }
        return Some(format!("{local}@{}", domain.to_lowercase()));
    }
    None
}

const PHONE_WORDS: &[&str] = &[
    "phone",
    "call",
    "tel",
    "telephone",
    "mobile",
    "cell",
    "whatsapp",
    "ring",
    "reach me",
    "text me",
    "sms",
    "bel",
    "landline",
    "number is",
    "my number",
    "nummer",
];
const NOT_PHONE_WORDS: &[&str] = &[
    "order",
    "invoice",
    "tracking",
    "track",
    "ref",
    "reference",
    "ticket",
    "account",
    "iban",
    "customer",
    "postcode",
    "postal",
    "zip",
    "kvk",
    "vat",
    "btw",
    "article",
    "sku",
    "item",
    "serial",
    "case",
    "parcel",
    "package",
    "shipment",
    "code",
    "id",
    "isbn",
    "card",
    "booking",
    "confirmation",
    "receipt",
    "€",
    "$",
    "eur",
    "euro",
    "usd",
    "budget",
    "price",
    "cost",
    "£",
];

/// A phone number the visitor gave, normalised: E.164 (`+31612345678`) when it starts with `+`
/// or `00`, otherwise as typed (trimmed, spaces collapsed).
pub fn extract_phone(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let date = DATE.as_ref()?;
    for m in PHONE.as_ref()?.find_iter(text) {
        let mut s = m.start();
        let mut cand = m.as_str();
        // Balance parentheses at the edges.
        if cand.ends_with(')') && cand.matches('(').count() < cand.matches(')').count() {
            cand = &cand[..cand.len() - 1];
        }
        if cand.starts_with('(') && !cand.contains(')') {
            cand = &cand[1..];
            s += 1;
        }
        let cand = cand.trim_end_matches(['-', '.', '/', ' ', '(']);
        let before = text[..s].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || "€$£#@_/:.,".contains(c)) {
            continue;
        }
        let after = text[s + cand.len()..].chars().next();
        if after.is_some_and(|c| c.is_alphanumeric() || "€%@_".contains(c)) {
            continue;
        }
        let digits: String = cand.chars().filter(char::is_ascii_digit).collect();
        if !(8..=15).contains(&digits.len()) {
            continue;
        }
        if date.is_match(cand.trim()) {
            continue;
        }
        // Times and ranges such as "9:00-17:00" never reach here (':' splits them); a plain
        // range like "450000 - 500000" fails the shape test below.
        let window_start = floor_char(&lower, s.saturating_sub(40));
        let window = &lower[window_start..s];
        let after_text = &lower[(s + cand.len()).min(lower.len())..];
        let after_window = &after_text[..floor_char(after_text, after_text.len().min(12))];
        let phone_ctx = PHONE_WORDS.iter().any(|w| rfind_word(window, w).is_some());
        let other_ctx = NOT_PHONE_WORDS.iter().any(|w| {
            // The nearest context wins: a phone word after an order word ("order question, call me on").
            // ("my order number is ..." stays an order number: generic "number" words do not count).
            rfind_word(window, w).is_some_and(|i| {
                PHONE_WORDS[..PHONE_WORDS.len() - 3]
                    .iter()
                    .all(|p| rfind_word(window, p).is_none_or(|j| j < i))
            })
        }) || ["euro", "eur", "usd", "dollar", "%", "k ", "m2", "sq"]
            .iter()
            .any(|w| after_window.trim_start().starts_with(w));
        if other_ctx {
            continue;
        }
        let t = cand.trim();
        let international = t.starts_with('+') || t.starts_with("00") || t.starts_with("(+");
        let national = t.starts_with('0') || t.starts_with("(0");
        let separated = t.contains([' ', '-', '(', '.']);
        // Without phone words, only number shapes that look like phone numbers.
        if !phone_ctx && !(international || (national && (separated || digits.len() == 10))) {
            continue;
        }
        // Runs of many separators ("1 - 2 - 3") or a range of two plain numbers are not phones.
        if t.contains(" - ") && !international && !phone_ctx {
            continue;
        }
        if addresses_the_company(text, s, s + cand.len()) {
            continue;
        }
        if international {
            let d = digits.strip_prefix("00").filter(|_| !t.starts_with('+')).unwrap_or(&digits);
            // "+31 (0)6 ..." writes a trunk zero that E.164 drops.
            let d = if t.contains("(0)") { d.replacen("0", "", 1) } else { d.to_string() };
            if d.len() < 8 || d.starts_with('0') {
                continue;
            }
            return Some(format!("+{d}"));
        }
        return Some(t.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    None
}

/// The contact at `start..end` is the company's, not the visitor's: "your" is the nearest owner
/// before it ("I called your +31 20 ...", "your support@...") or right after it ("is
/// +31 20 123 4567 your number?").
fn addresses_the_company(text: &str, start: usize, end: usize) -> bool {
    let lower = text.to_lowercase();
    let before = &lower[floor_char(&lower, start.saturating_sub(40))..start];
    let your = rfind_word(before, "your");
    let mine = ["my", "me", "i'm", "i am", "mine"].iter().filter_map(|w| rfind_word(before, w)).max();
    if your.is_some_and(|y| mine.is_none_or(|m| y > m)) {
        return true;
    }
    let after: Vec<&str> = lower[end.min(lower.len())..].split_whitespace().take(3).collect();
    after.iter().any(|w| w.trim_matches(|c: char| !c.is_alphanumeric()) == "your")
}

/// The last occurrence of `word` in `hay` as a whole word (symbols like `€` match anywhere).
fn rfind_word(hay: &str, word: &str) -> Option<usize> {
    let symbol = !word.chars().any(char::is_alphanumeric);
    let mut end = hay.len();
    while let Some(i) = hay[..end].rfind(word) {
        let before_ok = symbol || !hay[..i].chars().next_back().is_some_and(char::is_alphanumeric);
        let after_ok = symbol || !hay[i + word.len()..].chars().next().is_some_and(char::is_alphanumeric);
        if before_ok && after_ok {
            return Some(i);
        }
        end = i;
    }
    None
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Extract a name, e-mail and phone the visitor stated about themself. Never invents.
pub fn extract_contacts(text: &str) -> Contacts {
    Contacts { name: extract_name(text), email: extract_email(text), phone: extract_phone(text) }
}

const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "howdy",
    "yo",
    "hallo",
    "hoi",
    "goedemorgen",
    "good morning",
    "good afternoon",
    "good evening",
    "good day",
    "morning",
    "evening",
    "thanks",
    "thank you",
    "thx",
    "ty",
    "cheers",
    "bye",
    "goodbye",
    "see you",
    "ok",
    "okay",
    "great",
    "cool",
    "nice",
    "perfect",
    "awesome",
    "sure",
    "yes",
    "no",
    "yep",
    "nope",
    "how are you",
    "how are you doing",
    "how's it going",
    "what's up",
    "nice to meet you",
    "you too",
    "have a nice day",
    "thanks a lot",
    "thank you very much",
    "many thanks",
    "much appreciated",
    "good night",
    "alright",
    "got it",
    "understood",
    "lovely",
    "thanks so much",
    "excellent",
    "wonderful",
    "hi there",
    "hello there",
    "hey there",
    "greetings",
];

/// Words that carry no request on their own (greeting filler, politeness).
const FILLER: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "there",
    "thanks",
    "thank",
    "you",
    "so",
    "much",
    "very",
    "ok",
    "okay",
    "good",
    "morning",
    "afternoon",
    "evening",
    "and",
    "a",
    "lot",
    "again",
    "please",
    "great",
    "cool",
    "dear",
    "team",
    "all",
    "guys",
    "folks",
    "everyone",
    "bot",
    "assistant",
    "how",
    "are",
    "doing",
    "today",
    "nice",
    "to",
    "meet",
    "sure",
    "yes",
    "no",
    "bye",
    "cheers",
    "appreciated",
    "many",
    "well",
    "oh",
    "ah",
    "hmm",
    "right",
    "alright",
    "perfect",
    "awesome",
    "lovely",
    "wonderful",
    "excellent",
    "it's",
    "going",
];

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A greeting, thanks or small talk with no request in it ("hi", "thanks!", "good morning").
pub fn is_small_talk(text: &str) -> bool {
    let t = text.trim().trim_end_matches(['!', '.', '?', ' ', ':', ')', '(']).to_lowercase();
    let t = t.trim_end_matches([',', ' ']);
    if t.is_empty() {
        return true;
    }
    if GREETINGS.contains(&t) {
        return true;
    }
    let words = words_of(t);
    !words.is_empty() && words.len() <= 8 && words.iter().all(|w| FILLER.contains(&w.as_str()))
}

/// What remains of a message once greetings, self-introduction and contact details are removed.
fn residue(text: &str) -> Vec<String> {
    let mut t = text.to_string();
    if let Some(e) = extract_email(text) {
        t = t.replace(&e, " ");
        t = t.replace(&e.to_lowercase(), " ");
    }
    for m in PHONE.iter().flat_map(|p| p.find_iter(text)) {
        t = t.replace(m.as_str(), " ");
    }
    if let Some(n) = extract_name(text) {
        t = t.replace(&n, " ");
    }
    const CONTACT_WORDS: &[&str] = &[
        "my",
        "name",
        "is",
        "i'm",
        "im",
        "i",
        "am",
        "this",
        "call",
        "me",
        "on",
        "at",
        "email",
        "e",
        "mail",
        "address",
        "phone",
        "number",
        "mobile",
        "tel",
        "telephone",
        "or",
        "via",
        "and",
        "it's",
        "sorry",
        "actually",
        "correction",
        "typo",
        "the",
        "correct",
        "one",
        "you",
        "can",
        "reach",
        "contact",
        "whatsapp",
        "please",
        "back",
        "get",
        "in",
        "touch",
        "with",
        "by",
        "should",
        "be",
        "not",
        "new",
        "a",
        "number's",
        "email's",
        "that",
        "was",
        "wrong",
        "meant",
        "to",
        "s",
        "here",
        "it",
    ];
    words_of(&t)
        .into_iter()
        .filter(|w| !FILLER.contains(&w.as_str()) && !CONTACT_WORDS.contains(&w.as_str()))
        .collect()
}

/// A message that mainly gives contact details or asks to be contacted, with no other request.
pub fn is_contact_message(text: &str) -> bool {
    let c = extract_contacts(text);
    let lower = text.to_lowercase();
    let asks_contact = [
        "call me",
        "contact me",
        "reach me",
        "email me",
        "e-mail me",
        "mail me",
        "get back to me",
        "call back",
        "callback",
        "phone me",
        "text me",
        "get in touch",
        "reach out to me",
        "ring me",
    ]
    .iter()
    .any(|p| lower.contains(p));
    if c.is_empty() && !asks_contact {
        return false;
    }
    residue(text).len() <= 2 && !text.contains('?')
}

/// A real request: not small talk and not only contact details.
pub fn is_real_request(text: &str) -> bool {
    !is_small_talk(text) && !is_contact_message(text) && !residue(text).is_empty()
}

static ORDER_NO: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"(?i)\border(?:\s*(?:number|no\.?|nr\.?|#|id))?\s*(?:is|:)?\s*#?\s*([A-Z]{0,4}-?\d[\dA-Z\-]{3,19})\b")
});
static BUDGET: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)\bbudget\b[^\d€$£]{0,20}([€$£]\s?\d[\d.,]*\s?(?:k|m|million|thousand)?|\d[\d.,]*\s?(?:k|m|million|thousand)?(?:\s?(?:euros?|eur|dollars?|usd|pounds?|gbp))?)",
    )
});

/// Profile fields the rules can read without a model (what the visitor literally wrote).
pub fn extract_profile(text: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    if let Some(c) = ORDER_NO.as_ref().and_then(|r| r.captures(text)).and_then(|c| c.get(1)) {
        out.insert("order_number".into(), c.as_str().into());
    }
    if let Some(c) = BUDGET.as_ref().and_then(|r| r.captures(text)).and_then(|c| c.get(1)) {
        out.insert("budget".into(), c.as_str().trim().into());
    }
    let lower = text.to_lowercase();
    let buying =
        ["want to buy", "looking to buy", "looking for a house", "buy a house", "buy a home", "buying"]
            .iter()
            .any(|p| lower.contains(p));
    let selling =
        ["want to sell", "looking to sell", "sell my", "selling my"].iter().any(|p| lower.contains(p));
    match (buying, selling) {
        (true, false) => {
            out.insert("buying_or_selling".into(), "buying".into());
        }
        (false, true) => {
            out.insert("buying_or_selling".into(), "selling".into());
        }
        _ => {}
    }
    out
}

/// What applying a visitor message to a lead changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeadUpdate {
    pub changed: bool,
    pub became_ready: bool,
}

/// Apply a visitor message to the lead: contacts (later ones correct earlier ones), the first
/// real request into `message`, profile fields the rules can read, readiness.
pub fn apply_message(lead: &mut Lead, text: &str) -> LeadUpdate {
    let c = extract_contacts(text);
    let profile = extract_profile(text);
    apply_extracted(lead, text, &c, &profile)
}

/// Apply contacts and profile fields found by any extractor (rules or a model). Only non-empty
/// values overwrite; readiness follows [`Lead::compute_ready`].
pub fn apply_extracted(
    lead: &mut Lead,
    text: &str,
    c: &Contacts,
    profile: &serde_json::Map<String, serde_json::Value>,
) -> LeadUpdate {
    let before = lead.is_lead_ready;
    let mut changed = false;
    let mut set = |field: &mut String, v: &Option<String>| {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty() && field != v) {
            *field = v.to_string();
            changed = true;
        }
    };
    set(&mut lead.name, &c.name);
    set(&mut lead.email, &c.email);
    set(&mut lead.phone, &c.phone);
    for (k, v) in profile {
        let empty = v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty());
        if !empty && lead.profile.get(k) != Some(v) {
            lead.profile.insert(k.clone(), v.clone());
            changed = true;
        }
    }
    if lead.message.is_empty() && is_real_request(text) {
        lead.message = text.trim().to_string();
        changed = true;
    }
    lead.is_lead_ready = lead.compute_ready();
    LeadUpdate {
        changed: changed || before != lead.is_lead_ready,
        became_ready: !before && lead.is_lead_ready,
    }
}

fn shorten(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a).to_string();
    format!("{cut}…")
}

/// A short profile of the lead built from its fields (the offline AI summary).
pub fn offline_summary(lead: &Lead) -> String {
    let who = if lead.name == ANONYMOUS || lead.name.trim().is_empty() {
        "Anonymous visitor".to_string()
    } else {
        lead.name.clone()
    };
    let contacts: Vec<&str> =
        [lead.email.as_str(), lead.phone.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
    let mut out = if contacts.is_empty() {
        format!("{who} (no contact details yet).")
    } else {
        format!("{who} ({}).", contacts.join(", "))
    };
    if !lead.message.is_empty() {
        out.push_str(&format!(" Asked: \"{}\".", shorten(&lead.message, 160)));
    }
    let fields: Vec<String> = lead
        .profile
        .iter()
        .filter_map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) if !s.trim().is_empty() => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some(format!("{}: {}", k.replace('_', " "), shorten(&v, 60)))
        })
        .collect();
    if !fields.is_empty() {
        out.push_str(&format!(" {}.", fields.join("; ")));
    }
    let visitor_msgs = lead.messages.iter().filter(|m| m.role == crate::conversation::Role::User).count();
    if visitor_msgs > 0 {
        out.push_str(&format!(" {visitor_msgs} visitor messages so far."));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        for p in [&*EMAIL, &*PHONE, &*DATE, &*NAME_CUE, &*ORDER_NO, &*BUDGET] {
            assert!(p.is_some());
        }
    }

    #[test]
    fn names() {
        assert_eq!(extract_name("Hi, I'm Jane").as_deref(), Some("Jane"));
        assert_eq!(extract_name("my name is jane doe").as_deref(), Some("Jane Doe"));
        assert_eq!(extract_name("I am Jan-Willem van Dijk, from Utrecht").as_deref(), Some("Jan-Willem"));
        assert_eq!(extract_name("I'm looking for a teapot"), None);
        assert_eq!(extract_name("I'm interested in mugs"), None);
        assert_eq!(extract_name("call me on +31 6 12345678"), None);
        assert_eq!(extract_name("This is Peter from Acme.").as_deref(), Some("Peter"));
        assert_eq!(extract_name("I think this is Great"), None);
        assert_eq!(extract_name("I'm OK thanks"), None);
    }

    #[test]
    fn emails() {
        assert_eq!(
            extract_email("mail me at Jane.Doe@Example.COM.").as_deref(),
            Some("Jane.Doe@example.com")
        );
        assert_eq!(extract_email("https://user@host.example/path"), None);
        assert_eq!(extract_email("see example.com/a@b.com"), None);
    }

    #[test]
    fn phones() {
        assert_eq!(extract_phone("call me on +31 6 12345678").as_deref(), Some("+31612345678"));
        assert_eq!(extract_phone("+1 (555) 123-4567").as_deref(), Some("+15551234567"));
        assert_eq!(extract_phone("0031 6 1234 5678").as_deref(), Some("+31612345678"));
        assert_eq!(extract_phone("06-12345678").as_deref(), Some("06-12345678"));
        assert_eq!(extract_phone("order 123456789"), None);
        assert_eq!(extract_phone("on 2024-05-12"), None);
        assert_eq!(extract_phone("budget 450000 - 500000"), None);
    }
}
