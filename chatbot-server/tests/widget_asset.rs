//! The served widget (`assets/widget.min.js`) is built from the readable source
//! (`assets/widget.js`) by `assets/build.sh`, and stays within its size budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sha2::{Digest as _, Sha256};

const SOURCE: &str = include_str!("../assets/widget.js");
const MINIFIED: &str = include_str!("../assets/widget.min.js");

#[test]
fn widget_min_is_built_from_source() {
    let sum: String = Sha256::digest(SOURCE.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let first = MINIFIED.lines().next().unwrap_or_default();
    assert!(
        first.contains(&format!("source sha256 {sum}")),
        "assets/widget.min.js was not built from the current assets/widget.js \
         (run chatbot-server/assets/build.sh); its first line: {first}"
    );
}

#[test]
fn widget_fits_its_size_budget() {
    assert!(MINIFIED.len() <= 40 * 1024, "widget.min.js is {} bytes (budget 40 KiB)", MINIFIED.len());
    // one global, no inline style attributes written as markup, no storage before consent is
    // the source's business; here only what the bytes must not hold
    assert!(!MINIFIED.contains("innerHTML"), "the widget never assigns innerHTML");
    assert!(!MINIFIED.contains("setAttribute(\"style\""), "no style attributes (strict CSP)");
}
