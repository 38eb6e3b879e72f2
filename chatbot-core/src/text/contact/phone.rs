//! Phone numbers.

use std::sync::LazyLock;

use regex::Regex;

use super::{CONTEXT_BEFORE, addresses_the_company, floor_char, lower_after, lower_before, rfind_word};
use crate::text::built_in_regex;

/// A phone-number candidate: optional `+`, `00` or `(`, digits with the usual separators.
static PHONE: LazyLock<Option<Regex>> =
    LazyLock::new(|| built_in_regex(r"(?:\+|\()?\d[\d \t().\-/]{5,24}\d\)?"));

static DATE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(r"^(?:\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4}|\d{4}[./\-]\d{1,2}[./\-]\d{1,2})$")
});

/// Every phone-number-shaped run of `text` (before the context rules of [`extract_phone`]).
pub(in crate::text) fn phone_candidates(text: &str) -> impl Iterator<Item = &str> {
    PHONE.iter().flat_map(move |p| p.find_iter(text)).map(|m| m.as_str())
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
        // Context windows are cut from `text` and lower-cased afterwards (lower-casing can change
        // byte lengths, so offsets of `text` do not fit a lower-cased copy).
        let window = &lower_before(text, s, CONTEXT_BEFORE);
        // 12 lower-cased bytes come from at most 12 characters, i.e. 48 bytes of `text`.
        let after_text = &lower_after(text, s + cand.len(), 48);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert!(PHONE.is_some() && DATE.is_some());
        assert_eq!(extract_phone("call me on +31 6 12345678").as_deref(), Some("+31612345678"));
        assert_eq!(extract_phone("+1 (555) 123-4567").as_deref(), Some("+15551234567"));
        assert_eq!(extract_phone("0031 6 1234 5678").as_deref(), Some("+31612345678"));
        assert_eq!(extract_phone("06-12345678").as_deref(), Some("06-12345678"));
        assert_eq!(extract_phone("order 123456789"), None);
        assert_eq!(extract_phone("on 2024-05-12"), None);
        assert_eq!(extract_phone("budget 450000 - 500000"), None);
    }

    #[test]
    fn case_changes_that_resize_text_do_not_panic() {
        let t = "Bitte zurückrufen: GROẞE Bestellung, Tel. 0612345678—danke";
        assert_eq!(extract_phone(t).as_deref(), Some("0612345678"));
        for t in [
            "\u{212A}\u{212A}\u{212A}\u{212A}\u{212A}\u{212A}\u{212A}\u{212A}\u{212A}\u{212A}\u{212A}\u{212A} call 0612345678",
            "İİİİİİİİİİİİ tel 0612345678 ΩΩΩΩΩΩ",
            "\u{212B}\u{212B}\u{212B} 0612345678 \u{212A}\u{2126}\u{212A}",
        ] {
            let _ = extract_phone(t);
        }
    }
}
