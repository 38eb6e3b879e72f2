//! What a visitor message is about before anything is retrieved: small talk, contact details,
//! or a real request.

use super::contact::{extract_email, extract_name, extract_phone, phone_candidates};
use super::lower_words;

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
    lower_words(text, &['\'']).collect()
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
    for m in phone_candidates(text) {
        t = t.replace(m, " ");
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

/// Whether the visitor asks to be contacted ("call me", "get in touch", ...).
pub fn asks_for_contact(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
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
    .any(|p| lower.contains(p))
}

/// Whether a message gives any contact detail (name, e-mail, phone) or asks to be contacted:
/// what makes a partner-chat conversation a lead.
pub fn reveals_contact(text: &str) -> bool {
    extract_name(text).is_some()
        || extract_email(text).is_some()
        || extract_phone(text).is_some()
        || asks_for_contact(text)
}

/// A message that mainly gives contact details or asks to be contacted, with no other request.
pub fn is_contact_message(text: &str) -> bool {
    if !reveals_contact(text) {
        return false;
    }
    residue(text).len() <= 2 && !text.contains('?')
}

/// A real request: not small talk and not only contact details.
pub fn is_real_request(text: &str) -> bool {
    !is_small_talk(text) && !is_contact_message(text) && !residue(text).is_empty()
}
