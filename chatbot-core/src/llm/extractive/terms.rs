//! The words the answerer matches: content-word stems (the crate's one stemmer and stopword
//! list, plus chat filler) and the customer-service concepts they belong to.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::text::{is_chat_word, is_stopword, lower_words, stem};

/// Customer-service synonyms: words mapped onto one concept (stemmed when the table is built, so
/// it follows the stemmer).
const SYNONYMS: &[(&str, &str)] = &[
    ("delivery", "ship"),
    ("deliver", "ship"),
    ("dispatch", "ship"),
    ("post", "ship"),
    ("mail", "contact"),
    ("email", "contact"),
    ("phone", "contact"),
    ("telephone", "contact"),
    ("call", "contact"),
    ("reach", "contact"),
    ("price", "cost"),
    ("fee", "cost"),
    ("charge", "cost"),
    ("expense", "cost"),
    ("cheap", "cost"),
    ("hour", "open"),
    ("close", "open"),
    ("refund", "return"),
    ("exchange", "return"),
    ("locate", "address"),
    ("situated", "address"),
    ("buy", "order"),
    ("purchase", "order"),
    ("abroad", "country"),
    ("overseas", "country"),
    ("foreign", "country"),
    ("international", "country"),
    ("european", "country"),
    ("europe", "country"),
    ("worldwide", "country"),
];

/// Stem -> concept, for every word of [`SYNONYMS`] and each concept's own word.
static CONCEPTS: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for &(word, concept) in SYNONYMS {
        map.insert(stem(concept), concept);
        map.insert(stem(word), concept);
    }
    map
});

/// The concept a stem belongs to, if any.
pub(super) fn concept(stem: &str) -> Option<&'static str> {
    CONCEPTS.get(stem).copied()
}

pub(super) fn concepts_of(terms: &HashSet<String>) -> HashSet<&'static str> {
    terms.iter().filter_map(|t| concept(t)).collect()
}

/// The question's terms, plus the concepts some stopword phrases carry ("how much" asks a cost).
pub(super) fn question_terms(question: &str) -> HashSet<String> {
    let mut t = terms(question);
    let lower = question.to_lowercase();
    if ["how much", "how expensive", "what does it cost"].iter().any(|p| lower.contains(p)) {
        t.insert("cost".into());
    }
    t
}

/// Content-word stems of a text (stopwords and chat filler dropped).
pub(super) fn terms(text: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for raw in lower_words(text, &['\'']) {
        let w = raw.trim_matches('\'');
        let w = w.strip_suffix("'s").unwrap_or(w);
        if w.chars().count() < 2 || is_stopword(w) || is_chat_word(w) {
            continue;
        }
        out.insert(stem(w));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_match_word_forms() {
        assert_eq!(stem("shipping"), "ship");
        assert_eq!(stem("shipped"), "ship");
        assert_eq!(stem("ships"), "ship");
        assert_eq!(stem("opening"), "open");
        assert_eq!(stem("deliveries"), stem("delivery"));
        assert_eq!(stem("returns"), "return");
        assert_eq!(stem("calls"), "call");
        assert_eq!(stem("hours"), "hour");
        assert!(terms("What are your opening hours?").contains("open"));
        assert_eq!(concept(&stem("delivery")), Some("ship"));
        assert_eq!(concept("ship"), Some("ship"));
        assert!(question_terms("How much is it?").contains("cost"));
    }
}
