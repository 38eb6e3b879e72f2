//! Sitemaps and sitemap indexes: `<loc>` entries.
#![no_main]

use chatbot_core::ingest::crawl::parse_sitemap;
use chatbot_core::ingest::extract::decode_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let xml = decode_text(data);
    let (_, locs) = parse_sitemap(&xml);
    // Every entry comes from one `<loc>` element (tags matched in any case): never more
    // entries than closing tags.
    assert!(locs.len() <= xml.to_ascii_lowercase().matches("loc>").count());
    for l in &locs {
        assert!(l.len() <= xml.len());
        let _ = url::Url::parse(l);
    }
});
