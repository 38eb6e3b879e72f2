//! Text analysis, written once for every part that reads what people write: the offline
//! embedder, the extractive answerer, the guards and the lead extractor.
//!
//! - [`lower_words`]: the tokenizer (lower-cased runs of letters and digits);
//! - [`stem`]: the one English stemmer; [`is_stopword`]: the one stopword list (plus
//!   [`is_chat_word`], the chat filler a question adds);
//! - contact details a visitor states about themself ([`extract_name`], [`extract_email`],
//!   [`extract_phone`]) and the intents of a message ([`is_small_talk`], [`is_contact_message`],
//!   [`is_real_request`]).
//!
//! Every input may be any Unicode. Lower-casing can change a text's byte length (`K` U+212A,
//! `ẞ`, `İ` ...), so no function here uses a byte offset found in one string to slice another:
//! a window is cut from the original text first and lower-cased afterwards.

mod contact;
mod intent;
mod stem;
mod stopwords;
mod tokens;

#[cfg(test)]
mod tests;

use regex::Regex;

// Re-exported as `lead::extract::*` (public API), hence `pub`; the module itself is private.
pub use contact::{extract_email, extract_name, extract_phone};
pub use intent::{asks_for_contact, is_contact_message, is_real_request, is_small_talk, reveals_contact};
pub(crate) use stem::stem;
pub(crate) use stopwords::{is_chat_word, is_stopword};
pub(crate) use tokens::{lower_words, normalize_message, strip_plural};

/// The tokens a chunk is indexed under for lexical search: lower-cased words without
/// stopwords, stemmed.
pub(crate) fn index_tokens(text: &str) -> Vec<String> {
    lower_words(text, &[]).filter(|w| !is_stopword(w)).map(|w| stem(&w)).collect()
}

/// The tokens of a search query (analysed as [`index_tokens`] analyses chunks).
pub(crate) fn query_tokens(text: &str) -> Vec<String> {
    index_tokens(text)
}

/// A built-in pattern. The patterns are literals checked by the unit tests; library code may not
/// panic, so a broken pattern (impossible once the tests pass) degrades to "never matches".
pub(crate) fn built_in_regex(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).map_err(|e| tracing::error!(error = %e, pattern, "bad built-in pattern")).ok()
}
