//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): internal parsers that have
//! no public API of their own. Not part of the API; it may change with any release.

/// The PDF fallback extractor (lopdf's own text extraction), without the `catch_unwind` the
/// pipeline wraps it in.
#[cfg(feature = "pdf")]
pub fn lopdf_text(bytes: &[u8]) -> Result<String, String> {
    crate::ingest::extract::lopdf_text(bytes)
}

/// robots.txt as the crawler reads it: the parsed rules, the crawl delay it would wait and
/// whether each of `urls` may be fetched. `None` when the file is rejected (crawled without).
#[cfg(feature = "crawl")]
pub fn robots(body: &[u8], urls: &[&str]) -> Option<(Option<std::time::Duration>, Vec<String>, Vec<bool>)> {
    crate::ingest::crawl::robots_for_fuzzing(body, urls)
}
