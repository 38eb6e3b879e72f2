//! Which sentences carry a claim (see the rules in the parent module).

use crate::text::{Lang, is_chat_word, lower_words};

// ----- claims -----

/// Courtesy openers: a sentence starting with one (after an interjection) carries no claim.
pub(super) const COURTESY_OPENERS: &[&str] = &[
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
pub(super) const GREETINGS: &[&str] = &[
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
pub(super) const COURTESY_WORDS: &[&str] = &[
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

pub(super) fn starts_with_any(lower: &str, list: &[&str]) -> bool {
    list.iter().any(|p| {
        lower.strip_prefix(p).is_some_and(|rest| !rest.chars().next().is_some_and(char::is_alphanumeric))
    })
}

/// Whether a sentence without hard facts carries no claim (see the module docs).
pub(super) fn no_claim(sentence: &str, lang: Lang) -> bool {
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
pub(super) fn is_marker(s: &str) -> bool {
    let t = s.trim().trim_end_matches(['.', ')', ':']);
    !t.is_empty()
        && t.chars().count() <= 3
        && t.chars().all(|c| c.is_ascii_digit() || c.is_alphabetic())
        && s.trim().ends_with(['.', ')'])
        && t.chars().any(|c| c.is_ascii_digit())
}

/// A leading list number ("1. ", "2) ") is not a fact.
pub(super) fn strip_list_number(s: &str) -> &str {
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
