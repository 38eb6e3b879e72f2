//! robots.txt as the crawler reads it: rules, crawl delay, sitemaps, allowed checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

const URLS: &[&str] = &[
    "https://example.com/",
    "https://example.com/docs/a.html?x=1",
    "https://example.com/%E2%82%AC/ü",
    "https://example.com/private/",
    "https://example.com/a*b$",
];

fuzz_target!(|data: &[u8]| {
    if let Some((delay, sitemaps, allowed)) = chatbot_core::ingest::fuzzing::robots(data, URLS) {
        assert!(delay.is_none_or(|d| d.as_secs_f32() <= 60.0));
        assert_eq!(allowed.len(), URLS.len());
        for s in sitemaps {
            let _ = url::Url::parse(&s);
        }
    }
});
