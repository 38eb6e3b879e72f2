//! Contact details a visitor states about themself: offline rules that never invent.
//!
//! - Names only after a self-introduction cue ("I'm", "I am", "my name is", "this is",
//!   "call me", "name:"), 1-3 name-like words, never a word from a stoplist ("I'm looking for",
//!   "call me on +31 ..." give no name).
//! - E-mail addresses by a strict pattern, never inside a URL or a path.
//! - Phone numbers with 8-15 digits in international or national form; dates, prices, years,
//!   postal codes and order numbers are not phones unless phone words introduce them.
//!
//! Contexts ("your", "order", "call me") are read from a window of the original text that is
//! lower-cased on its own, never by slicing a lower-cased copy with offsets of the original.

mod email;
mod name;
mod phone;

pub use email::extract_email;
pub use name::extract_name;
pub use phone::extract_phone;
pub(super) use phone::phone_candidates;

/// Bytes of context read before a contact (cut back to a character boundary).
const CONTEXT_BEFORE: usize = 40;

/// The lower-cased text of up to `max` bytes before byte `end` of `text`.
fn lower_before(text: &str, end: usize, max: usize) -> String {
    let end = floor_char(text, end.min(text.len()));
    text[floor_char(text, end.saturating_sub(max))..end].to_lowercase()
}

/// The lower-cased text of up to `max` bytes from byte `start` of `text` on (only that window is
/// lower-cased, so a long message costs no more per contact).
fn lower_after(text: &str, start: usize, max: usize) -> String {
    let start = floor_char(text, start.min(text.len()));
    text[start..floor_char(text, start.saturating_add(max).min(text.len()))].to_lowercase()
}

/// The contact at `start..end` is the company's, not the visitor's: "your" is the nearest owner
/// before it ("I called your +31 20 ...", "your support@...") or right after it ("is
/// +31 20 123 4567 your number?").
fn addresses_the_company(text: &str, start: usize, end: usize) -> bool {
    let before = lower_before(text, start, CONTEXT_BEFORE);
    let your = rfind_word(&before, "your");
    let mine = ["my", "me", "i'm", "i am", "mine"].iter().filter_map(|w| rfind_word(&before, w)).max();
    if your.is_some_and(|y| mine.is_none_or(|m| y > m)) {
        return true;
    }
    let after = &text[floor_char(text, end.min(text.len()))..];
    after
        .split_whitespace()
        .take(3)
        .any(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase() == "your")
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

/// The largest character boundary of `s` at or below byte `i`.
fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_of_the_original_text_survive_length_changing_case() {
        // "K" (Kelvin sign, 3 bytes) lower-cases to "k" (1 byte); "İ" grows to 3 bytes.
        let t = "\u{212A}\u{212A}\u{212A}\u{212A} İİ your ẞ 0612345678";
        let at = t.find('0').unwrap_or(0);
        assert!(lower_before(t, at, 40).ends_with("your ß "));
        assert!(addresses_the_company(t, at, t.len()));
        // An offset inside a character is floored to its start.
        assert_eq!(lower_after(t, 1, 100), lower_after(t, 0, 100));
        assert_eq!(lower_after(t, 0, 7), "kk");
        assert_eq!(lower_after(t, 3, usize::MAX), lower_after(t, 3, t.len()));
        assert_eq!(rfind_word("kk your", "your"), Some(3));
    }
}
