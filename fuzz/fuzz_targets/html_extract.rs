//! HTML extraction (crawled pages and .html files): bytes -> decoded text -> main text, title,
//! canonical URL, links and sections.
#![no_main]

use chatbot_core::ingest::extract::{decode_text, html_to_text};
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let html = decode_text(data);
    let base = Url::parse("https://example.com/docs/page.html").ok();
    let page = html_to_text(&html, base.as_ref());
    // Links are resolved, http(s) only, fragments removed.
    for l in &page.links {
        assert!(matches!(l.scheme(), "http" | "https"), "{l}");
        assert!(l.fragment().is_none(), "{l}");
    }
    if let Some(c) = &page.canonical {
        assert!(matches!(c.scheme(), "http" | "https"), "{c}");
    }
    assert!(!page.text.contains('\0') || html.contains('\0'));
    // The sections cut the text: together they hold exactly its words.
    let words = page.sections.iter().flat_map(|s| s.text.split_whitespace());
    assert!(words.eq(page.text.split_whitespace()));
    assert!(page.sections.iter().all(|s| s.headings.iter().all(|h| !h.is_empty())));
});
