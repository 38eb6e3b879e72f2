//! Text analysis, written once for every part that reads what people write: the offline
//! embedder, the extractive answerer, the guards and the lead extractor.
//!
//! - [`lower_words`]: the tokenizer (lower-cased runs of letters and digits);
//! - [`Lang`]: the supported languages, [`detect`] (whatlang and function words), each
//!   language's Snowball stemmer and stopword list (English's is [`is_stopword`]'s list);
//! - [`stem`]: the light English stemmer of the extractive answerer; [`is_chat_word`], the chat
//!   filler a question adds;
//! - [`index_tokens`] / [`query_tokens`]: the analysis behind lexical search (a chunk in its
//!   language, a query in its language and English);
//! - [`fixed_text`]: the engine's own fixed texts (refusal, "could not find that", contact
//!   requests...) in the visitor's language, one table;
//! - contact details a visitor states about themself ([`extract_name`], [`extract_email`],
//!   [`extract_phone`]) and the intents of a message ([`is_small_talk`], [`is_contact_message`],
//!   [`is_real_request`]).
//!
//! Every input may be any Unicode. Lower-casing can change a text's byte length (`K` U+212A,
//! `ẞ`, `İ` ...), so no function here uses a byte offset found in one string to slice another:
//! a window is cut from the original text first and lower-cased afterwards.

mod analyze;
mod contact;
mod fixed;
mod intent;
mod lang;
mod numbers;
mod stem;
mod stopwords;
mod tokens;

#[cfg(test)]
mod lang_tests;
#[cfg(test)]
mod tests;

use regex::Regex;

// Re-exported as `lead::extract::*` (public API), hence `pub`; the module itself is private.
pub(crate) use analyze::{analyse, index_tokens, query_language, query_tokens, query_word_tokens};
pub use contact::{extract_email, extract_name, extract_phone};
pub(crate) use fixed::{FixedText, fixed_text, profile_ask};
pub use intent::{asks_for_contact, is_contact_message, is_real_request, is_small_talk, reveals_contact};
pub use lang::{Lang, detect};
pub(crate) use numbers::{ONE_WORDS, number_word, number_words_pattern};
pub(crate) use stem::stem;
pub(crate) use stopwords::{is_chat_word, is_stopword};
pub(crate) use tokens::{lower_words, normalize_message, strip_plural};

/// A built-in pattern. The patterns are literals checked by the unit tests; library code may not
/// panic, so a broken pattern (impossible once the tests pass) degrades to "never matches".
pub(crate) fn built_in_regex(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).map_err(|e| tracing::error!(error = %e, pattern, "bad built-in pattern")).ok()
}
