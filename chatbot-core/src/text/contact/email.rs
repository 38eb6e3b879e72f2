//! E-mail addresses.

use std::sync::LazyLock;

use regex::Regex;

use super::{addresses_the_company, lower_before};
use crate::text::built_in_regex;

static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r"(?i)[a-z0-9](?:[a-z0-9._%+\-]{0,62}[a-z0-9_%+\-])?@[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)*\.[a-z]{2,24}",
    )
});

/// The whitespace-separated token around byte range `start..end` of `text`.
fn token_around(text: &str, start: usize, end: usize) -> &str {
    // White space may be wider than one byte (U+2007 is three): step over the character found.
    let s = text[..start]
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
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
            // 7 lower-cased bytes come from at most 7 characters (28 bytes) of the text.
            && !lower_before(text, m.start(), 28).ends_with("mailto:")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(EMAIL.is_some());
        assert_eq!(
            extract_email("mail me at Jane.Doe@Example.COM.").as_deref(),
            Some("Jane.Doe@example.com")
        );
        assert_eq!(extract_email("https://user@host.example/path"), None);
        assert_eq!(extract_email("see example.com/a@b.com"), None);
    }

    #[test]
    fn wide_white_space_before_an_address() {
        // Found by the lead_extract fuzz target: U+2007 (figure space) is three bytes.
        let t = "is +3s +31 tel\u{2126} 20 123 45\u{2007}crmae@example.comexbudget bm06 - 345678";
        assert_eq!(extract_email(t).as_deref(), Some("crmae@example.comexbudget"));
        assert_eq!(
            extract_email("mail\u{2007}jane@example.com\u{3000}ok").as_deref(),
            Some("jane@example.com")
        );
        assert_eq!(token_around("a\u{2007}b@c.de\u{3000}x", 4, 10), "b@c.de");
    }
}
