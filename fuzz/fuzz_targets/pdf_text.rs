//! PDF text through lopdf (the fallback extractor the pipeline runs when pdf-extract fails),
//! inside `catch_unwind` as the pipeline runs it; the PDF's outline (bookmarks).
#![no_main]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use libfuzzer_sys::fuzz_target;

static HOOK: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        // libFuzzer's hook aborts on every panic. A panic inside lopdf itself (e.g. an integer
        // overflow in its xref parser, with overflow checks on) is caught by the pipeline's
        // `catch_unwind` and becomes an error, so here it is let through to the
        // `catch_unwind` below; any other panic, and any abort or stack overflow, is a crash.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.location().is_some_and(|l| l.file().contains("/lopdf-")) {
                abort(info);
            }
        }));
    });
    if let Ok(Ok(text)) = catch_unwind(AssertUnwindSafe(|| chatbot_core::ingest::fuzzing::lopdf_text(data))) {
        // tidy_text's output: no leading or trailing white space.
        assert_eq!(text.trim(), text);
    }
    // The outline walk (chunk headings): bounded, never loops, never panics outside lopdf.
    let outline = chatbot_core::ingest::extract::pdf_outline(data);
    assert!(outline.len() <= 10_000 && outline.iter().all(|(depth, _)| (1..=16).contains(depth)));
});
